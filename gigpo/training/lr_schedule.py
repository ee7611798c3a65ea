"""The learning-rate schedule of a run: linear warmup, then constant, linear decay or cosine decay, per iteration.

The trainer sets ``lr * lr_factor(iteration, ...)`` on the optimizer before each iteration's update, so the schedule
is a pure function of the iteration: a resumed run continues it exactly. Why warmup matters here: Adam's first steps
move every parameter with a non-zero gradient by about ``lr`` whatever the gradient's size (its second-moment
estimate has seen one gradient, so ``m / sqrt(v)`` is +-1), which is the largest move of a whole run; a warmup makes
those first steps small (the usual cure, e.g. Liu et al. 2020, "On the Variance of the Adaptive Learning Rate").
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
