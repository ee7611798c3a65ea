"""Group-by building blocks on flat per-row tensors: factorize keys, and normalize values within groups.

Everything here is vectorized: a group-by is ``torch.unique(..., return_inverse=True)`` (or one dict pass for
Python hashables) followed by ``index_add_``; no Python loop touches individual rows of the batch.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import torch

Keys = torch.Tensor | np.ndarray | Sequence[Hashable]


def factorize(values: Keys, name: str) -> tuple[torch.Tensor, int]:
    """Map arbitrary keys to dense int64 codes ``0..k-1``; returns ``(codes, k)``.

    Integer tensors and arrays go through ``torch.unique``; sequences of hashables (str, uuid, tuples) through one
    dict pass, which is the fastest way to hash Python objects. ``name`` is used in error messages.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iub":
        values = torch.from_numpy(values)
    if isinstance(values, torch.Tensor):
        if values.dim() != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(values.shape)}")
        if values.is_floating_point() or values.is_complex():
            raise ValueError(f"{name} must hold integer ids or hashables, got a {values.dtype} tensor")
        uniques, codes = torch.unique(values, return_inverse=True)
        return codes.to(torch.int64), int(uniques.numel())
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of ids (one per row), got a single {type(values).__name__}")
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
        values = values.tolist()
    elif not isinstance(values, (list, tuple)):
        values = list(values)
    # Three C-level passes instead of a Python-level loop over rows (about 3x faster on 20k uuid strings):
    # dict.fromkeys keeps the distinct keys in order of first appearance, so the codes are the same as numbering
    # each new key as it is met; np.fromiter then reads the codes without building a Python list.
    try:
        table = {key: code for code, key in enumerate(dict.fromkeys(values))}
    except TypeError as exc:
        raise ValueError(f"{name} must hold hashable values: {exc}") from exc
    codes = np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values))
    return torch.from_numpy(codes), len(table)


def first_appearance_labels(codes: torch.Tensor, num_codes: int) -> torch.Tensor:
    """Relabel codes so that label 0 is the group seen first in row order, 1 the next new one, and so on.

    ``torch.unique`` numbers groups by sorted key; readers of a plot expect "step group 0" to be where the rollouts
    start, so labels follow first appearance.
    """
    n = codes.numel()
    first_row = torch.full((num_codes,), n, dtype=torch.int64)
    first_row.scatter_reduce_(0, codes, torch.arange(n), reduce="amin")
    rank = torch.empty(num_codes, dtype=torch.int64)
    rank[torch.argsort(first_row)] = torch.arange(num_codes)
    return rank[codes]


def group_normalize(values: torch.Tensor, labels: torch.Tensor, num_groups: int, *, norm: str,
                    eps: float, ddof: int = 1) -> torch.Tensor:
    """``(x - mean_group) / (std_group + eps)`` per element (``norm="none"``: ``x - mean_group``).

    The std is the unbiased (n-1) sample std by default, as ``torch.std`` in the authors' GiGPO code; ``ddof=0`` gives
    the population std (n), as HGPO's history groups use. A group with a single member has nothing to be compared
    with and gets 0.
    """
    counts = torch.bincount(labels, minlength=num_groups).to(values.dtype)
    sums = torch.zeros(num_groups, dtype=values.dtype).index_add_(0, labels, values)
    dev = values - (sums / counts.clamp_min(1))[labels]
    if norm == "std":
        # two-pass variance: summing squared deviations avoids the cancellation of E[x^2] - E[x]^2
        sq = torch.zeros(num_groups, dtype=values.dtype).index_add_(0, labels, dev * dev)
        std = torch.sqrt(sq / (counts - ddof).clamp_min(1))
        dev = dev / (std[labels] + eps)
    return torch.where(counts[labels] > 1, dev, torch.zeros_like(dev))


def leave_one_out(values: torch.Tensor, labels: torch.Tensor, num_groups: int) -> torch.Tensor:
    """``x_i - mean_{j != i} x_j`` within each group (RLOO baseline); 0 for a group of one."""
    counts = torch.bincount(labels, minlength=num_groups).to(values.dtype)
    sums = torch.zeros(num_groups, dtype=values.dtype).index_add_(0, labels, values)
    n = counts[labels]
    loo = values - (sums[labels] - values) / (n - 1).clamp_min(1)
    return torch.where(n > 1, loo, torch.zeros_like(loo))
