"""Wrong answers that students (and frameworks) give, each with a sentence saying what it gets wrong.

When a check fails, ``gigpo.course.checks`` runs these on the failing case: if the student's output equals one of
them (and that one differs from the library there), the message names the mistake instead of only the numbers.
The five bug-hunt exercises have their buggy function (``gigpo.course.bug_variants``) as their known mistake.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import torch

from gigpo.course.bug_variants import BUG_OF, BUGGY


def _std(x: torch.Tensor, kind: str) -> torch.Tensor:
    return x.std(unbiased=False) if kind == "population" else x.std()


def _normalise(values: Sequence[float], keys: Sequence[Hashable], eps: float, *, std: str = "sample",
               eps_inside: bool = False) -> list[float]:
    """``(v - mean) / scale`` within the rows of equal key; a key with one row gets 0. ``scale`` is the (sample or
    population) std plus ``eps``, or with ``eps_inside`` ``sqrt(var + eps)``."""
    members: dict[Hashable, list[float]] = defaultdict(list)
    for k, v in zip(keys, values):
        members[k].append(v)
    out = []
    for k, v in zip(keys, values):
        xs = torch.tensor(members[k], dtype=torch.float64)
        if len(xs) < 2:
            out.append(0.0)
            continue
        scale = (xs.var(unbiased=std == "sample") + eps).sqrt() if eps_inside else _std(xs, std) + eps
        out.append(float((v - xs.mean()) / scale))
    return out


def _returns_backward(traj_ids, rewards, gamma) -> list[float]:
    out, running = [0.0] * len(rewards), {}
    for i in reversed(range(len(rewards))):
        running[traj_ids[i]] = rewards[i] + gamma * running.get(traj_ids[i], 0.0)
        out[i] = running[traj_ids[i]]
    return out


def forward_returns(traj_ids, rewards, gamma) -> list[float]:
    """``R_t = r_t + gamma R_{t-1}``: accumulated from the first step forwards (the past, not the future)."""
    out, running = [0.0] * len(rewards), {}
    for i in range(len(rewards)):
        running[traj_ids[i]] = rewards[i] + gamma * running.get(traj_ids[i], 0.0)
        out[i] = running[traj_ids[i]]
    return out


def _episode(group_ids, traj_ids, rewards, eps=1e-6, *, pooled: bool = False, **norm: Any) -> list[float]:
    score, group_of = defaultdict(float), {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        score[t] += r
        group_of[t] = g
    if pooled:  # every step row enters its group's statistics with its trajectory's return
        return _normalise([score[t] for t in traj_ids], list(group_ids), eps, **norm)
    trajs = list(score)
    per_traj = dict(zip(trajs, _normalise([score[t] for t in trajs], [group_of[t] for t in trajs], eps, **norm)))
    return [per_traj[t] for t in traj_ids]


def _step(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6, *, returns=_returns_backward,
          pooled: bool = False, **norm: Any) -> list[float]:
    keys = list(group_ids) if pooled else list(zip(group_ids, anchors))
    return _normalise(returns(traj_ids, rewards, gamma), keys, eps, **norm)


def _episode_variant(**how: Any) -> Callable[..., list[float]]:
    def variant(group_ids, traj_ids, rewards, eps=1e-6):
        return _episode(group_ids, traj_ids, rewards, 0.0 if how.get("no_eps") else eps,
                        **{k: v for k, v in how.items() if k != "no_eps"})
    return variant


def _step_variant(**how: Any) -> Callable[..., list[float]]:
    def variant(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
        return _step(group_ids, traj_ids, rewards, anchors, gamma, 0.0 if how.get("no_eps") else eps,
                     **{k: v for k, v in how.items() if k != "no_eps"})
    return variant


POPULATION_STD = ("the population std (ddof=0, dividing by n) where the library uses the sample std (n - 1, "
                  "torch.std's and statistics.stdev's default)")
EPS_INSIDE = "eps inside the square root, sqrt(var + eps), where the library adds eps to the std: std + eps"
NO_EPS = "no eps: the library divides by std + eps (so a group whose values are all equal gets 0, not NaN)"
FORWARD = ("returns accumulated forwards, R_t = r_t + gamma R_(t-1) (the rewards already collected), where "
           "R_t = r_t + gamma R_(t+1) sums the rewards still to come, so the loop runs backwards in time")

MISTAKES: dict[str, list[tuple[str, Callable[..., Any]]]] = {
    "discounted_returns": [(FORWARD, forward_returns)],
    "episode_advantages": [
        (POPULATION_STD, _episode_variant(std="population")),
        (EPS_INSIDE, _episode_variant(eps_inside=True)),
        (NO_EPS, _episode_variant(no_eps=True)),
        ("pooled step rows: every step row counted in its group's mean and std (verl-agent's episode statistics), "
         "where Eq. 3 counts each trajectory once, however many steps it has",
         _episode_variant(pooled=True)),
    ],
    "step_advantages": [
        (POPULATION_STD, _step_variant(std="population")),
        (EPS_INSIDE, _step_variant(eps_inside=True)),
        (NO_EPS, _step_variant(no_eps=True)),
        (FORWARD, _step_variant(returns=forward_returns)),
        ("pooled step rows: all rows of a task group normalised together, whatever their anchor; a step group is "
         "the rows of one task group at one anchor",
         _step_variant(pooled=True)),
    ],
    **{name: [(f"the bug itself ({BUG_OF[name]})", fn)] for name, fn in BUGGY.items()},
}
