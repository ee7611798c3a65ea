"""Seeded draws and one batch of G x N rollouts of the tabular policy through ``envs.GroupRunner``.

Determinism: every random draw comes from ``numpy.random.default_rng([seed, purpose, iteration, group])``, a
Generator seeded by the tuple, never from global state. So a run is a function of its seed alone, and two
estimators run with the same seed see the same task draws and the same uniforms (paired comparisons).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import envs
from gigpo.lab.policy import TabularPolicy

# purposes of random draws (part of every Generator's seed tuple)
TASKS, ACTIONS, CALIBRATION = 1, 2, 3
_BLOCK = 64  # uniforms drawn per rollout at a time (episodes longer than this draw another block)


def generator(seed: int, purpose: int, iteration: int = 0, group: int = 0) -> np.random.Generator:
    """The Generator of one (seed, purpose, iteration, task group)."""
    return np.random.default_rng([int(seed), int(purpose), int(iteration), int(group)])


def draw_tasks(seed: int, iteration: int, num_groups: int, task_pool: int, gen_batch: int = 0) -> list[int]:
    """Task seeds of one iteration: ``num_groups`` distinct pool tasks (with replacement only if G > pool);
    ``gen_batch`` > 0: the draw of a refill under dynamic sampling (batch 0 is the iteration's own draw)."""
    rng = generator(seed, TASKS, iteration, gen_batch)
    return [int(t) for t in rng.choice(task_pool, size=num_groups, replace=num_groups > task_pool)]


@dataclass
class LabBatch:
    """One iteration's rollouts: one entry per env step, in ``runner.records`` order."""

    group_ids: np.ndarray  # task group (0..G-1)
    traj_ids: np.ndarray  # rollout (0..G*N-1)
    rewards: np.ndarray
    state_ids: np.ndarray  # the policy's state index of the row ((task, anchor) pairs)
    action_ids: np.ndarray  # position of the chosen action in the state's action list
    expert_ids: np.ndarray  # position of the expert action, -1 where the env gave none
    observations: list[str]
    success: np.ndarray  # per rollout: did it win
    lengths: np.ndarray  # per rollout: steps taken

    @property
    def num_rows(self) -> int:
        return len(self.rewards)


class Uniforms:
    """U(0,1) per (rollout, step), drawn lazily in blocks from one Generator per task group; ``group_offset``: the
    global index of the first group (generation batch ``b`` of dynamic sampling holds groups ``b * G + g``)."""

    def __init__(self, seed: int, purpose: int, iteration: int, num_groups: int, group_size: int,
                 group_offset: int = 0):
        self._rngs = [generator(seed, purpose, iteration, group_offset + g) for g in range(num_groups)]
        self._n = group_size
        self._u = np.concatenate([r.random((group_size, _BLOCK)) for r in self._rngs])

    def at(self, envs_idx: np.ndarray, steps: np.ndarray) -> np.ndarray:
        if steps.max(initial=0) >= self._u.shape[1]:
            more = np.concatenate([r.random((self._n, _BLOCK)) for r in self._rngs])
            self._u = np.concatenate([self._u, more], axis=1)
            return self.at(envs_idx, steps)
        return self._u[envs_idx, steps]


def make_runner(env: str, group_size: int, env_options: dict[str, Any], max_steps: int | None) -> envs.GroupRunner:
    return envs.GroupRunner(env, group_size, env_options=env_options, max_steps=max_steps)


def play(runner: envs.GroupRunner, policy: TabularPolicy, task_seeds: list[int], uniforms: Uniforms) -> LabBatch:
    """Play G tasks x N rollouts to the end, sampling each action from ``policy`` with the given uniforms."""
    runner.reset(task_seeds)
    n = runner.group_size
    ids, acts = [], []
    while True:
        live = runner.live
        if not live:
            break
        keys = [(task_seeds[i // n], runner.infos[i]["anchor"]) for i in live]
        s = policy.state_ids(keys, [runner.infos[i] for i in live])
        live_arr = np.asarray(live)
        a = policy.sample(s, uniforms.at(live_arr, np.asarray([runner.steps[i] for i in live])))
        runner.step([policy.actions[si][ai] for si, ai in zip(s.tolist(), a.tolist())])
        ids.append(s)
        acts.append(a)
    state_ids = np.concatenate(ids)
    rec = runner.records
    traj = np.fromiter((r.traj_id for r in rec), dtype=np.int64, count=len(rec))
    success = np.zeros(runner.num_envs, dtype=bool)
    won = np.fromiter((r.won for r in rec), dtype=bool, count=len(rec))
    success[traj[won]] = True
    return LabBatch(
        group_ids=traj // n, traj_ids=traj,
        rewards=np.fromiter((r.reward for r in rec), dtype=np.float64, count=len(rec)),
        state_ids=state_ids, action_ids=np.concatenate(acts), expert_ids=policy.expert_index(state_ids),
        observations=[r.observation for r in rec], success=success,
        lengths=np.asarray(runner.steps, dtype=np.int64),
    )
