"""Discounted returns inside each trajectory of a flat, possibly interleaved, batch of steps.

``R_t = r_t + gamma * R_{t+1}`` (paper Sec. 4.2, the step-level return that is compared within a step group).
"""
from __future__ import annotations

import torch


def discounted_returns(traj_idx: torch.Tensor, num_traj: int, rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """Per-row discounted return-to-go, for rows whose trajectories may be interleaved.

    Rows of one trajectory must appear in time order. Instead of a Python loop over rows (the authors' code is
    quadratic in the batch), rows are sorted stably by trajectory so each trajectory is a contiguous segment, and the
    linear recurrence is solved by a doubling scan: after the pass with offset d, ``R[i]`` holds the discounted sum of
    the next ``2d`` rewards of its own segment. That is ``ceil(log2(T))`` vectorized passes for the longest trajectory
    length T, with memory linear in the rows.
    """
    n = rewards.numel()
    order = torch.argsort(traj_idx, stable=True)
    seg = traj_idx[order]
    lengths = torch.bincount(traj_idx, minlength=num_traj)
    seg_end = torch.cumsum(lengths, 0)[seg]  # one past the last sorted row of each row's trajectory
    ret = rewards[order].clone()
    idx = torch.arange(n)
    d = 1
    max_len = int(lengths.max()) if n else 0
    zero = torch.zeros((), dtype=ret.dtype)
    while d < max_len:
        src = idx + d
        inside = src < seg_end
        # a clamped gather plus a where is cheaper than boolean-mask indexing and adds the same 0 outside
        add = torch.where(inside, ret[src.clamp_max_(n - 1)], zero)
        ret = ret + (gamma ** d) * add
        d *= 2
    out = torch.empty_like(ret)
    out[order] = ret
    return out
