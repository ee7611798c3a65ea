"""The learning-rate schedule of a run: linear warmup, then constant, linear decay or cosine decay, per iteration.

The trainer sets ``lr * lr_factor(iteration, ...)`` on the optimizer before each iteration's update, so the schedule
is a pure function of the iteration and of the schedule's *horizon*, the iterations it spans. The horizon is fixed
when a run starts (``lr_horizon``, or ``iterations`` when that is 0) and stored in its checkpoints, so a resumed run
continues the same schedule even when ``--iterations`` changes: extending a run never rewrites the learning rates of
the iterations it already trained. A decaying schedule ends at its horizon, so such a run extends only up to it; a
constant one has nothing to rewrite and extends freely (:func:`schedule_horizon`). Why warmup matters here: Adam's
first steps move every parameter with a non-zero gradient by about ``lr`` whatever the gradient's size (its second-
moment estimate has seen one gradient, so ``m / sqrt(v)`` is +-1), which is the largest move of a whole run; a warmup
makes those first steps small (the usual cure, e.g. Liu et al. 2020, "On the Variance of the Adaptive Learning
Rate").
"""
from __future__ import annotations

import math

LR_SCHEDULES = ("constant", "linear", "cosine")


def lr_factor(iteration: int, iterations: int, schedule: str = "constant", warmup_iterations: int = 0) -> float:
    """Multiplier of the base learning rate at ``iteration`` (0-based) of a run of ``iterations``.

    - warmup, ``iteration < W`` (``W = warmup_iterations``): ``(iteration + 1) / (W + 1)``, rising linearly and
      staying below 1, so the first full-size step comes right after the warmup;
    - after it, with progress ``p = (iteration - W) / (iterations - W)`` in [0, 1): ``constant`` 1, ``linear``
      ``1 - p``, ``cosine`` ``(1 + cos(pi p)) / 2``. Decays never reach 0 inside the run (``p < 1``).
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
    if iterations < 1 or not 0 <= iteration < iterations:
        raise ValueError(f"iteration must be in [0, iterations), got {iteration} of {iterations}")
    if not 0 <= warmup_iterations < iterations:
        raise ValueError(f"warmup_iterations must be in [0, iterations), got {warmup_iterations} of {iterations}")
    if iteration < warmup_iterations:
        return (iteration + 1) / (warmup_iterations + 1)
    p = (iteration - warmup_iterations) / (iterations - warmup_iterations)
    if schedule == "linear":
        return 1.0 - p
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * p))
    return 1.0


def schedule_horizon(schedule: str, iterations: int, lr_horizon: int = 0, saved: int | None = None) -> int:
    """The horizon to pass to :func:`lr_factor` as ``iterations``: ``saved`` (the checkpoint's) on resume, else
    ``lr_horizon or iterations``. A constant schedule stretches to ``iterations`` (its factors do not depend on the
    horizon); a decaying one cannot run past its horizon, which raises ``ValueError`` saying what to do instead."""
    horizon = saved if saved is not None else (lr_horizon or iterations)
    if schedule == "constant":
        return max(horizon, iterations)
    if iterations > horizon:
        raise ValueError(
            f"iterations={iterations} goes past this run's {schedule} lr schedule, which decays to 0 over {horizon} "
            "iterations (fixed when the run started, so the iterations already trained keep their learning rates). "
            f"Resume with iterations <= {horizon}; to train longer, start a new run with --lr-horizon N (its schedule "
            "spans N iterations, so a run stopped earlier can be extended up to N), or use lr_schedule='constant'")
    return horizon
