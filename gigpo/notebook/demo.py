"""``python -m gigpo demo``: the CPU demo, end to end in a few minutes on 2 cores, with a curve that rises.

1. Anchor grouping on one real group: 8 scripted rollouts of one task, how many steps share a state.
2. A real training run of the CPU recipe (:data:`gigpo.training.demo.DEMO_RECIPE`): the ``tiny-mini`` model (a
   Qwen2-architecture model built locally), warm-started on expert episodes of every pool task to a modest success,
   then GiGPO. Every iteration plays the whole task pool (``num_groups == task_pool``), so the curve measures
   learning, not which tasks were drawn.
3. The training success of the first and last 3 iterations, and the learning curves as HTML and PNG.

Everything it writes goes to ``--output-dir`` (default ``runs/demo``).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from gigpo.notebook.plots import learning_curves, save_figures
from gigpo.notebook.plots.static import save_pngs
from gigpo.notebook.scripted_rollouts import collect_group, records_details
from gigpo.run_files.metrics import read_metrics
from gigpo.run_files.rollout_table import table_from_step_records, write_rollout_table
from gigpo.training.demo import WINDOW, demo_config, window_means
from gigpo.training.trainer import train

CURVE_KEYS = ("success_rate", "mean_return", "mean_length", "entropy", "approx_kl", "adv_step_abs")


def show_anchor_groups(env: str, env_options: dict, out: Path | None = None) -> None:
    """Print how 8 rollouts of one task share anchor states (the raw material of GiGPO's step groups); with
    ``out``, also write them as a rollout table, ``out/anchor_groups.jsonl``, for ``python -m gigpo inspect``."""
    records = collect_group(env, task_seed=0, group_size=8, epsilon=0.5, seed=0, env_options=env_options)
    details = records_details(records)
    stats = details.step_group_stats()
    won = sum(bool(r.won) for r in records)
    print(f"[1/3] anchor grouping: 8 rollouts of {env} task 0 ({won} won), {len(records)} steps in "
          f"{stats['step_groups']:.0f} step groups; mean size {stats['step_group_size_per_group']:.2f}, "
          f"{100 * stats['step_group_share_grouped']:.0f}% of steps share their state with another step")
    print(f"      mean |A_E| {details.episode_adv.abs().mean():.3f}, mean |A_S| {details.step_adv.abs().mean():.3f}")
    if out is not None:
        table = write_rollout_table(table_from_step_records(records), out / "anchor_groups.jsonl")
        print(f"      rollout table {table}: python -m gigpo inspect {table} --out {out / 'inspect'}")


def run_demo(ns: argparse.Namespace) -> int:
    """Train the CPU recipe and write its learning curves (the README's first command)."""
    out = Path(ns.output_dir)
    cfg = demo_config(estimator=ns.estimator, iterations=ns.iterations, seed=ns.seed, output_dir=str(out))
    show_anchor_groups(cfg.env, cfg.env_options, out)
    print(f"[2/3] training: {cfg.model} ({cfg.finetune} fine-tuning), {cfg.warm_start_steps} warm-start steps, then "
          f"{cfg.estimator} on {cfg.env}: the whole {cfg.task_pool}-task pool x {cfg.group_size} rollouts per "
          f"iteration, {cfg.iterations} iterations -> {out}/metrics.jsonl")
    started = time.perf_counter()
    train(cfg, overwrite=True)
    records = read_metrics(out)
    title = f"{cfg.estimator} on {cfg.env} ({cfg.model}, CPU demo): every iteration plays the whole task pool"
    figures = {"learning_curves": learning_curves(records, CURVE_KEYS, title=title)}
    paths = save_figures(figures, out) + save_pngs(figures, out)
    first, last = window_means(records)
    print(f"[3/3] training success, mean of the first {WINDOW} iterations {first:.2f} -> last {WINDOW} {last:.2f} "
          f"({last - first:+.2f}) in {time.perf_counter() - started:.0f} s; curves: "
          + ", ".join(str(p) for p in paths))
    return 0
