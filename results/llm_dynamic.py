"""Dynamic sampling on the CPU LLM recipe (issue 30), from the runs of ``results/llm_study.py``; nothing is re-run.

The runs: GiGPO without a filter and GRPO (``llm_study.py study``: ``runs/llm-study/<est>-seed<k>``) and the filter
variants (``llm_study.py study --estimators gigpo --filter-groups advantage``: ``<est>-<filter>-seed<k>``), the
same recipe, seeds, lr, warm starts and held-out evaluation. Iteration 0's first generation batch is the same
rollouts in every variant of a seed, so each seed gives one paired difference per measure against the reference
(GiGPO without a filter), oriented **variant - reference**:

- ``iters to 0.6``: first 0-based iteration whose trailing 3-iteration mean training success reaches 0.6 (success of
  the first generation batch: the pool an unfiltered run plays); unreached runs are censored at the run's length;
- ``episodes to 0.6``: every rollout generated up to and including that iteration (the fair axis: a filter plays
  more rollouts per update); censored runs count all their episodes plus one unfiltered iteration;
- ``success at the unfiltered budget``: trailing 3-iteration success at the last iteration whose episodes generated
  fit in what an unfiltered run of the same length plays (20 x 64 = 1,280): the episodes axis without censoring;
- ``pool mean``: mean training success over the run; ``held-out sampled``: mean held-out success (T = 0.4).

Bootstrap 95% intervals over seeds (10k resamples, seed 29) and exact sign tests (``llm_paired_stats``).
Diagnostics: generation batches per iteration, share of iterations that hit the cap, groups of the first batch with
outcome spread / with any advantage, and the pooled share of rows with A_E = 0 and with A_S != 0 among the groups
the filter kept and dropped (logged by the trainer since commit cf98913; the reference runs predate it).

    python results/llm_dynamic.py      # results/llm_dynamic.md/.json, results/figures/llm_dynamic.png
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent
sys.path.insert(0, str(RESULTS.parent))

from results.llm_paired_stats import bootstrap_mean_interval, excludes_zero, sign_test  # noqa: E402
from results.llm_report import WINDOW, iterations_to, load, trailing  # noqa: E402

THRESHOLD = 0.6
REFERENCE = "gigpo"
VARIANTS = ("gigpo", "gigpo-advantage", "gigpo-outcome", "grpo", "grpo-outcome")
PAIRED = ("iters to 0.6", "episodes to 0.6", "success at the unfiltered budget", "pool mean", "held-out sampled")


def episodes_per_iteration(run: Path) -> int:
    cfg = json.loads((run / "config.json").read_text())
    return int(cfg["num_groups"]) * int(cfg["group_size"])


def run_measures(records: list[dict], one_batch: int) -> dict:
    """One run's measures; ``one_batch``: episodes of one generation batch (runs logged before the sampling
    metrics existed played exactly one per iteration)."""
    success = [r["success_rate"] for r in records]
    episodes = np.cumsum([r.get("episodes_generated", one_batch) for r in records])
    hit = iterations_to(success, THRESHOLD)
    # the fair axis without censoring: trailing success at the last iteration within the episodes an unfiltered run
    # of the same length plays (its whole run; a filtered run spends them in fewer iterations)
    within = [i for i, e in enumerate(episodes) if e <= len(records) * one_batch]
    held = [r["eval_sampled_success_rate"] for r in records if "eval_sampled_success_rate" in r]

    def mean(key):
        values = [r[key] for r in records if r.get(key) is not None]
        return float(np.mean(values)) if values else None

    def pooled(side, key):  # a share over all the run's rows, not a mean of per-iteration shares
        n = sum(r.get(f"{side}_rows", 0) for r in records)
        return (sum(r[f"{side}_{key}_share"] * r[f"{side}_rows"] for r in records if r.get(f"{side}_rows"))
                / n if n else None)

    return {
        "iters to 0.6": len(records) if hit is None else hit, "censored": hit is None,
        "episodes to 0.6": int(episodes[-1] + one_batch) if hit is None else int(episodes[hit]),
        "success at the unfiltered budget": trailing(success)[within[-1]] if within else None,
        "pool mean": float(np.mean(success)), "held-out sampled": float(np.mean(held)) if held else None,
        "episodes": int(episodes[-1]), "gen batches / it": mean("gen_batches") or 1.0,
        "capped its": mean("filter_capped") or 0.0, "groups with spread @ batch 0": mean("groups_with_spread"),
        "groups with signal @ batch 0": mean("groups_with_signal"),
        "length last3": float(np.mean([r["mean_length"] for r in records[-WINDOW:]])),
        **{f"{side}: {label}": pooled(side, key) for side in ("kept", "dropped")
           for key, label in (("zero_episode", "A_E = 0"), ("nonzero_step", "A_S != 0"))},
        "minutes": sum(r.get("time_iteration", 0.0) for r in records) / 60,
    }


def collect(root: Path) -> tuple[dict[str, dict[int, dict]], dict[str, dict[int, list[dict]]]]:
    """Measures and records of every finished run of the variants found under ``root``."""
    runs = load(root, VARIANTS)
    measures = {v: {s: run_measures(recs, episodes_per_iteration(root / f"{v}-seed{s}")) for s, recs in seeds.items()}
                for v, seeds in runs.items()}
    return measures, runs


def paired(measures: dict[str, dict[int, dict]], variant: str) -> dict[str, dict]:
    seeds = sorted(set(measures[variant]) & set(measures[REFERENCE]))
    out = {}
    for name in PAIRED:
        d = [measures[variant][s][name] - measures[REFERENCE][s][name] for s in seeds
             if measures[variant][s][name] is not None and measures[REFERENCE][s][name] is not None]
        if len(d) < 2:
            continue
        mean, low, high = bootstrap_mean_interval(d)
        pos, neg, ties, p = sign_test(d)
        out[name] = {"seeds": len(d), "mean": mean, "low": low, "high": high, "excludes_zero": excludes_zero(low, high),
                     "positive": pos, "negative": neg, "ties": ties, "sign_p": p}
    return out


def figure(runs: dict[str, dict[int, list[dict]]], root: Path):
    """Training success (trailing 3) against iterations and against episodes generated, mean ± 1 std over seeds; on
    the episodes axis each run is interpolated onto a 64-episode grid up to the fewest episodes any of the variant's
    seeds played, so every seed counts at every point."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from gigpo.notebook import plots
    from gigpo.notebook.plots.style import estimator_color, rgba

    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=[
        "training success (trailing 3) vs iterations", "vs episodes generated (the cost)"])
    smooth = {v: [[{**r, "success_trailing": t} for r, t in zip(recs, trailing([r["success_rate"] for r in recs]))]
                  for recs in seeds.values()] for v, seeds in runs.items()}
    for trace in plots.curves_with_spread(smooth, "success_trailing").data:
        trace.showlegend = trace.showlegend and not (trace.name or "").endswith(")")  # the bands: colour only
        fig.add_trace(trace, row=1, col=1)
    for i, (v, seeds) in enumerate(runs.items()):
        curves = []
        for seed, recs in sorted(seeds.items()):
            one = episodes_per_iteration(root / f"{v}-seed{seed}")
            x = np.cumsum([r.get("episodes_generated", one) for r in recs])
            curves.append((x, trailing([r["success_rate"] for r in recs])))
        grid = np.arange(curves[0][0][0], min(c[0][-1] for c in curves) + 1, 64)
        ys = np.array([np.interp(grid, x, y) for x, y in curves])
        mean, sd = ys.mean(0), ys.std(0, ddof=1) if len(ys) > 1 else np.zeros(len(grid))
        color = estimator_color(v, i)
        fig.add_trace(go.Scatter(x=np.r_[grid, grid[::-1]], y=np.r_[mean + sd, (mean - sd)[::-1]], fill="toself",
                                 fillcolor=rgba(color, 0.15), line=dict(width=0), hoverinfo="skip",
                                 showlegend=False), row=1, col=2)
        fig.add_trace(go.Scatter(x=grid, y=mean, mode="lines", line=dict(color=color, width=2), name=v,
                                 showlegend=False), row=1, col=2)
    fig.add_hline(y=THRESHOLD, line=dict(color="#888888", width=0.8, dash="dot"))
    fig.update_xaxes(title_text="iteration", row=1, col=1)
    fig.update_xaxes(title_text="episodes generated", row=1, col=2)
    fig.update_yaxes(range=[-0.02, 1.02])
    fig.update_layout(height=480, title=dict(text="Dynamic sampling on the CPU LLM recipe (mean ± 1 std over seeds)"),
                      legend=dict(orientation="h", y=-0.18))
    return fig


def fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def markdown(measures, result) -> str:
    seeds = {v: sorted(m) for v, m in measures.items()}
    lines = [f"CPU LLM recipe (`results/llm_study.py`), seeds {', '.join(map(str, seeds[REFERENCE]))}; mean ± std "
             "over seeds; to 0.6: trailing 3-iteration mean training success (first generation batch).", "",
             "| variant | seeds | reached 0.6 | iterations to 0.6 | episodes to 0.6 | pool mean | held-out sampled "
             "| gen batches / it | capped its | groups with spread / signal @ batch 0 (of 8) | length last3 "
             "| wall min |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def ms(v, key, digits=2):
        xs = [m[key] for m in measures[v].values() if m[key] is not None]
        if not xs:
            return "-"
        return f"{np.mean(xs):.{digits}f} ± {np.std(xs, ddof=1):.{digits}f}" if len(xs) > 1 else f"{xs[0]:.{digits}f}"

    for v in measures:
        reached = sum(not m["censored"] for m in measures[v].values())
        lines.append(f"| {v} | {len(seeds[v])} | {reached}/{len(seeds[v])} | {ms(v, 'iters to 0.6', 1)} | "
                     f"{ms(v, 'episodes to 0.6', 0)} | {ms(v, 'pool mean', 3)} | {ms(v, 'held-out sampled', 3)} | "
                     f"{ms(v, 'gen batches / it')} | {ms(v, 'capped its')} | {ms(v, 'groups with spread @ batch 0', 1)}"
                     f" / {ms(v, 'groups with signal @ batch 0', 1)} | {ms(v, 'length last3')} | "
                     f"{ms(v, 'minutes', 0)} |")
    lines += ["", f"Paired differences against `{REFERENCE}` (variant - reference; fewer iterations or episodes is "
              "negative, more success positive), bootstrap 95% interval, sign test:", "",
              "| variant | " + " | ".join(PAIRED) + " |", "|---|" + "---|" * len(PAIRED)]
    for v, p in result.items():
        cells = []
        for name in PAIRED:
            if name not in p:
                cells.append("-")
                continue
            e, d = p[name], 0 if name.startswith("episodes") else (1 if name.startswith("iters") else 3)
            cells.append(f"{e['mean']:+.{d}f} [{e['low']:+.{d}f}, {e['high']:+.{d}f}] "
                         f"({e['positive']}+/{e['negative']}-, p={e['sign_p']:.3f}, n={e['seeds']})")
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    lines += ["", "Rows pooled per run, mean ± std over seeds (the reference runs predate these metrics):", "",
              "| variant | kept: A_E = 0 | kept: A_S != 0 | dropped: A_E = 0 | dropped: A_S != 0 |",
              "|---|---|---|---|---|"]
    for v in measures:
        lines.append(f"| {v} | " + " | ".join(ms(v, f"{side}: {label}") for side in ("kept", "dropped")
                                              for label in ("A_E = 0", "A_S != 0")) + " |")
    return "\n".join(lines) + "\n"


def report(root: Path, out: Path = RESULTS) -> str:
    from gigpo.notebook.plots.static import save_pngs

    measures, runs = collect(root)
    if REFERENCE not in measures or len(measures) < 2:
        raise ValueError(f"need finished runs of {REFERENCE!r} and a filter variant under {root}")
    result = {v: paired(measures, v) for v in measures if v != REFERENCE}
    text = markdown(measures, result)
    (out / "llm_dynamic.md").write_text(text)
    (out / "llm_dynamic.json").write_text(json.dumps({"reference": REFERENCE, "paired": result, "per_seed": {
        v: {str(s): m for s, m in ms.items()} for v, ms in measures.items()}}, indent=1) + "\n")
    save_pngs({"llm_dynamic": figure(runs, root)}, out / "figures")
    print(text)
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=Path, default=RESULTS.parent / "runs" / "llm-study")
    args = p.parse_args(argv)
    report(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
