"""Paired comparison of two estimators over seeds: a bootstrap interval for the mean difference and a sign test.

Each seed gives one paired difference (the same warm start, tasks and sampling keys for both estimators), so the
seeds are the unit of resampling. Both functions are plain numpy / exact arithmetic (scipy is not a dependency of
the package, and neither needs more than a few lines).
"""
from __future__ import annotations

import math

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 29  # the number: fixed, so the interval in results/README.md is reproduced exactly


def bootstrap_mean_interval(diffs, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                            level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``diffs`` and its percentile bootstrap interval (seeds resampled with
    replacement ``resamples`` times, a numpy generator seeded with ``seed``)."""
    values = np.asarray([d for d in diffs], dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"bootstrap needs at least 2 paired differences, got {len(values)}")
    if not np.isfinite(values).all():
        raise ValueError("bootstrap: a paired difference is not finite (a censored value left as None or inf?)")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(values.mean()), float(low), float(high)


def sign_test(diffs) -> tuple[int, int, int, float]:
    """``(positive, negative, ties, p)``: the exact two-sided binomial sign test of "median difference 0".

    Ties (difference 0) are dropped, as usual; ``p = min(1, 2 P(X <= min(pos, neg)))`` for X ~ Binomial(n, 1/2)
    with n the untied pairs (1.0 when every pair ties).
    """
    diffs = list(diffs)
    pos = sum(d > 0 for d in diffs)
    neg = sum(d < 0 for d in diffs)
    ties = len(diffs) - pos - neg
    n = pos + neg
    if n == 0:
        return pos, neg, ties, 1.0
    tail = sum(math.comb(n, k) for k in range(min(pos, neg) + 1)) / 2**n
    return pos, neg, ties, min(1.0, 2 * tail)


def excludes_zero(low: float, high: float) -> bool:
    return low > 0 or high < 0
