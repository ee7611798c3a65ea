"""The inputs the course checks feed a student's function: named fixed cases and seeded random batches.

A case holds only inputs; the expected outputs come from the library (``gigpo.course.expected``). The fixed cases
are the situations students get wrong, each named so a failing check can say which one it was: trajectories that
interleave in the batch (the order ``envs.GroupRunner`` records them in), a task group of one trajectory, a step
group of one row, the same anchor in two task groups, string and integer anchors, gamma 0 and 1, a group whose
returns are all equal (std 0), per-step penalties (the episode return is a sum, not the last reward), and, for the
loss, rows of different token lengths and ratios outside the clip range on both sides of 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Case:
    """One call of a student's function: a name a student can read, and its keyword arguments."""

    label: str
    inputs: dict[str, Any] = field(default_factory=dict)


def batch_columns(rows: list[tuple[Any, Any, float, Any]]) -> dict[str, list]:
    """Columns from ``(group, trajectory, reward, anchor)`` rows written in batch order."""
    return {"group_ids": [r[0] for r in rows], "traj_ids": [r[1] for r in rows],
            "rewards": [float(r[2]) for r in rows], "anchors": [r[3] for r in rows]}


# Three rollouts of one household task, recorded in lock step as GroupRunner does: a0 wins in 3 steps, a1 wastes a
# move (it goes back to "hall") and wins in 4, a2 fails after 2 steps. Rows of a rollout are not adjacent.
INTERLEAVED = batch_columns([
    ("task-a", "a0", 0.0, "hall"), ("task-a", "a1", 0.0, "hall"), ("task-a", "a2", 0.0, "hall"),
    ("task-a", "a0", 0.0, "kitchen"), ("task-a", "a1", 0.0, "bath"), ("task-a", "a2", 0.0, "bath"),
    ("task-a", "a0", 10.0, "fridge"), ("task-a", "a1", 0.0, "hall"),
    ("task-a", "a1", 0.0, "kitchen"),
    ("task-a", "a1", 10.0, "fridge"),
])

# Two tasks whose states carry the same names: "start" of task-a is not "start" of task-b.
SAME_ANCHOR_TWO_GROUPS = batch_columns([
    ("task-a", "a0", 0.0, "start"), ("task-a", "a1", 0.0, "start"), ("task-b", "b0", 0.0, "start"),
    ("task-b", "b1", 0.0, "start"),
    ("task-a", "a0", 1.0, "goal"), ("task-a", "a1", 0.0, "pit"), ("task-b", "b0", 0.0, "pit"),
    ("task-b", "b1", 1.0, "goal"), ("task-b", "b1", 1.0, "goal"),
])

# task-c has a single rollout (nothing to compare its return with), and it visits "loop" twice, so that step
# group still has two rows; task-d's "corner" is visited once in the whole group (a step group of one row).
GROUP_OF_ONE = batch_columns([
    ("task-c", "c0", 0.0, "start"), ("task-d", "d0", 0.0, "start"), ("task-d", "d1", 0.0, "start"),
    ("task-c", "c0", 0.0, "loop"), ("task-d", "d0", 0.0, "corner"), ("task-d", "d1", 0.0, "door"),
    ("task-c", "c0", 0.0, "loop"), ("task-d", "d0", 5.0, "door"), ("task-d", "d1", 5.0, "goal"),
    ("task-c", "c0", 3.0, "goal"),
])

# Sokoban-like rewards: -0.1 every step, +10 on the last step of a win; integer state keys as anchors.
STEP_PENALTY = batch_columns([
    (7, 70, -0.1, 101), (7, 71, -0.1, 101), (7, 72, -0.1, 101), (7, 73, -0.1, 101),
    (7, 70, -0.1, 102), (7, 71, -0.1, 103), (7, 72, -0.1, 102), (7, 73, 9.9, 104),
    (7, 70, 9.9, 104), (7, 71, -0.1, 102), (7, 72, -0.1, 101),
    (7, 71, -0.1, 101), (7, 72, -0.1, 102),
])

# Every rollout of task-e fails the same way: all episode returns are equal (std 0), A_E must be 0, not NaN.
ALL_EQUAL_RETURNS = batch_columns([
    ("task-e", "e0", 0.0, "s"), ("task-e", "e1", 0.0, "s"), ("task-e", "e2", 0.0, "s"),
    ("task-e", "e0", 0.0, "t"), ("task-e", "e1", 0.0, "u"), ("task-e", "e2", 0.0, "t"),
    ("task-f", "f0", 2.0, "s"), ("task-f", "f1", 1.0, "s"),
])


def _with(batch: dict[str, list], keys: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    return {**{k: batch[k] for k in keys}, **extra}


# the third entropy word of each exercise's random batches: fixed numbers, so a batch never changes when an exercise
# is added elsewhere
RANDOM_KEYS = {"discounted_returns": 0, "episode_advantages": 1, "step_group_labels": 2, "step_advantages": 3,
               "ppo_clip_loss": 4}
RETURN_KEYS = ("traj_ids", "rewards")
EPISODE_KEYS = ("group_ids", "traj_ids", "rewards")
LABEL_KEYS = ("group_ids", "anchors")
STEP_KEYS = ("group_ids", "traj_ids", "rewards", "anchors")


def fixed_cases(name: str) -> list[Case]:
    """The named fixed cases of exercise ``name`` (one of ``gigpo.course.EXERCISES``)."""
    if name == "discounted_returns":
        return [Case("interleaved trajectories, gamma 0.95", _with(INTERLEAVED, RETURN_KEYS, gamma=0.95)),
                Case("gamma 0 (a step's return is its own reward)", _with(STEP_PENALTY, RETURN_KEYS, gamma=0.0)),
                Case("gamma 1 (undiscounted)", _with(STEP_PENALTY, RETURN_KEYS, gamma=1.0)),
                Case("a reward every step, gamma 0.9", _with(STEP_PENALTY, RETURN_KEYS, gamma=0.9)),
                Case("two task groups, string ids, gamma 0.5", _with(SAME_ANCHOR_TWO_GROUPS, RETURN_KEYS, gamma=0.5))]
    if name == "episode_advantages":
        return [Case("interleaved trajectories of different lengths", _with(INTERLEAVED, EPISODE_KEYS)),
                Case("two task groups", _with(SAME_ANCHOR_TWO_GROUPS, EPISODE_KEYS)),
                Case("a task group of one trajectory", _with(GROUP_OF_ONE, EPISODE_KEYS)),
                Case("a reward every step (the return is the sum)", _with(STEP_PENALTY, EPISODE_KEYS)),
                Case("a group whose returns are all equal", _with(ALL_EQUAL_RETURNS, EPISODE_KEYS)),
                Case("eps = 0.5 given", _with(SAME_ANCHOR_TWO_GROUPS, EPISODE_KEYS, eps=0.5))]
    if name == "step_group_labels":
        return [Case("interleaved trajectories, string anchors", _with(INTERLEAVED, LABEL_KEYS)),
                Case("the same anchor in two task groups", _with(SAME_ANCHOR_TWO_GROUPS, LABEL_KEYS)),
                Case("a step group of one row", _with(GROUP_OF_ONE, LABEL_KEYS)),
                Case("integer ids and anchors", _with(STEP_PENALTY, LABEL_KEYS)),
                Case("a revisited state among non-adjacent rows", _with(ALL_EQUAL_RETURNS, LABEL_KEYS))]
    if name == "step_advantages":
        return [Case("interleaved trajectories, gamma 0.95", _with(INTERLEAVED, STEP_KEYS, gamma=0.95)),
                Case("the same anchor in two task groups", _with(SAME_ANCHOR_TWO_GROUPS, STEP_KEYS, gamma=0.95)),
                Case("a task group of one trajectory and a step group of one row",
                     _with(GROUP_OF_ONE, STEP_KEYS, gamma=0.9)),
                Case("gamma 0", _with(STEP_PENALTY, STEP_KEYS, gamma=0.0)),
                Case("gamma 1", _with(STEP_PENALTY, STEP_KEYS, gamma=1.0)),
                Case("a group whose returns are all equal", _with(ALL_EQUAL_RETURNS, STEP_KEYS, gamma=0.95)),
                Case("eps = 0.5 given", _with(INTERLEAVED, STEP_KEYS, gamma=0.95, eps=0.5))]
    if name == "ppo_clip_loss":
        return _loss_cases()
    raise KeyError(name)


def _loss_inputs(logp_new, logp_old, advantages, mask, **extra: Any) -> dict[str, Any]:
    return {"logp_new": torch.tensor(logp_new, dtype=torch.float64),
            "logp_old": torch.tensor(logp_old, dtype=torch.float64),
            "advantages": torch.tensor(advantages, dtype=torch.float64),
            "mask": torch.tensor(mask, dtype=torch.float64), **extra}


def _loss_cases() -> list[Case]:
    # ratios exp(new - old) of about 1.05 and 0.95: inside the clip range, nothing is clipped
    inside = _loss_inputs([[-1.00, -2.00], [-0.50, -1.50]], [[-1.05, -1.95], [-0.45, -1.55]], [1.0, -2.0],
                          [[1, 1], [1, 1]])
    # ratios 1.65 and 0.61 on rows with advantages of both signs: each side of the clip binds somewhere
    outside = _loss_inputs([[-0.5, -2.5, -1.0], [-0.5, -2.5, -1.0], [-1.0, -1.0, -1.0]],
                           [[-1.0, -2.0, -1.0], [-1.0, -2.0, -1.0], [-1.5, -0.5, -1.1]],
                           [2.0, -1.0, -0.5], [[1, 1, 1], [1, 1, 1], [1, 1, 1]])
    # replies of 1, 4 and 2 tokens, right-padded: the mean is over the 7 real tokens, not per reply
    ragged = _loss_inputs([[-0.2, 0.0, 0.0, 0.0], [-1.0, -0.7, -2.0, -0.1], [-0.3, -0.9, 0.0, 0.0]],
                          [[-0.4, 0.0, 0.0, 0.0], [-1.1, -0.6, -1.5, -0.1], [-0.3, -1.2, 0.0, 0.0]],
                          [3.0, -1.0, 0.5], [[1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0]])
    # padding positions hold garbage log-probs (as a batch of real replies does): they must not count at all
    garbage = _loss_inputs([[-0.5, 7.0, 7.0], [-1.0, -1.2, -0.8]], [[-0.6, -9.0, 3.0], [-0.9, -1.0, -0.9]],
                           [1.5, -0.5], [[1, 0, 0], [1, 1, 1]])
    return [Case("ratios inside the clip range", inside),
            Case("ratios outside the clip range, advantages of both signs", outside),
            Case("rows of different token lengths", ragged),
            Case("padding tokens with large log-probs", garbage),
            Case("clip = 0.1 given", {**outside, "clip": 0.1})]


def random_cases(name: str, count: int, seed: int = 0) -> list[Case]:
    """``count`` random batches for exercise ``name``; batch ``i`` is drawn from ``default_rng([seed, i, k])`` with
    ``k`` the exercise's key (``RANDOM_KEYS``), so the same call gives the same batches."""
    key = RANDOM_KEYS[name]
    out = []
    for i in range(count):
        rng = np.random.default_rng([seed, i, key])
        if name == "ppo_clip_loss":
            out.append(Case(f"random batch {i + 1}", _random_loss(rng)))
            continue
        batch = random_batch(rng)
        gamma = float(rng.choice([0.0, 0.5, 0.9, 0.95, 1.0]))
        keys = {"discounted_returns": RETURN_KEYS, "episode_advantages": EPISODE_KEYS,
                "step_group_labels": LABEL_KEYS, "step_advantages": STEP_KEYS}[name]
        extra = {"gamma": gamma} if name in ("discounted_returns", "step_advantages") else {}
        out.append(Case(f"random batch {i + 1}" + (f", gamma {gamma:g}" if extra else ""), _with(batch, keys, **extra)))
    return out


def random_batch(rng: np.random.Generator) -> dict[str, list]:
    """1-3 task groups of 1-4 rollouts, 1-6 steps each, anchors from a few names shared by every group, rows
    merged in a random order that keeps each rollout's steps in time order."""
    queues = []
    for g in range(int(rng.integers(1, 4))):
        for t in range(int(rng.integers(1, 5))):
            length = int(rng.integers(1, 7))
            won = rng.random() < 0.5
            rewards = np.where(rng.random(length) < 0.3, -0.1, 0.0)
            rewards[-1] += 10.0 if won else float(np.round(rng.normal(), 2))
            anchors = [f"s{int(a)}" for a in rng.integers(0, 4, size=length)]
            queues.append([(f"g{g}", f"g{g}-t{t}", float(r), a) for r, a in zip(rewards, anchors)])
    rows = []
    while any(queues):
        live = [q for q in queues if q]
        rows.append(live[int(rng.integers(len(live)))].pop(0))
    return batch_columns(rows)


def _random_loss(rng: np.random.Generator) -> dict[str, Any]:
    rows, tokens = int(rng.integers(1, 6)), int(rng.integers(1, 8))
    lengths = rng.integers(1, tokens + 1, size=rows)
    mask = (np.arange(tokens)[None, :] < lengths[:, None]).astype(np.float64)
    old = -rng.exponential(1.0, size=(rows, tokens))
    new = old + rng.normal(0.0, 0.3, size=(rows, tokens))
    inputs = _loss_inputs(new.tolist(), old.tolist(), rng.normal(0.0, 1.0, size=rows).tolist(), mask.tolist())
    if rng.random() < 0.3:
        inputs["clip"] = float(rng.choice([0.1, 0.3]))
    return inputs
