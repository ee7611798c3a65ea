"""Dynamic sampling in the credit lab (issue 30): GiGPO with no filter, ``outcome`` (DAPO) and ``advantage``, GRPO
with no filter and with ``outcome`` (DAPO-style), household 6/4 from a 0.25 expert prior, 10 paired seeds.

Success against iterations and against episodes generated (dynamic sampling plays more rollouts per update), paired
differences against GiGPO without a filter with bootstrap 95% intervals (seeds resampled, 10k, seeded) and exact
sign tests, and the diagnostics that explain them (share of rows with A_E = 0 and with A_S != 0 among the groups the
filter kept and dropped).

    python results/dynamic_sampling.py run       # 5 labs -> runs/dynamic-study/<variant>/ (~1 CPU-hour when idle)
    python results/dynamic_sampling.py report    # results/dynamic_sampling.json and .md
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent
sys.path.insert(0, str(RESULTS.parent))

from gigpo.lab import LabConfig, run_lab  # noqa: E402
from gigpo.lab.loop import read_lab  # noqa: E402
from gigpo.lab.summary import iterations_to  # noqa: E402
from results.llm_paired_stats import bootstrap_mean_interval, sign_test  # noqa: E402

ROOT = Path("runs/dynamic-study")
SEEDS = list(range(10))
ITERATIONS = 60
THRESHOLD, WINDOW = 0.9, 5
# (name, estimator, filter_groups); lr: the headline lab's tuned values (docs/lab.md: GiGPO 0.3, GRPO 1), kept for
# every filter so that the filter is the only change
VARIANTS = [("gigpo-none", "gigpo", "none"), ("gigpo-outcome", "gigpo", "outcome"),
            ("gigpo-advantage", "gigpo", "advantage"), ("grpo-none", "grpo", "none"),
            ("grpo-outcome", "grpo", "outcome")]
LR = {"gigpo": 0.3, "grpo": 1.0}
REFERENCE = "gigpo-none"


def config(name: str, estimator: str, filter_groups: str, root: Path = ROOT) -> LabConfig:
    return LabConfig(env="household", env_options={"num_receptacles": 6, "num_objects": 4}, prior_success=0.25,
                     task_pool=16, num_groups=8, group_size=8, estimators=[estimator], lr=LR[estimator],
                     filter_groups=filter_groups, max_gen_batches=10, iterations=ITERATIONS, seeds=SEEDS,
                     output_dir=str(root / name), progress=True)


def run(names: list[str], root: Path = ROOT) -> None:
    import torch

    torch.set_num_threads(1)
    for name, est, filt in VARIANTS:
        if name in names:
            run_lab(config(name, est, filt, root))


def run_measures(rows: list[dict]) -> dict:
    """One run's figures: iterations and episodes to the threshold (unreached: censored at the budget + 1
    iteration and the episodes played by then), mean success, and the sampling and credit diagnostics."""
    rows = sorted(rows, key=lambda r: r["iteration"])
    success = [r["success_rate"] for r in rows]
    episodes = np.cumsum([r["episodes_generated"] for r in rows])
    hit = iterations_to(success, THRESHOLD, WINDOW)
    per_iteration = rows[0]["episodes_generated"] // rows[0]["gen_batches"]  # one generation batch

    def mean(key):
        values = [r[key] for r in rows if r.get(key) is not None]
        return float(np.mean(values)) if values else None

    def pooled(side, key):  # share over all rows of the run, not a mean of per-iteration shares
        n = sum(r[f"{side}_rows"] for r in rows)
        return sum(r[f"{side}_{key}_share"] * r[f"{side}_rows"] for r in rows if r[f"{side}_rows"]) / n if n else None

    return {
        "iters_to": hit if hit is not None else len(rows) + 1, "reached": hit is not None,
        "episodes_to": int(episodes[hit - 1]) if hit is not None else int(episodes[-1] + per_iteration),
        "mean_success": float(np.mean(success)), "final_success": float(np.mean(success[-10:])),
        "final_length": float(np.mean([r["mean_length"] for r in rows[-10:]])),
        "episodes_total": int(episodes[-1]), "gen_batches": mean("gen_batches"),
        "capped_share": mean("filter_capped"), "kept_share": sum(r["groups_kept"] for r in rows)
        / sum(r["groups_generated"] for r in rows),
        **{f"{side}_{key}": pooled(side, key) for side in ("kept", "dropped")
           for key in ("zero_episode", "nonzero_step")},
        "dropped_rows": sum(r["dropped_rows"] for r in rows), "kept_rows": sum(r["kept_rows"] for r in rows),
    }


def report(root: Path = ROOT, out: Path = RESULTS) -> dict:
    runs = {}
    for name, est, _ in VARIANTS:
        rows, _ = read_lab(root / name)
        runs[name] = {s: run_measures([r for r in rows if r["seed"] == s]) for s in SEEDS}
    keys = ["iters_to", "episodes_to", "mean_success", "final_success", "final_length", "episodes_total",
            "gen_batches", "capped_share", "kept_share", "kept_zero_episode", "kept_nonzero_step",
            "dropped_zero_episode", "dropped_nonzero_step"]
    summary = {}
    for name in runs:
        entry = {}
        for k in keys:
            v = [runs[name][s][k] for s in SEEDS if runs[name][s][k] is not None]
            entry[k] = {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)), "n": len(v)} if v else None
        entry["reached"] = sum(runs[name][s]["reached"] for s in SEEDS)
        if name != REFERENCE:
            entry["paired"] = {}
            for k in ("iters_to", "episodes_to", "mean_success"):
                d = [runs[name][s][k] - runs[REFERENCE][s][k] for s in SEEDS]
                m, lo, hi = bootstrap_mean_interval(d)
                pos, neg, ties, p = sign_test(d)
                entry["paired"][k] = {"differences": d, "mean": m, "low": lo, "high": hi, "positive": pos,
                                      "negative": neg, "ties": ties, "sign_p": p}
        summary[name] = entry
    result = {"reference": REFERENCE, "seeds": SEEDS, "iterations": ITERATIONS, "threshold": THRESHOLD,
              "window": WINDOW, "lr": LR, "variants": summary, "per_seed": runs}
    (out / "dynamic_sampling.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "dynamic_sampling.md").write_text(markdown(result))
    print(markdown(result))
    return result


def markdown(result: dict) -> str:
    def ms(e, digits=1):
        return "-" if e is None else f"{e['mean']:.{digits}f} ± {e['std']:.{digits}f}"

    def ci(p, digits=1):
        return (f"{p['mean']:+.{digits}f} [{p['low']:+.{digits}f}, {p['high']:+.{digits}f}] "
                f"({p['positive']}+/{p['negative']}-, p={p['sign_p']:.3f})")

    lines = [f"Household 6/4 from a 0.25 prior, G = N = 8, {len(result['seeds'])} paired seeds, "
             f"{result['iterations']} iterations; mean ± std over seeds; to {result['threshold']:g}: trailing "
             f"{result['window']}-iteration mean success; unreached runs censored at the budget + 1.", "",
             "| variant | reached | iterations to 0.9 | episodes to 0.9 | mean success | final success | final length "
             "| gen batches / it | capped its | groups kept |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, e in result["variants"].items():
        lines.append(f"| {name} | {e['reached']}/{len(result['seeds'])} | {ms(e['iters_to'])} | "
                     f"{ms(e['episodes_to'], 0)} | {ms(e['mean_success'], 3)} | {ms(e['final_success'], 3)} | "
                     f"{ms(e['final_length'], 2)} | {ms(e['gen_batches'], 2)} | {ms(e['capped_share'], 2)} | "
                     f"{ms(e['kept_share'], 2)} |")
    lines += ["", f"Paired differences against {result['reference']} (variant - reference), bootstrap 95% "
              "interval, sign test:", "",
              "| variant | iterations to 0.9 | episodes to 0.9 | mean success |", "|---|---|---|---|"]
    for name, e in result["variants"].items():
        if "paired" in e:
            p = e["paired"]
            lines.append(f"| {name} | {ci(p['iters_to'])} | {ci(p['episodes_to'], 0)} | "
                         f"{ci(p['mean_success'], 3)} |")
    lines += ["", "Diagnostics, pooled over each run's rows (mean ± std over seeds): share of rows with A_E = 0 "
              "and with A_S != 0 among the groups the filter kept and dropped (no filter: every group is kept).", "",
              "| variant | kept: A_E = 0 | kept: A_S != 0 | dropped: A_E = 0 | dropped: A_S != 0 |",
              "|---|---|---|---|---|"]
    for name, e in result["variants"].items():
        lines.append(f"| {name} | {ms(e['kept_zero_episode'], 2)} | {ms(e['kept_nonzero_step'], 2)} | "
                     f"{ms(e['dropped_zero_episode'], 2)} | {ms(e['dropped_nonzero_step'], 2)} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=("run", "report"))
    p.add_argument("--variants", nargs="+", default=[v[0] for v in VARIANTS])
    p.add_argument("--root", type=Path, default=ROOT)
    args = p.parse_args(argv)
    if args.command == "run":
        run(args.variants, args.root)
    else:
        report(args.root)


if __name__ == "__main__":
    main()
