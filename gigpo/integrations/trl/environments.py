"""The package's text environments as TRL environments (``GRPOTrainer(environment_factory=...)``, TRL >= 1.16).

TRL's contract: an environment is an object with ``reset(**row)``, whose returned text is appended to the prompt's
last user message, and public methods that the model calls as tools. :class:`TextEnvironment` exposes one tool,
``act(action)``, which plays one step of a gigpo env (``envs.make(name, **options)``) and returns the next
observation. ``get_reward()`` makes the environment TRL's reward source: the episode's summed env reward.

Beside TRL's contract it carries what :class:`gigpo.integrations.trl.GiGPOTrainer` reads between turns, as
properties (TRL turns public *methods* into tools, never properties):

- ``anchor``: ``info["anchor"]`` of the current state, the key GiGPO groups steps on (see ``envs.base``);
- ``reward``: the env reward summed so far this episode; the trainer differences it between turns into per-turn
  rewards.
"""
from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any

import envs
from envs.base import check_info

GAME_OVER = "The episode is over; no further action is accepted."
INSTRUCTION = "Solve the task. Call the act tool with one admissible action per turn, until the task is solved."


def observation_text(task: str, obs: str, admissible: list[str]) -> str:
    """What the model reads at a step: the goal, the observation and the actions it may pass to ``act``."""
    return f"Task: {task}\nObservation: {obs}\nAdmissible actions: {', '.join(admissible)}"


class TextEnvironment:
    """One gigpo env behind TRL's environment interface; TRL builds one instance per rollout and reuses it.

    Args:
        name: a registered env name (``envs.names()``): household, shop, sokoban, textworld or your own.
        options: passed to ``envs.make(name, **options)`` (e.g. ``max_steps``, ``num_receptacles``).
    """

    def __init__(self, name: str, **options: Any):
        self._env = envs.make(name, **options)
        self._name = name
        self._info: dict[str, Any] | None = None
        self._return = 0.0
        self._done = True

    def reset(self, seed: int | None = None, **row: Any) -> str:
        """Start the task of the dataset row's ``seed`` (same seed, same task: a GRPO group shares one task)."""
        if seed is None:
            raise ValueError(f"{self._name}: the dataset row needs a 'seed' column naming the task, got {sorted(row)}")
        obs, info = self._env.reset(seed=int(seed))
        check_info(info, f"{self._name}.reset")
        self._info, self._return, self._done = info, 0.0, False
        return "\n" + observation_text(info["task"], obs, list(info["admissible_actions"]))

    def act(self, action: str) -> str:
        """Take one action in the environment and return what happens next.

        Args:
            action: one of the admissible actions, written exactly as listed.
        """
        if self._info is None:
            raise RuntimeError(f"{self._name}: act() before reset()")
        if self._done:
            raise ValueError(GAME_OVER)
        obs, reward, terminated, truncated, info = self._env.step(str(action))
        self._info, self._return = info, self._return + float(reward)
        self._done = bool(terminated or truncated)
        text = observation_text(info["task"], obs, list(info["admissible_actions"]))
        return f"{text}\n{GAME_OVER}" if self._done else text

    def get_reward(self) -> float:
        """The episode's return: every env reward so far (TRL calls this once per finished rollout)."""
        return self._return

    @property
    def anchor(self) -> Hashable:
        """The current state's anchor key (``info["anchor"]``): equal iff two states of one task are equal."""
        if self._info is None:
            raise RuntimeError(f"{self._name}: anchor read before reset()")
        return self._info["anchor"]

    @property
    def reward(self) -> float:
        """The env reward summed over this episode's steps so far."""
        return self._return

    @property
    def won(self) -> bool:
        """Whether the task is solved."""
        return bool(self._info and self._info["won"])


def environment_factory(name: str, **options: Any):
    """A zero-argument factory for TRL's ``environment_factory``: ``environment_factory("household", max_steps=10)``.

    The env is built once here to fail early on a bad name or option, then once per rollout by TRL.
    """
    TextEnvironment(name, **options)
    return functools.partial(TextEnvironment, name, **options)


def task_dataset(num_tasks: int, *, first_seed: int = 0, instruction: str | None = None):
    """A ``datasets.Dataset`` of ``num_tasks`` rows, each a prompt and the ``seed`` of its task.

    ``reset`` appends the task's first observation to the prompt, so the prompt itself only says how to play.
    """
    from datasets import Dataset

    if not isinstance(num_tasks, int) or num_tasks < 1:
        raise ValueError(f"num_tasks must be a positive int, got {num_tasks!r}")
    text = INSTRUCTION if instruction is None else instruction
    return Dataset.from_dict({"prompt": [[{"role": "user", "content": text}] for _ in range(num_tasks)],
                              "seed": list(range(first_seed, first_seed + num_tasks))})
