"""The expert prior: check that the env has an expert, measure a prior's success, and calibrate ``beta`` so the
initial policy succeeds at a target rate (the paper's regime: a pretrained LLM that already succeeds sometimes).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gigpo.lab.policy import TabularPolicy
from gigpo.lab.rollout import CALIBRATION, Uniforms, make_runner, play

_BETA_LIMIT = 64.0  # |beta| searched at most (e^64: the expert action is certain)
_STEPS = 10  # bisection steps: a bracket of 4 shrinks to 0.004 in beta, far below the sampling noise


def require_expert(env: str, env_options: dict[str, Any], task_seeds: list[int]) -> None:
    """Raise ``ValueError`` unless every task's first state has an ``expert_action`` (a prior needs one)."""
    runner = make_runner(env, 1, env_options, None)
    runner.reset(task_seeds)
    missing = [t for t, info in zip(task_seeds, runner.infos) if info.get("expert_action") is None]
    if missing:
        raise ValueError(f"env {env!r} gives no expert_action on task(s) {missing[:5]}; an expert prior "
                         f"(prior_success / prior_beta) needs one; set both to None to learn from scratch")


def prior_success_rate(policy: TabularPolicy, runner, task_seeds: list[int], beta: float, seed: int,
                       probe: int = 0) -> float:
    """Success of the untrained policy with prior ``beta`` over N rollouts of each task in ``task_seeds``."""
    policy.set_prior(beta)
    uniforms = Uniforms(seed, CALIBRATION, probe, len(task_seeds), runner.group_size)
    return float(play(runner, policy, task_seeds, uniforms).success.mean())


def calibrate_beta(env: str, env_options: dict[str, Any], task_seeds: list[int], target: float, *,
                   rollouts_per_task: int = 16, max_steps: int | None = None, seed: int = 0) -> tuple[float, float]:
    """The ``beta`` whose untrained policy succeeds on ``task_seeds`` at rate ``target``: ``(beta, measured)``.

    Bisection on beta with common random numbers (every probe replays the same uniforms), so the measured success
    is a monotone step function of beta and the search converges; its precision is the sampling noise of
    ``len(task_seeds) * rollouts_per_task`` rollouts (about ``sqrt(t(1-t)/n)``).
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"prior_success must be in (0, 1) (exclusive), got {target!r}")
    require_expert(env, env_options, task_seeds)
    runner = make_runner(env, rollouts_per_task, env_options, max_steps)
    policy = TabularPolicy()

    def rate(beta: float) -> float:
        return prior_success_rate(policy, runner, task_seeds, beta, seed)

    # bracket [lo, hi] with rate(lo) <= target <= rate(hi), starting from the uniform policy (beta 0); probes at
    # large beta are cheap (short expert-like episodes), probes at very negative beta are long failures
    lo, hi = 0.0, 4.0
    r_lo = rate(lo)
    if r_lo > target:
        lo, hi, r_hi = -_BETA_LIMIT, 0.0, r_lo
        r_lo = rate(lo)
    else:
        r_hi = rate(hi)
        while r_hi < target and hi < _BETA_LIMIT:
            lo, r_lo, hi = hi, r_hi, 2 * hi
            r_hi = rate(hi)
    if not r_lo <= target <= r_hi:
        raise ValueError(f"prior_success {target} is out of reach on {env!r}: the prior's success ranges over "
                         f"[{r_lo:.3f}, {r_hi:.3f}] for beta in [{lo:g}, {hi:g}]")
    best = min(((abs(r_lo - target), lo, r_lo), (abs(r_hi - target), hi, r_hi)))
    for _ in range(_STEPS):
        mid = 0.5 * (lo + hi)
        r = rate(mid)
        best = min(best, (abs(r - target), mid, r))
        if r < target:
            lo = mid
        else:
            hi = mid
    return float(best[1]), float(best[2])


def expert_share(policy: TabularPolicy, state_ids: np.ndarray) -> float:
    """Mean probability of the expert action over the given states (those with an expert)."""
    expert = policy.expert_index(state_ids)
    keep = expert >= 0
    if not keep.any():
        return float("nan")
    p, _, _ = policy.probs(state_ids[keep])
    return float(p[np.arange(int(keep.sum())), expert[keep]].mean())
