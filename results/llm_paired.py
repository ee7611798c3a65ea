"""The paired GiGPO-vs-GRPO comparison of the LLM study (issue 29) from its runs' metrics; nothing is re-run here.

For every seed both estimators start from the same warm start and play the same tasks with the same sampling keys,
so each seed gives one paired difference per measure. Differences are oriented so that **positive favours GiGPO**:
GRPO's iterations to the threshold minus GiGPO's, and GiGPO's success minus GRPO's. Each gets a percentile bootstrap
95% interval over seeds (10k resamples, seeded) and an exact sign test (``llm_paired_stats``).

Measures (trailing-window and threshold conventions as in ``llm_report``):
- ``iters to 0.6``: first 0-based iteration whose trailing 3-iteration mean training success reaches 0.6; a run that
  never does is *censored* and counted as the run's length (a lower bound: the difference is then understated in
  size, and the sign test is still exact because a run that reaches the threshold beats one that does not);
- ``pool mean``: mean training success (the whole 8-task pool x 8 rollouts at T=1) over all iterations;
- ``pool last3``: mean over the last 3 iterations;
- ``held-out greedy`` / ``held-out sampled``: mean success over the run's held-out evaluations (tasks from
  ``eval_seed_offset`` on, never in the pool; one greedy and one sampled rollout per task at ``eval_temperature``).
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent
sys.path.insert(0, str(RESULTS.parent))

from results.llm_paired_stats import bootstrap_mean_interval, excludes_zero, sign_test  # noqa: E402
from results.llm_report import WINDOW, iterations_to  # noqa: E402

THRESHOLD = 0.6
HELD_OUT = {"held-out greedy": "eval_greedy_success_rate", "held-out sampled": "eval_sampled_success_rate"}
# Diagnostics per run (means over the run unless said otherwise): what metrics.jsonl logs for every estimator.
# ``adv_abs`` is the estimator's own advantage; |A_E| and |A_S| are logged with GiGPO's settings for every estimator.
DIAGNOSTICS = {"|A| used": "adv_abs", "|A_E|": "adv_episode_abs", "|A_S|": "adv_step_abs", "entropy": "entropy",
               "approx KL": "approx_kl", "target-KL stops": "early_stopped", "update steps": "update_steps",
               "grad norm": "grad_norm", "grouped": "step_group_share_grouped"}


def run_measures(records: list[dict], length: int) -> dict[str, float | int | None]:
    """One run's measures over its first ``length`` iterations (None where the run has no such value)."""
    recs = records[:length]
    success = [r["success_rate"] for r in recs]
    reached = iterations_to(success, THRESHOLD)
    out = {f"iters to {THRESHOLD}": length if reached is None else reached, "censored": reached is None,
           "pool mean": statistics.mean(success), "pool last3": statistics.mean(success[-WINDOW:])}
    for name, key in HELD_OUT.items():
        values = [r[key] for r in recs if key in r]
        out[name] = statistics.mean(values) if values else None
    return out


def paired_rows(runs: dict[str, dict[int, list[dict]]], a: str = "gigpo", b: str = "grpo") -> tuple[list[dict], int]:
    """Per-seed measures of ``a`` and ``b`` and their differences (positive favours ``a``), over the seeds both
    finished, compared at the shortest common length; returns ``(rows, length)``."""
    seeds = sorted(set(runs.get(a, {})) & set(runs.get(b, {})))
    if not seeds:
        raise ValueError(f"no seed with finished runs of both {a!r} and {b!r}")
    length = min(len(runs[e][s]) for e in (a, b) for s in seeds)
    rows = []
    for seed in seeds:
        ma, mb = run_measures(runs[a][seed], length), run_measures(runs[b][seed], length)
        row = {"seed": seed}
        for name in ma:
            if name == "censored":
                row[f"{a} censored"], row[f"{b} censored"] = ma[name], mb[name]
                continue
            row[f"{a} {name}"], row[f"{b} {name}"] = ma[name], mb[name]
            if ma[name] is not None and mb[name] is not None:
                row[f"diff {name}"] = (mb[name] - ma[name]) if name.startswith("iters") else (ma[name] - mb[name])
        rows.append(row)
    return rows, length


def summary_rows(rows: list[dict], a: str = "gigpo", b: str = "grpo") -> list[dict]:
    """One row per measure: both means, the mean paired difference, its bootstrap 95% interval, the sign test."""
    out = []
    for name in [k[len("diff "):] for k in rows[0] if k.startswith("diff ")]:
        diffs = [r[f"diff {name}"] for r in rows if f"diff {name}" in r]
        mean, low, high = bootstrap_mean_interval(diffs)
        pos, neg, ties, p = sign_test(diffs)
        row = {"measure": name, "seeds": len(diffs), a: statistics.mean(r[f"{a} {name}"] for r in rows),
               b: statistics.mean(r[f"{b} {name}"] for r in rows), "diff (+: gigpo better)": mean,
               "95% interval": f"[{low:.3f}, {high:.3f}]", "excludes 0": excludes_zero(low, high),
               "sign test +/-/tie": f"{pos}/{neg}/{ties}", "p": p}
        if name.startswith("iters"):
            row["censored"] = (f"{a} {sum(r[f'{a} censored'] for r in rows)}, "
                               f"{b} {sum(r[f'{b} censored'] for r in rows)}")
        out.append(row)
    return out


def ratio_interval(rows: list[dict], a: str = "gigpo", b: str = "grpo", *, resamples: int = 10_000,
                   seed: int = 29) -> tuple[float, float, float]:
    """The speed-up ``mean(b iters) / mean(a iters)`` and its percentile bootstrap 95% interval over seeds."""
    import numpy as np

    name = f"iters to {THRESHOLD}"
    xa = np.array([r[f"{a} {name}"] for r in rows], float)
    xb = np.array([r[f"{b} {name}"] for r in rows], float)
    idx = np.random.default_rng(seed).integers(0, len(rows), size=(resamples, len(rows)))
    ratios = xb[idx].mean(1) / np.maximum(xa[idx].mean(1), 1)
    low, high = np.quantile(ratios, [0.025, 0.975])
    return float(xb.mean() / max(xa.mean(), 1)), float(low), float(high)


def diagnostics_rows(runs: dict[str, dict[int, list[dict]]], rows: list[dict], length: int,
                     a: str = "gigpo", b: str = "grpo") -> list[dict]:
    """Logged diagnostics, mean over seeds, split by whether ``a`` was behind (pool-mean difference < 0) or not."""
    out = []
    for label, chosen in (("behind", [r["seed"] for r in rows if r["diff pool mean"] < 0]),
                          ("ahead or level", [r["seed"] for r in rows if r["diff pool mean"] >= 0])):
        for est in (a, b):
            if not chosen:
                continue
            recs = [runs[est][s][:length] for s in chosen]
            row = {f"{a} is": label, "seeds": " ".join(map(str, chosen)), "estimator": est}
            for name, key in DIAGNOSTICS.items():
                row[name] = statistics.mean(statistics.mean(r.get(key, 0.0) for r in rs) for rs in recs)
            # iteration 0 plays the same rollouts for both estimators (same warm start, same sampling keys): its
            # update is a paired measurement of the advantages alone
            row["update steps @0"] = statistics.mean(rs[0]["update_steps"] for rs in recs)
            row["entropy last3"] = statistics.mean(statistics.mean(r["entropy"] for r in rs[-WINDOW:]) for rs in recs)
            row["length last3"] = statistics.mean(statistics.mean(r["mean_length"] for r in rs[-WINDOW:])
                                                  for rs in recs)
            out.append(row)
    return out


def per_seed_figure(runs: dict[str, dict[int, list[dict]]], seeds: list[int], length: int):
    """Small multiples, one panel per seed: training success on the pool (lines) and held-out sampled success
    (dashed, at the number of updates the evaluated weights had) for each estimator."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from gigpo.notebook.plots.style import estimator_color

    cols = min(5, len(seeds))
    nrows = -(-len(seeds) // cols)
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[f"seed {s}" for s in seeds], shared_yaxes=True,
                        vertical_spacing=0.12)
    for k, seed in enumerate(seeds):
        for i, est in enumerate(runs):
            recs = runs[est][seed][:length]
            color = estimator_color(est, i)
            first = k == 0
            fig.add_trace(go.Scatter(x=[r["iteration"] for r in recs], y=[r["success_rate"] for r in recs],
                                     mode="lines", name=f"{est} pool (T=1)", showlegend=first,
                                     line=dict(color=color, width=1.5)), row=k // cols + 1, col=k % cols + 1)
            held = [r for r in recs if "eval_sampled_success_rate" in r]
            fig.add_trace(go.Scatter(x=[r["iteration"] + 1 for r in held],
                                     y=[r["eval_sampled_success_rate"] for r in held], mode="lines+markers",
                                     name=f"{est} held-out (T=0.4)", showlegend=first,
                                     line=dict(color=color, width=1.2, dash="dash")),
                          row=k // cols + 1, col=k % cols + 1)
        fig.add_trace(go.Scatter(x=[0, length], y=[THRESHOLD, THRESHOLD], mode="lines", name=f"{THRESHOLD}",
                                 showlegend=False, line=dict(color="#888888", width=0.8, dash="dot")),
                      row=k // cols + 1, col=k % cols + 1)
    fig.update_yaxes(range=[-0.02, 1.02])
    names = " vs ".join(runs)
    fig.update_layout(height=300 * nrows + 80, title=dict(text=f"{names} per seed: success on the training pool and "
                                                               "on held-out tasks"))
    return fig


def held_out_figure(runs: dict[str, dict[int, list[dict]]], seeds: list[int], length: int):
    """Held-out greedy and sampled success (mean and spread over the paired seeds), at the number of updates."""
    from plotly.subplots import make_subplots

    from gigpo.notebook import plots

    fig = make_subplots(rows=1, cols=2, subplot_titles=["held-out, greedy", "held-out, sampled (T=0.4)"],
                        shared_yaxes=True)
    for col, key in enumerate(HELD_OUT.values(), start=1):
        curves = {est: [[{**r, "iteration": r["iteration"] + 1} for r in runs[est][s][:length] if key in r]
                        for s in seeds] for est in runs}
        part = plots.curves_with_spread(curves, key)
        for trace in part.data:
            trace.showlegend = col == 1
            fig.add_trace(trace, row=1, col=col)
    fig.update_yaxes(range=[-0.02, 1.02])
    fig.update_xaxes(title_text="updates")
    fig.update_layout(height=420, title=dict(text=f"success on {len(seeds)} seeds' held-out tasks "
                                                  "(never in the training pool): mean ± 1 std over seeds"))
    return fig


def runs_from_per_seed_csv(path: Path) -> dict[str, dict[int, list[dict]]]:
    """An earlier study's runs back from its ``llm_per_seed.csv`` (training columns only, no held-out ones)."""
    import csv

    runs: dict[str, dict[int, list[dict]]] = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            rec = {k: float(v) for k, v in row.items() if k != "estimator" and v not in ("", None)}
            runs.setdefault(row["estimator"], {}).setdefault(int(row["seed"]), []).append(rec)
    return runs


def fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 and value else f"{value:.3f}"
    return str(value)


def write_paired(root: Path, prefix: str = "llm_paired", a: str = "gigpo", b: str = "grpo", *, out: Path = RESULTS,
                 earlier: Path | None = RESULTS / "llm_per_seed.csv") -> str:
    """``<out>/<prefix>_per_seed.csv``, ``<prefix>.md`` (summary, diagnostics and, from ``earlier``, the earlier
    3-seed study with the same statistics) and ``<out>/figures/<prefix>_seeds.png`` / ``<prefix>_heldout.png`` from
    the finished runs under ``root``."""
    from gigpo.notebook.metrics_io import to_markdown, write_csv
    from gigpo.notebook.plots.static import save_pngs
    from results.llm_report import load

    runs = load(root, (a, b))
    rows, length = paired_rows(runs, a, b)
    seeds = [r["seed"] for r in rows]
    runs = {est: {s: runs[est][s] for s in seeds} for est in (a, b)}
    write_csv(rows, Path(out) / f"{prefix}_per_seed.csv")
    summary = summary_rows(rows, a, b)
    ratio, low, high = ratio_interval(rows, a, b)
    text = [f"# {a} vs {b}: {len(seeds)} paired seeds ({', '.join(map(str, seeds))}), {length} iterations\n",
            "Positive differences favour GiGPO. Interval: percentile bootstrap over seeds, 10k resamples, seed 29. "
            "Sign test: exact two-sided binomial, ties dropped.\n",
            to_markdown([{k: fmt(v) for k, v in r.items()} for r in summary]),
            f"\nSpeed-up to {THRESHOLD} (mean {b} iterations / mean {a} iterations, censored runs counted as "
            f"{length}): {ratio:.2f}x, 95% interval [{low:.2f}, {high:.2f}]\n",
            "\n## Per seed\n", to_markdown([{k: fmt(v) for k, v in r.items()} for r in rows]),
            "\n## Diagnostics (means over each run, then over the seeds of the split)\n",
            to_markdown([{k: fmt(v) for k, v in r.items()} for r in diagnostics_rows(runs, rows, length, a, b)])]
    if earlier is not None and Path(earlier).exists():
        old = runs_from_per_seed_csv(earlier)
        old_rows, old_length = paired_rows(old, a, b)
        old_ratio, old_low, old_high = ratio_interval(old_rows, a, b)
        text += [f"\n## The earlier study (`llm_per_seed.csv`: seeds {', '.join(str(r['seed']) for r in old_rows)}, "
                 f"{old_length} iterations), same statistics\n",
                 to_markdown([{k: fmt(v) for k, v in r.items()} for r in summary_rows(old_rows, a, b)]),
                 f"\nSpeed-up to {THRESHOLD}: {old_ratio:.2f}x, 95% interval [{old_low:.2f}, {old_high:.2f}]\n"]
    markdown = "\n".join(text)
    (Path(out) / f"{prefix}.md").write_text(markdown)
    save_pngs({f"{prefix}_seeds": per_seed_figure(runs, seeds, length),
               f"{prefix}_heldout": held_out_figure(runs, seeds, length)}, Path(out) / "figures")
    print(markdown)
    return markdown
