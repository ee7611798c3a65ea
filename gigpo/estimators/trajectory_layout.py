"""Where each row sits inside its trajectory, and the rows just before or after it, for interleaved batches.

A batched rollout appends step t of every live environment, then step t+1, so the rows of one trajectory are spread
over the batch. Sorting the rows stably by trajectory makes each trajectory a contiguous run of "slots" in time order;
a row's neighbours in time are then its neighbouring slots, and a shifted gather reaches them for every row at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TrajectoryLayout:
    """Rows sorted by trajectory (time order kept), and each row's place in that order."""

    order: torch.Tensor  # order[s] = the row in slot s; trajectories are contiguous runs of slots
    slot: torch.Tensor  # slot[i] = where row i sits in ``order`` (the inverse permutation)
    position: torch.Tensor  # t, the row's step index inside its trajectory (0 = first step)
    length: torch.Tensor  # the number of steps of the row's trajectory


def trajectory_layout(traj_idx: torch.Tensor, num_traj: int) -> TrajectoryLayout:
    """Sort rows stably by trajectory code; rows of one trajectory must appear in time order in the batch."""
    n = traj_idx.numel()
    order = torch.argsort(traj_idx, stable=True)
    slot = torch.empty(n, dtype=torch.int64)
    slot[order] = torch.arange(n)
    lengths = torch.bincount(traj_idx, minlength=num_traj)
    start = torch.cumsum(lengths, 0) - lengths  # first slot of each trajectory
    return TrajectoryLayout(order, slot, slot - start[traj_idx], lengths[traj_idx])


def earlier_row(layout: TrajectoryLayout, lag: int) -> torch.Tensor:
    """The row holding step ``t - lag`` of the same trajectory, for every row; -1 where ``t < lag``."""
    has = layout.position >= lag
    src = (layout.slot - lag).clamp_min(0)
    return torch.where(has, layout.order[src], torch.full_like(src, -1))


def next_row(layout: TrajectoryLayout) -> torch.Tensor:
    """The row holding step ``t + 1`` of the same trajectory, for every row; -1 at a trajectory's last step."""
    n = layout.order.numel()
    has = layout.position + 1 < layout.length
    src = (layout.slot + 1).clamp_max(n - 1)
    return torch.where(has, layout.order[src], torch.full_like(src, -1))
