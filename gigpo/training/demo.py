"""The CPU recipe of the README's demo (:data:`DEMO_RECIPE`) as a :class:`TrainConfig`, and the figure its report
gives. ``python -m gigpo demo`` runs it (``gigpo.notebook.demo``: the run, its printout and its curves).
"""
from __future__ import annotations

import argparse

from gigpo.training.config import TrainConfig

WINDOW = 3  # iterations averaged at each end of the curve
# The CPU recipe (docs/training.md "A CPU recipe that learns"): household with 6 receptacles and 4 objects (the
# credit lab's regime), an 8-task pool played whole every iteration, 8 rollouts per task (with 4, a task the warm
# start left without a win stays at 0/N for many iterations, and a group with no win has zero advantages); the small
# model under full fine-tuning in choice mode; a warm start that leaves it at a modest success; a short lr warmup
# (Adam's first steps are its largest), PPO's target-KL early stop over minibatches, and a cosine decay so that the
# late updates, which can undo a solved task on so small a model, shrink. The two memory knobs are off: the tiny
# model needs neither, and both cost time (docs/measurements.md).
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


def window_means(records: list[dict], key: str = "success_rate", window: int = WINDOW) -> tuple[float, float]:
    """Mean of ``key`` over the first and over the last ``window`` records."""
    if len(records) < 2 * window:
        raise ValueError(f"need at least {2 * window} iterations to compare the first and last {window}")
    values = [r[key] for r in records]
    return sum(values[:window]) / window, sum(values[-window:]) / window
