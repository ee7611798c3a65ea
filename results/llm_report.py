"""Tables and figures of the LLM study (results/llm_study.py) from its runs' metrics.jsonl; nothing is re-run here.

Definitions (every run plays the whole task pool at every iteration, so success is on a fixed task set):
- ``success``: the share of the iteration's pool x N rollouts that succeed (training rollouts, sampled at T=1).
- ``first3`` / ``last3``: mean success over the first / last 3 iterations of a run; ``mean all``: over all of them
  (the area under the curve per iteration: "ahead at equal iterations" on average).
- iterations to a threshold t: the first iteration whose trailing 3-iteration mean success reaches t (None: never).
  The *highest common threshold* is the largest t in 0.30, 0.35, ..., 0.95 that every run of both estimators
  reaches; the speed-up is the ratio of the mean iterations to reach it (GRPO / GiGPO).
- ``grouped``: share of step rows whose anchor state occurs at least twice in their group; ``|A_E|``, ``|A_S|``:
  mean absolute episode and step advantages (logged with GiGPO's settings for every estimator).
"""
from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent
sys.path.insert(0, str(RESULTS.parent))

from gigpo.notebook import plots  # noqa: E402
from gigpo.notebook.metrics_io import read_metrics, to_markdown, write_csv  # noqa: E402
from gigpo.notebook.plots.static import save_pngs  # noqa: E402

WINDOW = 3
THRESHOLDS = [round(0.30 + 0.05 * k, 2) for k in range(14)]
PER_SEED_KEYS = ("success_rate", "mean_return", "mean_length", "entropy", "approx_kl", "update_steps", "lr",
                 "adv_episode_abs", "adv_step_abs", "step_group_share_grouped", "time_iteration")


def trailing(values: list[float], window: int = WINDOW) -> list[float]:
    return [statistics.mean(values[max(0, i - window + 1):i + 1]) for i in range(len(values))]


def iterations_to(values: list[float], threshold: float) -> int | None:
    """First iteration (0-based) whose trailing-window mean reaches ``threshold``; None if none does."""
    return next((i for i, v in enumerate(trailing(values)) if v >= threshold), None)


def mean_std(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def load(root: Path, estimators) -> dict[str, dict[int, list[dict]]]:
    """Finished runs only (as many metrics rows as their config's iterations): a study still running reports what
    has finished, never a run cut short."""
    runs: dict[str, dict[int, list[dict]]] = {}
    for est in estimators:
        for run in sorted(root.glob(f"{est}-seed*")):
            if not (run / "config.json").exists():
                continue
            records = read_metrics(run)
            if records and len(records) >= json.loads((run / "config.json").read_text())["iterations"]:
                runs.setdefault(est, {})[int(run.name.split("seed")[-1])] = records
    return runs


def report(root: Path, estimators, prefix: str = "llm") -> None:
    """``<prefix>_per_seed.csv``, ``<prefix>_summary.csv/.md`` and ``figures/<prefix>_*.png`` from the runs."""
    runs = load(root, estimators)
    if not runs:
        raise ValueError(f"no finished runs under {root}")
    length = min(len(r) for seeds in runs.values() for r in seeds.values())  # compare at equal iterations
    per_seed = [{"estimator": est, "seed": seed, "iteration": rec["iteration"],
                 **{k: rec.get(k) for k in PER_SEED_KEYS}}
                for est, seeds in runs.items() for seed, recs in seeds.items() for rec in recs[:length]]
    write_csv(per_seed, RESULTS / f"{prefix}_per_seed.csv")
    success = {est: {s: [r["success_rate"] for r in recs[:length]] for s, recs in seeds.items()}
               for est, seeds in runs.items()}
    common = [t for t in THRESHOLDS
              if all(iterations_to(v, t) is not None for seeds in success.values() for v in seeds.values())]
    top = max(common) if common else None
    rows = []
    for est, seeds in runs.items():
        vals = list(success[est].values())
        recs = [r[:length] for r in seeds.values()]
        rows.append({
            "estimator": est, "seeds": len(vals), "iterations": length,
            "success first3": mean_std([statistics.mean(v[:WINDOW]) for v in vals]),
            "success last3": mean_std([statistics.mean(v[-WINDOW:]) for v in vals]),
            "rise": mean_std([statistics.mean(v[-WINDOW:]) - statistics.mean(v[:WINDOW]) for v in vals]),
            "success mean all": mean_std([statistics.mean(v) for v in vals]),
            f"iters to {top}": mean_std([iterations_to(v, top) for v in vals]) if top is not None else "-",
            "grouped": mean_std([statistics.mean(r.get("step_group_share_grouped", 0) for r in rs) for rs in recs]),
            "mean abs A_E": mean_std([statistics.mean(r.get("adv_episode_abs", 0) for r in rs) for rs in recs]),
            "mean abs A_S": mean_std([statistics.mean(r.get("adv_step_abs", 0) for r in rs) for rs in recs]),
            "episode length last3": mean_std([statistics.mean(r["mean_length"] for r in rs[-WINDOW:]) for rs in recs]),
            "s / iteration": mean_std([statistics.mean(r.get("time_iteration", 0) for r in rs) for rs in recs]),
        })
    write_csv(rows, RESULTS / f"{prefix}_summary.csv")
    text = to_markdown(rows) + f"\n\nHighest threshold every run reaches: {top}\n"
    if top is not None and "gigpo" in success and "grpo" in success:
        g = statistics.mean(iterations_to(v, top) for v in success["gigpo"].values())
        r = statistics.mean(iterations_to(v, top) for v in success["grpo"].values())
        text += f"Iterations to {top}: gigpo {g:.1f}, grpo {r:.1f}; speed-up grpo/gigpo {r / max(g, 1):.2f}x\n"
    (RESULTS / f"{prefix}_summary.md").write_text(text)
    print(text)
    curves = {est: [recs[:length] for recs in seeds.values()] for est, seeds in runs.items()}
    config = json.loads(next(root.glob("*-seed*/config.json")).read_text())
    figures = {
        f"{prefix}_success": plots.curves_with_spread(curves, "success_rate", y_title="success (whole pool, T=1)",
                                                title=f"household 6/4, tiny-mini: success on the whole "
                                                      f"{config['task_pool']}-task pool (mean and spread over seeds)"),
        f"{prefix}_adv_step_abs": plots.curves_with_spread(curves, "adv_step_abs", y_title="mean |A_S|",
                                                     title="step-level advantage magnitude"),
        f"{prefix}_episode_length": plots.curves_with_spread(curves, "mean_length", y_title="mean episode length",
                                                       title="episode length (steps)"),
    }
    save_pngs(figures, RESULTS / "figures")  # static PNGs: they render anywhere (HTML copies would need plotly.js)


def tuning_table(root: Path, estimators, lrs, window: int) -> list[dict]:
    """``llm_tuning.csv``: mean training success over each tuning run's last ``window`` iterations."""
    rows = []
    for est in estimators:
        for lr in lrs:
            recs = read_metrics(root / f"{est}-lr{lr:g}")
            if recs:
                rows.append({"estimator": est, "lr": lr, "iterations": len(recs),
                             "success_last_window": statistics.mean(r["success_rate"] for r in recs[-window:])})
    write_csv(rows, RESULTS / "llm_tuning.csv")
    print(to_markdown(rows))
    return rows


def tuned_lrs() -> dict[str, float]:
    """Best lr per estimator in ``llm_tuning.csv`` (a tie goes to the smaller lr)."""
    best: dict[str, tuple[float, float]] = {}
    with open(RESULTS / "llm_tuning.csv") as f:
        for row in csv.DictReader(f):
            score, lr = float(row["success_last_window"]), float(row["lr"])
            if row["estimator"] not in best or (score, -lr) > (best[row["estimator"]][0], -best[row["estimator"]][1]):
                best[row["estimator"]] = (score, lr)
    return {est: lr for est, (_, lr) in best.items()}
