"""Dynamic sampling's group filters: which task groups of a generation batch carry a learning signal, and which
groups make up the update batch. Pure functions over the estimators' flat row layout (one row per env step), shared
by the trainer (``dynamic_sampling.py``) and the credit lab.

DAPO (Yu et al. 2025, arXiv 2503.14476, Sec. 3.2) and verl-agent's ``gigpo_dynamic_trainer`` drop groups whose
rollouts all got the same reward and roll out more groups until the batch is full, at most ``max_num_gen_batches``
times. For GRPO such a group has A = 0 on every row, so it only dilutes the batch. For GiGPO it does not: in an
all-won group A_E is 0 but A_S still prefers the rollouts that reached the goal sooner. Hence two filters:

- ``outcome`` (DAPO / verl-agent): keep a group iff its episode returns are not all equal. The returns are the
  environment's, before the trainer's invalid-action penalty, as DAPO's and verl-agent's filters compare them: an
  all-lost group whose rollouts differ only in how many malformed replies they sent carries no outcome signal;
- ``advantage``: keep a group iff some row has a non-zero advantage under the run's estimator (for GRPO and RLOO
  the same groups as ``outcome``; for GiGPO it also keeps all-won groups with A_S != 0).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

FILTER_GROUPS = ("none", "outcome", "advantage")
ZERO = 1e-6  # |A| or a return spread at or below this counts as zero (advantages are float32)


def passing_groups(mode: str, group_ids, traj_ids, rewards, advantages=None, *, num_groups: int,
                   tol: float = ZERO) -> torch.Tensor:
    """Per group ``0..num_groups-1``: does it pass filter ``mode``? (bool tensor; ``none`` passes every group).

    ``group_ids`` must be the dense ints ``0..num_groups-1``; ``rewards`` (``outcome`` mode) are the environment's
    per-step rewards without penalties (``StepBatch.env_rewards``; episode return = their sum over a trajectory,
    undiscounted); ``advantages`` (``advantage`` mode only) the estimator's per-row advantages.
    """
    if mode not in FILTER_GROUPS:
        raise ValueError(f"filter_groups must be one of {FILTER_GROUPS}, got {mode!r}")
    if mode == "none":
        return torch.ones(num_groups, dtype=torch.bool)
    g = torch.as_tensor(group_ids, dtype=torch.long)
    if len(g) and (int(g.min()) < 0 or int(g.max()) >= num_groups):
        raise ValueError(f"group ids must lie in [0, num_groups={num_groups}), got {int(g.min())}..{int(g.max())}")
    if mode == "advantage":
        if advantages is None:
            raise ValueError("filter_groups='advantage' needs the estimator's advantages")
        a = torch.as_tensor(advantages).detach().double().abs().cpu()
        if a.shape != g.shape:
            raise ValueError(f"advantages {tuple(a.shape)} and group ids {tuple(g.shape)} must align")
        peak = torch.zeros(num_groups, dtype=torch.float64).scatter_reduce_(0, g, a, "amax")
        return peak > tol
    t = torch.as_tensor(traj_ids, dtype=torch.long)
    r = torch.as_tensor(rewards, dtype=torch.float64)
    if not (len(t) == len(r) == len(g)):
        raise ValueError(f"group ids ({len(g)}), trajectory ids ({len(t)}) and rewards ({len(r)}) must align")
    trajs, row_traj = torch.unique(t, return_inverse=True)
    ret = torch.zeros(len(trajs), dtype=torch.float64).index_add_(0, row_traj, r)
    traj_group = torch.zeros(len(trajs), dtype=torch.long).scatter_(0, row_traj, g)
    hi = torch.full((num_groups,), -math.inf, dtype=torch.float64).scatter_reduce_(0, traj_group, ret, "amax")
    lo = torch.full((num_groups,), math.inf, dtype=torch.float64).scatter_reduce_(0, traj_group, ret, "amin")
    return (hi - lo) > tol  # a group without rows: -inf, never passes


def update_groups(passed: Sequence[Sequence[bool]], num_groups: int) -> tuple[list[tuple[int, int]], int]:
    """The update batch: ``num_groups`` groups as ``(generation batch, group)`` pairs in generation order, and how
    many of them did not pass the filter.

    The groups that passed, in generation order, up to ``num_groups`` (DAPO's trim: excess groups of the last batch
    are dropped). If fewer passed, the generation cap was hit: the last batch's other groups fill the rest, in order
    (verl-agent's last try keeps its batch unfiltered; passing groups still go first).
    """
    chosen = [(b, g) for b, batch in enumerate(passed) for g, ok in enumerate(batch) if ok][:num_groups]
    missing = num_groups - len(chosen)
    if missing > 0:
        last = len(passed) - 1
        fill = [(last, g) for g, ok in enumerate(passed[last]) if not ok][:missing]
        if len(fill) < missing:
            raise ValueError(f"update_groups: {len(chosen) + len(fill)} groups for an update batch of {num_groups}; "
                             "each generation batch must hold num_groups groups")
        chosen = sorted(chosen + fill)
    return chosen, max(missing, 0)


SIDES, ROW_FIGURES = ("kept", "dropped"), ("rows", "zero_episode", "nonzero_step")


def kept_dropped_counts(passed: torch.Tensor, group_ids, episode_adv: torch.Tensor,
                        step_adv: torch.Tensor | None, *, tol: float = ZERO) -> dict[str, int]:
    """What a filter keeps and drops, in rows: per side (``kept``: rows of groups that passed ``passed``,
    ``dropped``: the others) the row count, the rows with A_E = 0 (``zero_episode``) and those with A_S != 0
    (``nonzero_step``; none when the estimator has no step part). Counts, so batches and ranks add up."""
    row_ok = passed[torch.as_tensor(group_ids, dtype=torch.long)]
    zero_e = episode_adv.detach().abs().cpu() <= tol
    step_nz = step_adv.detach().abs().cpu() > tol if step_adv is not None else torch.zeros_like(zero_e)
    out = {}
    for side, mask in zip(SIDES, (row_ok, ~row_ok)):
        out[f"{side}_rows"] = int(mask.sum())
        out[f"{side}_zero_episode"] = int((zero_e & mask).sum())
        out[f"{side}_nonzero_step"] = int((step_nz & mask).sum())
    return out


def kept_dropped_shares(counts: dict[str, float]) -> dict[str, float | None]:
    """``<side>_rows`` and the shares ``<side>_zero_episode_share`` / ``<side>_nonzero_step_share`` (None for a
    side without rows) from summed :func:`kept_dropped_counts`."""
    out: dict[str, float | None] = {f"{side}_rows": int(counts[f"{side}_rows"]) for side in SIDES}
    for side in SIDES:
        for k in ROW_FIGURES[1:]:
            n = counts[f"{side}_rows"]
            out[f"{side}_{k}_share"] = counts[f"{side}_{k}"] / n if n else None
    return out
