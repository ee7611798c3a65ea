"""Name -> factory registry: ``envs.make("household")``, and ``envs.register`` for your own environment."""
from __future__ import annotations

import importlib
from typing import Any, Callable

# Built-ins are imported lazily so that e.g. the TextWorld engine is only needed when asked for.
_BUILTIN: dict[str, str] = {
    "household": "envs.household:HouseholdEnv",
    "shop": "envs.shop:ShopEnv",
    "sokoban": "envs.sokoban:SokobanEnv",
    "textworld": "envs.textworld_env:TextWorldEnv",
}
_USER: dict[str, Callable[..., Any]] = {}


def names() -> list[str]:
    """All registered environment names, built-ins first."""
    return list(_BUILTIN) + [n for n in _USER if n not in _BUILTIN]


def register(name: str, factory: Callable[..., Any], *, overwrite: bool = False) -> None:
    """Register your own environment: ``factory(**options)`` must return an object following ``envs.base.TextEnv``.

    After ``register("maze", MazeEnv)``, ``make("maze", size=5)``, the group runner, the trainer
    (``TrainConfig(env="maze")``) and the notebooks all accept it.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("register: name must be a non-empty string")
    if not callable(factory):
        raise ValueError(f"register: factory for {name!r} must be callable")
    if (name in _BUILTIN or name in _USER) and not overwrite:
        raise ValueError(f"register: an environment named {name!r} exists; pass overwrite=True to replace it")
    _USER[name] = factory


def make(name: str, **options: Any):
    """Build the environment ``name`` with ``options``; unknown names raise ``ValueError`` listing the known ones."""
    if name in _USER:
        return _USER[name](**options)
    if name not in _BUILTIN:
        raise ValueError(f"unknown env name {name!r}; known: {', '.join(names())}")
    module, cls = _BUILTIN[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)
