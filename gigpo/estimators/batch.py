"""The flat step batch every estimator reads, and the input checks they share.

One row per environment step: ``group_ids`` (the task group, i.e. the N rollouts of one task), ``traj_ids`` (the
rollout), ``rewards`` (the step's reward); rows of one trajectory in time order, trajectories may be interleaved.
:func:`prepare_batch` turns ids of any kind into dense int64 codes once, so the estimators only do tensor work.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gigpo.estimators.grouping import Keys, factorize

NORMS = ("std", "none")
EPISODE_STATS = ("trajectory", "step")


@dataclass(frozen=True)
class FlatBatch:
    """Dense codes of a step batch: ``group_idx``/``traj_idx`` per row, ``traj_group`` per trajectory."""

    group_idx: torch.Tensor
    num_groups: int
    traj_idx: torch.Tensor
    num_traj: int
    traj_group: torch.Tensor  # task-group code of each trajectory
    rewards: torch.Tensor  # float64, one per row

    @property
    def num_rows(self) -> int:
        return self.rewards.numel()


def check_choice(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of {allowed}")


def is_real(value) -> bool:
    """A real number: int, float or a numpy scalar such as ``np.float32(0.95)`` (numbers.Real), but not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_eps(eps: float) -> None:
    if not (is_real(eps) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")


def check_gamma(gamma: float) -> None:
    if not (is_real(gamma) and 0.0 <= gamma <= 1.0):
        raise ValueError(f"gamma must be a real number in [0, 1], got {gamma!r}")


def check_finite(value: float, name: str) -> None:
    if not (is_real(value) and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def as_rewards(rewards) -> torch.Tensor:
    """Rewards as a 1-D float64 CPU tensor; raises ``ValueError`` on a wrong shape or a non-finite value."""
    if isinstance(rewards, torch.Tensor):
        r = rewards.detach().to("cpu", torch.float64)
    else:
        try:
            r = torch.as_tensor(np.asarray(rewards, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"rewards must be numbers: {exc}") from exc
    if r.dim() != 1:
        raise ValueError(f"rewards must be 1-D (one reward per step row), got shape {tuple(r.shape)}")
    bad = ~torch.isfinite(r)
    if bad.any():
        rows = torch.nonzero(bad).flatten()[:5].tolist()
        raise ValueError(f"rewards must be finite; NaN or inf at rows {rows}")
    return r


def prepare_batch(group_ids: Keys, traj_ids: Keys, rewards) -> FlatBatch:
    """Validate the three columns and factorize the ids; raises ``ValueError`` naming the problem."""
    r = as_rewards(rewards)
    n = r.numel()
    if n == 0:
        raise ValueError("empty batch: rewards has no rows")
    traj_idx, num_traj = factorize(traj_ids, "traj_ids")
    if traj_idx.numel() != n:
        raise ValueError(f"traj_ids has {traj_idx.numel()} rows but rewards has {n}; one row per step is required")
    fast = _group_codes_from_first_rows(group_ids, traj_idx, num_traj, n)
    if fast is not None:
        return FlatBatch(fast[0][traj_idx], fast[1], traj_idx, num_traj, fast[0], r)
    group_idx, num_groups = factorize(group_ids, "group_ids")
    if group_idx.numel() != n:
        raise ValueError(f"group_ids has {group_idx.numel()} rows but rewards has {n}; one row per step is required")
    # a trajectory is one rollout of one task: all its rows must carry the same group id
    lo = torch.full((num_traj,), num_groups, dtype=torch.int64).scatter_reduce_(0, traj_idx, group_idx, "amin")
    hi = torch.full((num_traj,), -1, dtype=torch.int64).scatter_reduce_(0, traj_idx, group_idx, "amax")
    if (lo != hi).any():
        raise ValueError("traj_ids: a trajectory spans several group_ids; each rollout belongs to one task group")
    return FlatBatch(group_idx, num_groups, traj_idx, num_traj, lo, r)


def _group_codes_from_first_rows(group_ids, traj_idx: torch.Tensor, num_traj: int, n: int):
    """Group codes per trajectory without hashing every row's group id, for ids given as Python hashables.

    verl-style batches carry uuid strings in both id columns; hashing one of them per row is the slow part. Traj
    codes follow first appearance, so the trajectories' first rows are in row order, and factorizing the group id of
    each trajectory's first row numbers the groups by first appearance over all rows: the same codes as factorizing
    the whole column. One vectorized ``==`` then checks that every row carries its trajectory's group id. Returns
    ``None`` (use the general path, which also names any error) for tensors, integer arrays, or any mismatch.
    """
    if isinstance(group_ids, (torch.Tensor, str, bytes)):
        return None
    if isinstance(group_ids, np.ndarray) and (group_ids.dtype != object or group_ids.ndim != 1):
        return None
    if isinstance(group_ids, np.ndarray):
        column = group_ids
    elif isinstance(group_ids, (list, tuple)) and len(group_ids) == n:
        column = np.fromiter(group_ids, dtype=object, count=n)  # 1-D even when the ids are tuples
    else:
        return None
    if column.shape != (n,):
        return None
    first_row = torch.full((num_traj,), n, dtype=torch.int64).scatter_reduce_(0, traj_idx, torch.arange(n), "amin")
    firsts = column[first_row.numpy()]
    try:
        same = column == firsts[traj_idx.numpy()]
        if not (isinstance(same, np.ndarray) and same.dtype == bool and same.all()):
            return None
        traj_group, num_groups = factorize(firsts, "group_ids")
    except (TypeError, ValueError):
        return None
    return traj_group, num_groups


def check_anchor_rows(anchors: torch.Tensor | np.ndarray | Sequence[Hashable], num_rows: int,
                      name: str = "anchors") -> None:
    n = anchors.shape[0] if isinstance(anchors, (torch.Tensor, np.ndarray)) else len(anchors)
    if n != num_rows:
        raise ValueError(f"{name} has {n} rows but rewards has {num_rows}")


def episode_returns(b: FlatBatch) -> torch.Tensor:
    """R(tau) per trajectory: the sum of its step rewards."""
    return torch.zeros(b.num_traj, dtype=torch.float64).index_add_(0, b.traj_idx, b.rewards)
