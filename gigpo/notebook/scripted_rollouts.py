"""Scripted rollouts for teaching: groups of N rollouts of one task, played by a noisy expert instead of an LLM.

The notebooks need batches where *some* rollouts of a task succeed and others fail, and where rollouts pass through
the same states, so that GiGPO's two levels of credit (paper Sec. 4.1-4.2) have something to show, in seconds and
without a model. The policy is epsilon-expert: with probability ``1 - epsilon`` a rollout takes the environment's
built-in expert action (``info["expert_action"]``, which solves the task from the current state), otherwise a random
admissible action. Rollouts start from the same state (same task seed), agree while they all follow the expert, and
drift apart after random actions, which is exactly how step groups form and shrink over time.

Everything is seeded: the same arguments give the same records.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from envs import GroupRunner, StepRecord
from gigpo.estimators.gigpo import AdvantageDetails, advantage_details

ANCHOR_SOURCES = ("state", "observation")


def epsilon_expert_policy(epsilon: float, seed: int):
    """A ``GroupRunner.run`` policy: expert action with probability ``1 - epsilon``, else a random admissible one.

    One ``random.Random(seed)`` drives every env; the runner visits live envs in ascending order, so the draws, and
    with them the rollouts, are reproducible.
    """
    if not (isinstance(epsilon, (int, float)) and 0.0 <= epsilon <= 1.0):
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
    rng = random.Random(seed)

    def policy(live: list[int], observations: list[str], infos: list[dict[str, Any]]) -> list[str]:
        actions = []
        for info in infos:
            expert, admissible = info["expert_action"], list(info["admissible_actions"])
            # both draws happen every step, so one rollout's choice never shifts the random stream of the others
            explore = rng.random() < epsilon
            random_action = rng.choice(admissible) if admissible else None
            if random_action is not None and (explore or expert is None):
                actions.append(random_action)
            else:
                actions.append(expert if expert is not None else "look")
        return actions

    return policy


def collect_groups(env_name: str, task_seeds: Sequence[int], group_size: int = 8, epsilon: float = 0.3,
                   seed: int = 0, env_options: dict | None = None, max_steps: int | None = None) -> list[StepRecord]:
    """Play ``group_size`` epsilon-expert rollouts of each task seed; returns the runner's step records.

    Args:
        env_name: a name registered with ``envs`` ("household", "sokoban", ...).
        task_seeds: one task group per seed; the N rollouts of a seed start in the same state.
        group_size: N, rollouts per task (paper: 8).
        epsilon: probability of a random admissible action instead of the expert's, per step.
        seed: seed of the policy's random draws (the task is fixed by the task seed).
        env_options: keyword options for ``envs.make``, e.g. ``{"max_steps": 20}``.
        max_steps: optional extra cap on rollout length.

    Returns:
        ``StepRecord`` rows in time order with trajectories interleaved: the flat batch GiGPO consumes.
    """
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    runner = GroupRunner(env_name, group_size, env_options=env_options, max_steps=max_steps)
    runner.reset(list(task_seeds))
    return list(runner.run(epsilon_expert_policy(epsilon, seed)))


def collect_group(env_name: str, task_seed: int, group_size: int = 8, epsilon: float = 0.3, seed: int = 0,
                  env_options: dict | None = None, max_steps: int | None = None) -> list[StepRecord]:
    """One task group: ``group_size`` epsilon-expert rollouts of the task ``task_seed`` (see :func:`collect_groups`)."""
    return collect_groups(env_name, [task_seed], group_size, epsilon, seed, env_options, max_steps)


def record_anchors(records: Sequence[StepRecord], anchor: str = "state") -> list:
    """The anchor of each row: the env's canonical state key (``"state"``) or the observation text (``"observation"``,
    what the authors' code groups on)."""
    if anchor not in ANCHOR_SOURCES:
        raise ValueError(f"unknown anchor source {anchor!r}; expected one of {ANCHOR_SOURCES}")
    return [r.anchor if anchor == "state" else r.observation for r in records]


def records_details(records: Sequence[StepRecord], anchor: str = "state", **kwargs: Any) -> AdvantageDetails:
    """``gigpo.advantage_details`` on step records; ``kwargs`` go through (gamma, step_weight, norm, similarity, ...).

    Similarity grouping compares texts, so it needs ``anchor="observation"``.
    """
    if not records:
        raise ValueError("records is empty: nothing to compute advantages on")
    if kwargs.get("similarity") is not None and anchor != "observation":
        raise ValueError("similarity grouping compares texts: use anchor='observation' with it")
    return advantage_details([r.group_id for r in records], [r.traj_id for r in records],
                             [r.reward for r in records], record_anchors(records, anchor), **kwargs)


def outcomes(records: Sequence[StepRecord]) -> dict[int, dict[str, Any]]:
    """Per trajectory: whether it was won, its undiscounted return and its length (in order of trajectory id)."""
    out: dict[int, dict[str, Any]] = {}
    for r in records:
        o = out.setdefault(r.traj_id, {"won": False, "return": 0.0, "length": 0})
        o["won"] = o["won"] or r.won
        o["return"] += r.reward
        o["length"] += 1
    return dict(sorted(out.items()))


def anchor_disagreements(records: Sequence[StepRecord]) -> dict[str, list]:
    """Where the observation text and the state key disagree as anchors, within each task group.

    Returns ``{"merged": [(text, n_states, n_steps)], "split": [(state, n_texts, n_steps)]}``: texts that read the
    same in different states (text anchors merge them, e.g. "Nothing happens." or arriving at the same place with
    different things in hand), and states reached with different texts (text anchors split them, e.g. the
    message of the last action). Longest lists first.
    """
    states_of_text: dict[tuple, set] = {}
    texts_of_state: dict[tuple, set] = {}
    steps_of_text: dict[tuple, int] = {}
    steps_of_state: dict[tuple, int] = {}
    for r in records:
        tk, sk = (r.group_id, r.observation), (r.group_id, r.anchor)
        states_of_text.setdefault(tk, set()).add(r.anchor)
        texts_of_state.setdefault(sk, set()).add(r.observation)
        steps_of_text[tk] = steps_of_text.get(tk, 0) + 1
        steps_of_state[sk] = steps_of_state.get(sk, 0) + 1
    merged = [(k[1], len(v), steps_of_text[k]) for k, v in states_of_text.items() if len(v) > 1]
    split = [(k[1], len(v), steps_of_state[k]) for k, v in texts_of_state.items() if len(v) > 1]
    return {"merged": sorted(merged, key=lambda x: (-x[1], -x[2])),
            "split": sorted(split, key=lambda x: (-x[1], -x[2]))}
