"""Estimators by name: the one table that ``TrainConfig.estimator``, the credit lab and the notebooks read.

Every estimator is called the same way, one row per environment step::

    fn(group_ids, traj_ids, rewards, anchors, **options) -> torch.Tensor   # advantage per row

``anchors`` is the environment state of each row (estimators that ignore it, GRPO and RLOO, accept and drop it).
``options`` are the estimator's own keyword-only parameters (gamma, norm, ...), discovered from its signature, so
a caller can pass a config's settings with :func:`applicable_options` and the rest raise instead of being ignored.

Add your own with :func:`register_estimator`::

    from gigpo import register_estimator
    register_estimator("my_credit", my_fn)                 # fn(group_ids, traj_ids, rewards, anchors, *, ...)
    TrainConfig(estimator="my_credit")                      # now valid everywhere
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gigpo.estimators.gigpo import advantage_details, gigpo_advantages
from gigpo.estimators.graphgpo import graphgpo_advantages, graphgpo_details
from gigpo.estimators.grouping import Keys
from gigpo.estimators.grpo import grpo_advantages
from gigpo.estimators.hgpo import hgpo_advantages, hgpo_details
from gigpo.estimators.rloo import rloo_advantages

AdvantageFn = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class Estimator:
    """A registered estimator: its advantage function, optional detailed form, and the options it accepts."""

    name: str
    fn: AdvantageFn
    details: Callable[..., Any] | None
    options: tuple[str, ...]
    description: str


_REGISTRY: dict[str, Estimator] = {}


def _keyword_options(fn: Callable) -> tuple[str, ...]:
    params = inspect.signature(fn).parameters.values()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def register_estimator(name: str, fn: AdvantageFn, *, details: Callable[..., Any] | None = None,
                       description: str = "", overwrite: bool = False) -> Estimator:
    """Add ``fn(group_ids, traj_ids, rewards, anchors, *, options...)`` under ``name``.

    ``details`` (same call) may return an object with at least ``advantage`` and, for the lab's diagnostics,
    ``episode_adv`` and ``step_adv``. Its keyword-only parameters become the options callers may pass.
    Re-registering a name raises unless ``overwrite=True``.
    """
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ValueError(f"estimator name must be a non-empty string without surrounding spaces, got {name!r}")
    if not callable(fn):
        raise ValueError(f"estimator {name!r}: fn must be callable, got {type(fn).__name__}")
    positional = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    if len(positional) < 4 and not any(p.kind is p.VAR_POSITIONAL for p in positional):
        raise ValueError(f"estimator {name!r}: fn must take (group_ids, traj_ids, rewards, anchors, *, options...)")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"estimator {name!r} is already registered; pass overwrite=True to replace it")
    doc = description or (inspect.getdoc(fn) or "").split("\n")[0]
    entry = Estimator(name, fn, details, _keyword_options(fn), doc)
    _REGISTRY[name] = entry
    return entry


def estimator_names() -> list[str]:
    """Registered estimator names, built-ins first."""
    return list(_REGISTRY)


def get_estimator(name: str) -> Estimator:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; registered: {', '.join(_REGISTRY)}") from None


def applicable_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``options`` that estimator ``name`` accepts (a config carries settings for all of them)."""
    accepted = get_estimator(name).options
    return {k: v for k, v in options.items() if k in accepted}


def _check_options(entry: Estimator, options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - set(entry.options))
    if unknown:
        raise ValueError(f"estimator {entry.name!r} does not take option(s) {unknown}; it takes {list(entry.options)}")


def compute_advantages(name: str, group_ids: Keys, traj_ids: Keys, rewards, anchors=None,
                       **options: Any) -> torch.Tensor:
    """Advantage per row from the estimator registered as ``name``; unknown options raise ``ValueError``."""
    entry = get_estimator(name)
    _check_options(entry, options)
    return entry.fn(group_ids, traj_ids, rewards, anchors, **options)


def compute_details(name: str, group_ids: Keys, traj_ids: Keys, rewards, anchors=None, **options: Any):
    """The estimator's detailed form (all intermediate quantities); raises if it registered none."""
    entry = get_estimator(name)
    _check_options(entry, options)
    if entry.details is None:
        raise ValueError(f"estimator {name!r} registered no detailed form")
    return entry.details(group_ids, traj_ids, rewards, anchors, **options)


def advantage_split(name: str, group_ids: Keys, traj_ids: Keys, rewards, anchors=None, **options: Any
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(A, A_E, A_S)`` per row of estimator ``name``: its episode and step parts where its detailed form splits
    the advantage (GiGPO: Eq. 3 and Eq. 7), else ``A_E = A`` and A_S None (GRPO, RLOO: episode-level only)."""
    if get_estimator(name).details is None:
        adv = compute_advantages(name, group_ids, traj_ids, rewards, anchors, **options)
        return adv, adv, None
    d = compute_details(name, group_ids, traj_ids, rewards, anchors, **options)
    episode, step = getattr(d, "episode_adv", None), getattr(d, "step_adv", None)
    return d.advantage, (d.advantage if episode is None else episode), step


# --- built-ins: adapters give GRPO and RLOO the common signature -------------------------------------------------
def _grpo(group_ids: Keys, traj_ids: Keys, rewards, anchors=None, *, norm: str = "std", eps: float = 1e-6,
          episode_stats: str = "trajectory") -> torch.Tensor:
    """GRPO: the episode-level advantage alone (paper Eq. 3); anchors are ignored."""
    return grpo_advantages(group_ids, traj_ids, rewards, norm=norm, eps=eps, episode_stats=episode_stats)


def _rloo(group_ids: Keys, traj_ids: Keys, rewards, anchors=None) -> torch.Tensor:
    """RLOO: return minus the leave-one-out mean of the group; anchors are ignored."""
    return rloo_advantages(group_ids, traj_ids, rewards)


register_estimator("gigpo", gigpo_advantages, details=advantage_details,
                   description="GiGPO: episode advantage plus anchor-state step advantage (Eq. 8)")
register_estimator("grpo", _grpo, description="GRPO: episode-level advantage only (Eq. 3)")
register_estimator("rloo", _rloo, description="RLOO: leave-one-out baseline on the episode return")
register_estimator("hgpo", hgpo_advantages, details=hgpo_details,
                   description="HGPO: weighted step advantages over groups sharing the last k anchors (He et al. 2026)")
register_estimator("graphgpo", graphgpo_advantages, details=graphgpo_details,
                   description="GraphGPO: step credit from distances to success on the group's state graph")
