"""``python -m gigpo demo``: the CPU demo, end to end in a few minutes on 2 cores, with a curve that rises.

1. Anchor grouping on one real group: 8 scripted rollouts of one task, how many steps share a state.
2. A real training run of the CPU recipe (:data:`DEMO_RECIPE`): the ``tiny-mini`` model (a Qwen2-architecture
   model built locally), warm-started on expert episodes of every pool task to a modest success, then GiGPO.
   Every iteration plays the whole task pool (``num_groups == task_pool``), so the curve measures learning, not
   which tasks were drawn.
3. The training success of the first and last 3 iterations, and the learning curves as HTML and PNG.

Everything it writes goes to ``--output-dir`` (default ``runs/demo``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from gigpo.training.config import TrainConfig

CURVE_KEYS = ("success_rate", "mean_return", "mean_length", "entropy", "approx_kl", "adv_step_abs")
WINDOW = 3  # iterations averaged at each end of the curve
# The CPU recipe (docs/training.md "A CPU recipe that learns"): household with 6 receptacles and 4 objects (the
# credit lab's regime), an 8-task pool played whole every iteration, 8 rollouts per task (with 4, a task the warm
# start left without a win stays at 0/N for many iterations, and a group with no win has zero advantages); the small
# model under full fine-tuning in choice mode; a warm start that leaves it at a modest success; a short lr warmup
# (Adam's first steps are its largest), PPO's target-KL early stop over minibatches, and a cosine decay so that the
# late updates, which can undo a solved task on so small a model, shrink. The two memory knobs are off: the tiny
# model needs neither, and both cost time (activation recompute ~1/3 of the update, glibc's mmap threshold ~2x).
DEMO_RECIPE = dict(
    env="household", env_options={"num_receptacles": 6, "num_objects": 4}, max_steps=10, task_pool=8,
    model="tiny-mini", finetune="full", action_mode="choice", num_groups=8, group_size=8, history_length=0,
    lr=3e-4, lr_schedule="cosine", warmup_iterations=2, minibatch_size=64, micro_batch_size=64, target_kl=0.1,
    kl_coef=0.0, warm_start_steps=90, warm_start_episodes=64, warm_start_lr=1e-3, iterations=20, eval_every=0,
    checkpoint_every=0, activation_checkpointing=False, host_mmap_threshold=0,
)


def demo_config(**overrides) -> TrainConfig:
    """The demo's :class:`TrainConfig`: :data:`DEMO_RECIPE` with ``overrides`` on top."""
    return TrainConfig.from_dict({**DEMO_RECIPE, **overrides})


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--estimator", default="gigpo", help="gigpo, grpo or rloo")
    parser.add_argument("--iterations", type=int, default=DEMO_RECIPE["iterations"], help="training iterations")
    parser.add_argument("--seed", type=int, default=0, help="seed of the warm start and the run")
    parser.add_argument("--output-dir", default="runs/demo", help="where the run and its figures go")


def show_anchor_groups(env: str, env_options: dict, out: Path | None = None) -> None:
    """Print how 8 rollouts of one task share anchor states (the raw material of GiGPO's step groups); with
    ``out``, also write them as a rollout table, ``out/anchor_groups.jsonl``, for ``python -m gigpo inspect``."""
    from gigpo.notebook.scripted_rollouts import collect_group, records_details
    from gigpo.run_files.rollout_table import table_from_step_records, write_rollout_table

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


def window_means(records: list[dict], key: str = "success_rate", window: int = WINDOW) -> tuple[float, float]:
    """Mean of ``key`` over the first and over the last ``window`` records."""
    if len(records) < 2 * window:
        raise ValueError(f"need at least {2 * window} iterations to compare the first and last {window}")
    values = [r[key] for r in records]
    return sum(values[:window]) / window, sum(values[-window:]) / window


def run_demo(ns: argparse.Namespace) -> int:
    """Train the CPU recipe and write its learning curves (the README's first command)."""
    import time

    from gigpo.notebook.metrics_io import read_metrics
    from gigpo.notebook.plots import learning_curves, save_figures
    from gigpo.notebook.plots.static import save_pngs
    from gigpo.training.trainer import train

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
