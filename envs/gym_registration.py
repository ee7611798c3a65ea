"""Expose the gigpo environments through gymnasium: ``gymnasium.make("gigpo/Sokoban-v0")``.

>>> from envs.gym_registration import register_gymnasium
>>> register_gymnasium()
>>> import gymnasium
>>> env = gymnasium.make("gigpo/Sokoban-v0", size=6)
>>> obs, info = env.reset(seed=0)

Observations and actions are free text, so both spaces are :class:`TextSpace` (any ``str``); gymnasium's own
``spaces.Text`` only admits a fixed character set, which the grids (``√``) and game prose do not fit.
The envs enforce their own step limits, so no ``TimeLimit`` is added.
"""
from __future__ import annotations

from typing import Any

import gymnasium

from envs.registry import make, names

NAMESPACE = "gigpo"


class TextSpace(gymnasium.spaces.Space):
    """Any Python string. ``sample`` is not meaningful for free text, so it raises."""

    def __init__(self):
        super().__init__(shape=None, dtype=None)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str)

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        raise NotImplementedError("TextSpace cannot sample free text; use info['admissible_actions']")

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "TextSpace()"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, TextSpace)


class GymnasiumTextEnv(gymnasium.Env):
    """A gigpo env (``envs.base.TextEnv``) as a ``gymnasium.Env``; the gigpo ``info`` keys pass through unchanged."""

    metadata = {"render_modes": []}

    def __init__(self, name: str, **options: Any):
        self.name = name
        self.env = make(name, **options)
        self.observation_space = TextSpace()
        self.action_space = TextSpace()

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict[str, Any]]:
        if options:
            raise ValueError(f"{self.name}: reset options are not supported; pass them to gymnasium.make instead")
        super().reset(seed=seed)
        return self.env.reset(seed=seed)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return self.env.step(action)

    def close(self) -> None:
        close = getattr(self.env, "close", None)
        if close is not None:
            close()


def gymnasium_id(name: str) -> str:
    """``"sokoban"`` -> ``"gigpo/Sokoban-v0"``; ``"textworld"`` -> ``"gigpo/TextWorld-v0"``."""
    special = {"textworld": "TextWorld"}
    title = special.get(name) or "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
    return f"{NAMESPACE}/{title}-v0"


def register_gymnasium() -> list[str]:
    """Register every name in ``envs.names()`` (built-ins and your own) with gymnasium; safe to call again.

    Returns the gymnasium ids. Env modules are imported only when ``gymnasium.make`` builds one.
    """
    ids = []
    for name in names():
        env_id = gymnasium_id(name)
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=GymnasiumTextEnv, kwargs={"name": name})
        ids.append(env_id)
    return ids
