"""Play G tasks x N rollouts in lock step: the batch shape GiGPO needs (N rollouts of one task form a group).

The runner owns G*N environment copies; the N copies of task g are reset with the same task seed, so they start in
the same state. Each call to :meth:`GroupRunner.step` takes one action text per *live* env (in the order of
``runner.live``) and returns what those envs answered; an env whose episode ended drops out of ``live``.
Every step is recorded as a :class:`StepRecord` in time order, so ``runner.records`` is directly the flat
one-row-per-step batch that ``gigpo.gigpo_advantages`` consumes (trajectories interleaved, each in time order).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

from envs.base import action_verdict, check_info
from envs.registry import make


@dataclass(frozen=True)
class StepRecord:
    """One environment step of one rollout: the state the agent saw and what it did there."""

    group_id: int  # which task (0..G-1)
    traj_id: int  # which rollout (0..G*N-1)
    step: int  # time index inside the rollout
    observation: str  # the text the agent read before acting
    anchor: Hashable  # canonical state key before acting (info["anchor"])
    admissible_actions: tuple[str, ...]
    action: str
    valid: bool  # did the env accept the action? (envs.base.action_verdict: its own verdict, else admissibility)
    reward: float  # the env's reward for this step
    terminated: bool
    truncated: bool
    won: bool  # info["won"] after the step


class GroupRunner:
    """Lock-step rollouts of G tasks x N copies.

    Args:
        env: an environment name for ``envs.make`` or a zero-argument factory returning a ``TextEnv``.
        group_size: N, rollouts per task (paper: 8).
        env_options: keyword options for ``envs.make`` when ``env`` is a name.
        max_steps: optional extra cap on steps per rollout (the env's own limit applies too).
    """

    def __init__(self, env: str | Callable[[], Any], group_size: int, env_options: dict | None = None,
                 max_steps: int | None = None):
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or None, got {max_steps}")
        if isinstance(env, str):
            name, options = env, dict(env_options or {})
            make(name, **options)  # fail now, with the registry's message, on an unknown name or bad option
            self._factory: Callable[[], Any] = lambda: make(name, **options)
        elif callable(env):
            if env_options:
                raise ValueError("env_options only apply when env is a name; bind them in your factory instead")
            self._factory = env
        else:
            raise ValueError(f"env must be an environment name or a factory, got {type(env).__name__}")
        self.group_size = group_size
        self.max_steps = max_steps
        self._envs: list[Any] = []
        self.task_seeds: list[int] = []
        self.obs: list[str] = []
        self.infos: list[dict[str, Any]] = []
        self.steps: list[int] = []
        self.done: list[bool] = []
        self.records: list[StepRecord] = []

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def reset(self, task_seeds: Sequence[int]) -> list[int]:
        """Start N rollouts of each task seed; returns the live env indices (all of them)."""
        task_seeds = [int(s) for s in task_seeds]
        if not task_seeds:
            raise ValueError("task_seeds must not be empty")
        n_envs = len(task_seeds) * self.group_size
        while len(self._envs) < n_envs:  # env objects are reused across resets; only grow the pool
            self._envs.append(self._factory())
        self.task_seeds = task_seeds
        self.obs, self.infos = [], []
        for i in range(n_envs):
            obs, info = self._envs[i].reset(seed=task_seeds[i // self.group_size])
            check_info(info, f"env {i} reset")
            self.obs.append(obs)
            self.infos.append(info)
        self.steps = [0] * n_envs
        self.done = [False] * n_envs
        self.records = []
        return self.live

    @property
    def num_envs(self) -> int:
        return len(self.obs)

    @property
    def live(self) -> list[int]:
        """Indices of the envs whose episode is still running, in ascending order."""
        return [i for i, d in enumerate(self.done) if not d]

    def group_of(self, i: int) -> int:
        return i // self.group_size

    def step(self, actions: Sequence[str]) -> tuple[list[str], list[float], list[bool], list[dict[str, Any]]]:
        """Apply one action per live env (aligned with ``self.live`` as it was before the call).

        Returns ``(observations, rewards, dones, infos)`` for those envs, in the same order.
        """
        live = self.live
        if not live:
            raise ValueError("step called with no live envs; call reset first")
        if len(actions) != len(live):
            raise ValueError(f"actions: expected one per live env ({len(live)}), got {len(actions)}")
        for i, action in zip(live, actions):  # check them all first, so a bad batch steps no env
            if not isinstance(action, str):
                raise ValueError(f"actions: env {i} got {type(action).__name__}, expected str")
        out_obs, out_rew, out_done, out_info = [], [], [], []
        for i, action in zip(live, actions):
            before_obs, before_info = self.obs[i], self.infos[i]
            admissible = tuple(before_info["admissible_actions"])
            obs, reward, terminated, truncated, info = self._envs[i].step(action)
            check_info(info, f"env {i} step")
            self.steps[i] += 1
            if self.max_steps is not None and self.steps[i] >= self.max_steps and not terminated:
                truncated = True
            done = bool(terminated or truncated)
            self.records.append(StepRecord(
                group_id=self.group_of(i), traj_id=i, step=self.steps[i] - 1, observation=before_obs,
                anchor=before_info["anchor"], admissible_actions=admissible, action=action,
                valid=action_verdict(action, admissible, info), reward=float(reward), terminated=bool(terminated),
                truncated=bool(truncated), won=bool(info["won"]),
            ))
            self.obs[i], self.infos[i], self.done[i] = obs, info, done
            out_obs.append(obs)
            out_rew.append(float(reward))
            out_done.append(done)
            out_info.append(info)
        return out_obs, out_rew, out_done, out_info

    def run(self, policy: Callable[[list[int], list[str], list[dict[str, Any]]], Sequence[str]]) -> list[StepRecord]:
        """Play every live env to the end with ``policy(live_indices, observations, infos) -> actions``."""
        while self.live:
            live = self.live
            self.step(list(policy(live, [self.obs[i] for i in live], [self.infos[i] for i in live])))
        return self.records

    # -- results ---------------------------------------------------------------------------------------------------
    def batch(self) -> dict[str, list]:
        """The recorded steps as flat columns (the argument lists of ``gigpo.gigpo_advantages``)."""
        r = self.records
        return {
            "group_ids": [x.group_id for x in r],
            "traj_ids": [x.traj_id for x in r],
            "rewards": [x.reward for x in r],
            "anchors": [x.anchor for x in r],
            "observations": [x.observation for x in r],
            "actions": [x.action for x in r],
            "valid": [x.valid for x in r],
        }

    def episode_stats(self) -> dict[str, float]:
        """Success rate, mean return and mean length over the rollouts of the last reset."""
        n = self.num_envs
        ret = [0.0] * n
        won = [False] * n
        for x in self.records:
            ret[x.traj_id] += x.reward
            won[x.traj_id] = won[x.traj_id] or x.won
        return {
            "success_rate": sum(won) / n,
            "mean_return": sum(ret) / n,
            "mean_length": sum(self.steps) / n,
        }
