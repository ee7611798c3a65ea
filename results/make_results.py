"""Build results/ from the study's runs: per-run metrics copies, summary.csv, summary.md and the figures.

Usage: ``python results/make_results.py runs/study-sokoban sokoban [more_dir env ...]``. Each ``<dir>`` holds one run
per estimator and seed, ``<estimator>-seed<k>/metrics.jsonl`` (the layout notebook 04 writes). Every number comes
from those files; nothing is re-run here.

Definitions (all at equal iterations, every run has the same number of iterations):
- ``train_success_first`` / ``train_success_last``: mean training-rollout success rate (G x N rollouts on the
  task pool) over the first / last ``WINDOW`` iterations of a run; then mean and sample std over seeds.
- ``eval_greedy_success`` / ``eval_sampled_success``: success on the held-out seeds (eval_seed_offset + 0..7, never
  trained on) after the last iteration, greedy and sampled at eval_temperature.
- step-group statistics: mean over all iterations of ``step_group_size_per_group`` (rows per anchor-state group),
  ``step_group_share_grouped`` (share of step rows in a group of 2+), ``adv_step_abs`` (mean |A_S|) and
  ``adv_episode_abs`` (mean |A_E|), logged for every estimator with GiGPO's settings.
"""
from __future__ import annotations

import json
import shutil
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent
sys.path.insert(0, str(RESULTS.parent))

from gigpo.notebook import plots  # noqa: E402
from gigpo.notebook.metrics_io import read_metrics, to_markdown, write_csv  # noqa: E402

WINDOW = 5
ESTIMATORS = ("gigpo", "grpo", "rloo")
RANDOM = "random policy"


def random_policy_run(config_path: Path) -> list[dict]:
    """The same task draws as a trained run (its seed and iterations), played by a uniformly random policy with
    G x N rollouts, plus the held-out tasks with N random rollouts each: the chance level of every curve."""
    import random

    import envs
    from gigpo.training.config import TrainConfig
    from gigpo.training.rank_metrics import eval_task_seeds
    from gigpo.training.trainer import train_task_seeds
    cfg = TrainConfig.from_dict(json.loads(config_path.read_text()))
    rng = random.Random(cfg.seed)

    def play(seeds):
        runner = envs.GroupRunner(cfg.env, cfg.group_size, env_options=cfg.env_options, max_steps=cfg.max_steps)
        runner.reset(seeds)
        runner.run(lambda live, obs, infos: [rng.choice(i["admissible_actions"]) for i in infos])
        return runner.episode_stats()

    records = []
    for it in range(cfg.iterations):
        row = {"iteration": it, **play(train_task_seeds(cfg, it))}
        if cfg.eval_every and ((it + 1) % cfg.eval_every == 0 or it + 1 == cfg.iterations):
            ev = play(eval_task_seeds(cfg))
            row.update({"eval_greedy_success_rate": None, "eval_sampled_success_rate": ev["success_rate"],
                        "eval_sampled_mean_return": ev["mean_return"]})
        records.append(row)
    return records


def window_mean(records, key, first: bool) -> float:
    values = [r[key] for r in records if key in r]
    part = values[:WINDOW] if first else values[-WINDOW:]
    return statistics.mean(part)


def last_value(records, key):
    values = [r[key] for r in records if r.get(key) is not None]
    return values[-1] if values else None


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else None)


def per_run_values(records) -> dict[str, float | None]:
    return {
        "train_success_first": window_mean(records, "success_rate", True),
        "train_success_last": window_mean(records, "success_rate", False),
        "train_return_last": window_mean(records, "mean_return", False),
        "eval_greedy_success": last_value(records, "eval_greedy_success_rate"),
        "eval_sampled_success": last_value(records, "eval_sampled_success_rate"),
        "eval_sampled_return": last_value(records, "eval_sampled_mean_return"),
        "step_group_size_per_group": mean_of(records, "step_group_size_per_group"),
        "step_group_share_grouped": mean_of(records, "step_group_share_grouped"),
        "adv_step_abs": mean_of(records, "adv_step_abs"),
        "adv_episode_abs": mean_of(records, "adv_episode_abs"),
        "entropy_last": last_value(records, "entropy"),
        "seconds_per_iteration": mean_of(records, "time_iteration"),
    }


def mean_of(records, key):
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.mean(values) if values else None


def collect(study_dir: Path, env: str):
    runs, per_seed = {}, []
    for est in ESTIMATORS:
        dirs = sorted((d for d in study_dir.glob(f"{est}-seed*") if d.is_dir()),
                      key=lambda p: int(p.name.split("seed")[1]))
        dirs = [d for d in dirs if read_metrics(d)]
        if not dirs:
            continue
        runs[est] = []
        for d in dirs:
            seed = int(d.name.split("seed")[1])
            records = read_metrics(d)
            runs[est].append(records)
            target = RESULTS / "runs" / env / est / f"seed{seed}"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(d / "metrics.jsonl", target / "metrics.jsonl")
            if (d / "config.json").exists():
                shutil.copy(d / "config.json", target / "config.json")
            per_seed.append({"env": env, "estimator": est, "seed": seed, "iterations": len(records),
                             **per_run_values(records)})
    configs = [study_dir / f"{ESTIMATORS[0]}-seed{r['seed']}" / "config.json" for r in per_seed
               if r["estimator"] == ESTIMATORS[0]]
    runs[RANDOM] = [random_policy_run(c) for c in configs if c.exists()]
    per_seed += [{"env": env, "estimator": RANDOM, "seed": json.loads(c.read_text())["seed"], "iterations": len(recs),
                  **per_run_values(recs)} for c, recs in zip([c for c in configs if c.exists()], runs[RANDOM])]
    return runs, per_seed


def summarize(env: str, per_seed: list[dict]) -> list[dict]:
    rows = []
    keys = [k for k in per_seed[0] if k not in ("env", "estimator", "seed", "iterations")]
    for est in (*ESTIMATORS, RANDOM):
        mine = [r for r in per_seed if r["estimator"] == est]
        if not mine:
            continue
        row = {"env": env, "estimator": est, "seeds": len(mine), "iterations": mine[0]["iterations"]}
        for k in keys:
            m, s = mean_std([r[k] for r in mine])
            row[f"{k} mean"], row[f"{k} std"] = m, s
        rows.append(row)
    return rows


def main(argv: list[str]) -> None:
    if len(argv) % 2 or not argv:
        raise SystemExit(__doc__)
    summary, seeds = [], []
    for study_dir, env in zip(argv[::2], argv[1::2]):
        runs, per_seed = collect(Path(study_dir), env)
        seeds += per_seed
        summary += summarize(env, per_seed)
        figures = {
            f"{env}_train_success": plots.curves_with_spread(
                runs, "success_rate", title=f"{env}: training success rate (task pool), mean ± std over seeds",
                y_title="success rate (training rollouts)"),
            f"{env}_eval_greedy_success": plots.curves_with_spread(
                runs, "eval_greedy_success_rate", title=f"{env}: held-out success rate (greedy)",
                y_title="success rate (held-out, greedy)"),
            f"{env}_eval_sampled_success": plots.curves_with_spread(
                runs, "eval_sampled_success_rate", title=f"{env}: held-out success rate (sampled, T=0.4)",
                y_title="success rate (held-out, sampled)"),
            f"{env}_step_group_size_per_group": plots.curves_with_spread(
                runs, "step_group_size_per_group", title=f"{env}: mean anchor-state group size",
                y_title="rows per group"),
            f"{env}_adv_step_abs": plots.curves_with_spread(
                runs, "adv_step_abs", title=f"{env}: mean |A_S| (step-level advantage)", y_title="|A_S|"),
        }
        (RESULTS / "figures").mkdir(exist_ok=True)
        for name, fig in figures.items():  # plotly.js from its CDN: keeps results/ small (4 MB less per folder)
            fig.write_html(RESULTS / "figures" / f"{name}.html", include_plotlyjs="cdn")
    write_csv(summary, RESULTS / "summary.csv")
    write_csv(seeds, RESULTS / "per_seed.csv")
    (RESULTS / "summary.md").write_text(to_markdown(summary) + "\nPer seed:\n\n" + to_markdown(seeds))
    print(to_markdown(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
