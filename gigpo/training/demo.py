"""``python -m gigpo demo``: the CPU demo, end to end in a few minutes on 2 cores.

1. Anchor grouping on one real group: 8 scripted rollouts of one task, how many steps share a state.
2. A real training run with the ``tiny`` preset (a Qwen2-architecture model built locally) and GiGPO.
3. The learning curves, read back from ``metrics.jsonl`` into an HTML figure beside it.

Everything it writes goes to ``--output-dir`` (default ``runs/demo``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from gigpo.training.config import TrainConfig

CURVE_KEYS = ("success_rate", "mean_return", "invalid_rate", "adv_step_abs", "step_group_size_per_row", "kl")


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    parser.add_argument("--env", default=defaults.env, help="environment to train on")
    parser.add_argument("--estimator", default=defaults.estimator, help="gigpo, grpo or rloo")
    parser.add_argument("--iterations", type=int, default=defaults.iterations, help="training iterations")
    parser.add_argument("--output-dir", default="runs/demo", help="where the run and its figures go")


def show_anchor_groups(env: str) -> None:
    """Print how 8 rollouts of one task share anchor states (the raw material of GiGPO's step groups)."""
    from gigpo.notebook.scripted_rollouts import collect_group, records_details

    records = collect_group(env, task_seed=0, group_size=8, epsilon=0.5, seed=0)
    details = records_details(records)
    stats = details.step_group_stats()
    won = sum(bool(r.won) for r in records)
    print(f"[1/3] anchor grouping: 8 rollouts of {env} task 0 ({won} won), {len(records)} steps in "
          f"{stats['step_groups']:.0f} step groups; mean size {stats['step_group_size_per_group']:.2f}, "
          f"{100 * stats['step_group_share_grouped']:.0f}% of steps share their state with another step")
    print(f"      mean |A_E| {details.episode_adv.abs().mean():.3f}, mean |A_S| {details.step_adv.abs().mean():.3f}")


def run_demo(ns: argparse.Namespace) -> int:
    """Train the tiny preset on CPU and write learning curves (the README's main job)."""
    from gigpo.notebook.metrics_io import read_metrics
    from gigpo.notebook.plots import learning_curves, save_figures
    from gigpo.training.trainer import train

    out = Path(ns.output_dir)
    show_anchor_groups(ns.env)
    cfg = TrainConfig(env=ns.env, estimator=ns.estimator, iterations=ns.iterations, output_dir=str(out))
    print(f"[2/3] training: {cfg.model} preset, {cfg.estimator}, {cfg.num_groups} tasks x {cfg.group_size} rollouts, "
          f"{cfg.iterations} iterations -> {out}/metrics.jsonl")
    train(cfg, overwrite=True)
    records = read_metrics(out)
    fig = learning_curves(records, CURVE_KEYS, title=f"{cfg.estimator} on {cfg.env}, tiny preset (CPU demo)")
    (path,) = save_figures({"learning_curves": fig}, out)
    first, last = records[0], records[-1]
    print(f"[3/3] success rate {first['success_rate']:.2f} -> {last['success_rate']:.2f}, mean return "
          f"{first['mean_return']:.2f} -> {last['mean_return']:.2f}; curves: {path}")
    print("      (the tiny random-weight model shows the pipeline on a CPU; it does not learn sokoban in 10 iterations."
          " What it does and does not learn, measured: results/README.md)")
    return 0
