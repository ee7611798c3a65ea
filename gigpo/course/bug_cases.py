"""The inputs of the five bug-hunt exercises (unit 06): named fixed cases, each a batch that exposes its bug, and
seeded random batches.

Exercises and what their cases hold: ``outcome_advantages`` (several rollouts per task under uuid-like trajectory
ids, a task with one rollout), ``step_token_advantages`` (replies at different token positions per turn, a response
mask per row), ``multi_turn_gigpo`` (one state reached at different turns, rollouts of different lengths),
``stepwise_gigpo`` (sparse final rewards over rollouts of different lengths, and per-step penalties), and
``env_layout`` (task seeds and a group size, repeated seeds included).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gigpo.course.cases import (ALL_EQUAL_RETURNS, GROUP_OF_ONE, INTERLEAVED, SAME_ANCHOR_TWO_GROUPS, STEP_PENALTY,
                                Case, batch_columns, random_batch)

BUG_EXERCISES = ("outcome_advantages", "step_token_advantages", "multi_turn_gigpo", "stepwise_gigpo", "env_layout")
RANDOM_KEYS = {name: 10 + i for i, name in enumerate(BUG_EXERCISES)}

# rLLM's report: four rollouts of one task with rewards 1, 0, 1, 0, each under its own uuid, one step each
FOUR_UUIDS = batch_columns([("task-7", "5f2c", 1.0, "s"), ("task-7", "a91e", 0.0, "s"),
                            ("task-7", "0bd4", 1.0, "s"), ("task-7", "c3a8", 0.0, "s")])

# One state ("door") reached at turn 1 by one rollout and at turn 2 by another; "hall" is turn 1 of both others.
DOOR_AT_DIFFERENT_TURNS = batch_columns([
    ("t", "r0", 0.0, "start"), ("t", "r1", 0.0, "start"), ("t", "r2", 0.0, "start"),
    ("t", "r0", 0.0, "door"), ("t", "r1", 0.0, "hall"), ("t", "r2", 0.0, "hall"),
    ("t", "r0", 1.0, "goal"), ("t", "r1", 0.0, "door"), ("t", "r2", 0.0, "pit"),
    ("t", "r1", 1.0, "goal"),
])

# Every rollout wins (reward 1 on its last step only), in 2, 3 and 5 steps, through shared states.
ALL_WIN_SPARSE = batch_columns([
    ("t", "w0", 0.0, "start"), ("t", "w1", 0.0, "start"), ("t", "w2", 0.0, "start"),
    ("t", "w0", 1.0, "hall"), ("t", "w1", 0.0, "hall"), ("t", "w2", 0.0, "hall"),
    ("t", "w1", 1.0, "hall"), ("t", "w2", 0.0, "hall"),
    ("t", "w2", 0.0, "hall"),
    ("t", "w2", 1.0, "hall"),
])


def _with(batch: dict[str, list], keys: tuple[str, ...], rename: dict[str, str] | None = None,
          **extra: Any) -> dict[str, Any]:
    rename = rename or {}
    return {**{rename.get(k, k): batch[k] for k in keys}, **extra}


def _sparse(batch: dict[str, list]) -> dict[str, list]:
    """The batch with each trajectory's return moved onto its last row (a reward only at the end)."""
    last = {t: i for i, t in enumerate(batch["traj_ids"])}
    total: dict[Any, float] = {}
    for t, r in zip(batch["traj_ids"], batch["rewards"]):
        total[t] = total.get(t, 0.0) + r
    rewards = [total[t] if last[t] == i else 0.0 for i, t in enumerate(batch["traj_ids"])]
    return {**batch, "rewards": rewards}


def spans_mask(starts: list[int], lengths: list[int], tokens: int) -> list[list[float]]:
    """A (rows, tokens) response mask with ones on ``[start, start + length)`` of each row."""
    return [[1.0 if s <= j < s + n else 0.0 for j in range(tokens)] for s, n in zip(starts, lengths)]


# Two rollouts of one task, three turns each, recorded in lock step; each reply sits at its own token positions
# (prompts of different lengths push them around), the last turn's reply is short.
THREE_TURNS = batch_columns([
    ("t", "a", 0.0, "s0"), ("t", "b", 0.0, "s0"),
    ("t", "a", 0.0, "s1"), ("t", "b", 0.0, "s1"),
    ("t", "a", 1.0, "s2"), ("t", "b", 0.0, "s3"),
])
THREE_TURNS_MASK = spans_mask([0, 1, 2, 3, 5, 4], [3, 3, 4, 2, 1, 2], 6)
GROUP_OF_ONE_MASK = spans_mask([0, 0, 1, 2, 1, 0, 3, 2, 2, 4], [2, 3, 2, 1, 3, 2, 1, 3, 2, 1], 5)

MASK_KEYS = ("group_ids", "traj_ids", "rewards")
EPISODE_KEYS = ("group_ids", "traj_ids", "rewards")
STEP_KEYS = ("group_ids", "traj_ids", "rewards", "anchors")
TASK = {"group_ids": "task_ids"}


def fixed_bug_cases(name: str) -> list[Case]:
    """The named fixed cases of bug-hunt exercise ``name`` (one of ``BUG_EXERCISES``)."""
    if name == "outcome_advantages":
        return [Case("four rollouts of one task, each under its own uuid", _with(FOUR_UUIDS, EPISODE_KEYS, TASK)),
                Case("interleaved rollouts of different lengths", _with(INTERLEAVED, EPISODE_KEYS, TASK)),
                Case("two tasks", _with(SAME_ANCHOR_TWO_GROUPS, EPISODE_KEYS, TASK)),
                Case("a task with one rollout", _with(GROUP_OF_ONE, EPISODE_KEYS, TASK)),
                Case("a task whose returns are all equal", _with(ALL_EQUAL_RETURNS, EPISODE_KEYS, TASK)),
                Case("eps = 0.5 given", _with(FOUR_UUIDS, EPISODE_KEYS, TASK, eps=0.5))]
    if name == "step_token_advantages":
        return [Case("three turns, each reply at its own token positions",
                     _with(THREE_TURNS, MASK_KEYS, response_mask=THREE_TURNS_MASK)),
                Case("a task with one rollout, replies of different lengths",
                     _with(GROUP_OF_ONE, MASK_KEYS, response_mask=GROUP_OF_ONE_MASK)),
                Case("every reply at the same positions", _with(THREE_TURNS, MASK_KEYS,
                                                                response_mask=spans_mask([1] * 6, [3] * 6, 5)))]
    if name in ("multi_turn_gigpo", "stepwise_gigpo"):
        own = ([Case("one state reached at different turns", _with(DOOR_AT_DIFFERENT_TURNS, STEP_KEYS, gamma=0.95))]
               if name == "multi_turn_gigpo" else
               [Case("every rollout wins, in 2, 3 and 5 steps", _with(ALL_WIN_SPARSE, STEP_KEYS, gamma=0.95)),
                Case("every rollout wins, gamma 1", _with(ALL_WIN_SPARSE, STEP_KEYS, gamma=1.0))])
        return [*own,
                Case("interleaved rollouts, reward at the end", _with(_sparse(INTERLEAVED), STEP_KEYS, gamma=0.95)),
                Case("a task with one rollout and a state seen once", _with(GROUP_OF_ONE, STEP_KEYS, gamma=0.9)),
                Case("a reward every step (-0.1) and at the end", _with(STEP_PENALTY, STEP_KEYS, gamma=0.95)),
                Case("the same anchor in two tasks, gamma 0", _with(SAME_ANCHOR_TWO_GROUPS, STEP_KEYS, gamma=0.0)),
                Case("eps = 0.5 given", _with(_sparse(INTERLEAVED), STEP_KEYS, gamma=0.95, eps=0.5))]
    if name == "env_layout":
        return [Case("3 tasks x 2 rollouts", {"task_seeds": [11, 22, 33], "group_size": 2}),
                Case("2 tasks x 4 rollouts", {"task_seeds": [5, 9], "group_size": 4}),
                Case("one task", {"task_seeds": [4], "group_size": 3}),
                Case("one rollout per task", {"task_seeds": [1, 2, 3, 4], "group_size": 1}),
                Case("a task drawn twice", {"task_seeds": [7, 7, 3], "group_size": 2})]
    raise KeyError(name)


def random_bug_cases(name: str, count: int, seed: int = 0) -> list[Case]:
    """``count`` random batches for bug-hunt exercise ``name``, batch ``i`` drawn from
    ``default_rng([seed, i, RANDOM_KEYS[name]])``."""
    out = []
    for i in range(count):
        rng = np.random.default_rng([seed, i, RANDOM_KEYS[name]])
        label = f"random batch {i + 1}"
        if name == "env_layout":
            seeds = [int(s) for s in rng.integers(0, 50, size=int(rng.integers(1, 6)))]
            out.append(Case(label, {"task_seeds": seeds, "group_size": int(rng.integers(1, 6))}))
            continue
        batch = random_batch(rng)
        if name == "outcome_advantages":
            out.append(Case(label, _with(batch, EPISODE_KEYS, TASK)))
        elif name == "step_token_advantages":
            rows, tokens = len(batch["traj_ids"]), int(rng.integers(2, 8))
            starts = rng.integers(0, tokens, size=rows)
            lengths = [int(rng.integers(1, tokens - s + 1)) for s in starts]
            out.append(Case(label, _with(_sparse(batch), MASK_KEYS,
                                         response_mask=spans_mask(starts.tolist(), lengths, tokens))))
        else:
            gamma = float(rng.choice([0.0, 0.5, 0.9, 0.95, 1.0]))
            source = _sparse(batch) if name == "stepwise_gigpo" and rng.random() < 0.7 else batch
            out.append(Case(f"{label}, gamma {gamma:g}", _with(source, STEP_KEYS, gamma=gamma)))
    return out
