"""This package's estimators in verl's advantage-estimator registry (verl >= 0.9), and the hook for per-step fields.

verl's generic trainer calls a registered estimator as ``fn(token_level_rewards=, response_mask=, config=, index=)``
(``index`` = the ``uid`` column, ``config`` = ``algorithm``); GiGPO also needs per-step fields that verl does not
pass. They are taken, in this order, from:

1. keyword arguments of the call: ``non_tensor_batch=`` and ``batch=`` (what verl passes to its GDPO estimator; a
   custom trainer can pass them to any estimator), or ``traj_index=``, ``anchor_obs=``, ``step_rewards=`` directly;
2. the step batch made current with ``with step_batch(data): ...`` around verl's ``compute_advantage(data, ...)``
   (:func:`hook_compute_advantage` does that on every call of verl's trainers).

Fields, verl-agent's names: ``non_tensor_batch['traj_uid']`` (rollout id), ``['anchor_obs']`` (anchor state),
``['rewards']`` (per-step env reward), ``['active_masks']``; ``batch['step_rewards']`` (discounted returns; if
absent they are computed from ``rewards`` with ``config.gamma``, as verl-agent's trainer does).

Registered names: ``gigpo`` (verl-agent's GiGPO, options from ``config.gigpo.{step_advantage_w, mode,
enable_similarity, similarity_thresh}`` with verl-agent's defaults) and ``gigpo.<name>`` for every estimator of
:mod:`gigpo.estimators.registry` (``gigpo.gigpo``, ``gigpo.grpo``, ``gigpo.rloo``, ...: this package's own
conventions, per-step ``rewards``, options from ``config.gigpo_options``; ``gamma`` defaults to ``config.gamma``).
verl itself is imported only inside :func:`register`.
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import torch

from gigpo.estimators.registry import compute_advantages, estimator_names, get_estimator
from gigpo.integrations.verl_dropin import anchor_codes, compute_gigpo_outcome_advantage, step_returns_from_fields

PACKAGE_PREFIX = "gigpo."
# verl-agent's ppo_trainer.yaml, algorithm.gigpo block (same as their function's defaults)
GIGPO_DEFAULTS = {"step_advantage_w": 1.0, "mode": "mean_norm", "enable_similarity": False, "similarity_thresh": 0.95}

# where verl 0.9's trainers look compute_advantage up (the v1 trainer imported it by name into its utils)
TRAINER_MODULES = ("verl.trainer.ppo.ray_trainer", "verl.trainer.ppo.v1.utils")

_CURRENT: ContextVar[Any] = ContextVar("gigpo_verl_step_batch", default=None)
_ADAPTERS: dict[str, Callable] = {}  # one function object per verl name, so register() can be called again


@contextmanager
def step_batch(data: Any) -> Iterator[Any]:
    """Make ``data`` (a verl ``DataProto``: ``.batch`` and ``.non_tensor_batch``) the step batch that estimators
    registered by :func:`register` read their per-step fields from, for the duration of the block."""
    if not hasattr(data, "non_tensor_batch"):
        raise ValueError("step_batch needs a DataProto-like object with .batch and .non_tensor_batch")
    token = _CURRENT.set(data)
    try:
        yield data
    finally:
        _CURRENT.reset(token)


def wrap_compute_advantage(fn: Callable) -> Callable:
    """``fn(data, ...)`` (verl's ``compute_advantage``) run inside ``step_batch(data)`` on every call.

    For verl's trainer: ``ray_trainer.compute_advantage = wrap_compute_advantage(ray_trainer.compute_advantage)``
    before ``fit()`` (the trainer looks the name up in its module at call time).
    """
    @functools.wraps(fn)
    def wrapped(data, *args, **kwargs):
        with step_batch(data):
            return fn(data, *args, **kwargs)

    wrapped.__gigpo_wrapped__ = True
    return wrapped


def hook_compute_advantage(modules: tuple[str, ...] = TRAINER_MODULES) -> list[str]:
    """Wrap ``compute_advantage`` in each of verl's trainer modules with :func:`wrap_compute_advantage`.

    verl 0.9 looks the function up in two module namespaces: the legacy ``ray_trainer`` and the v1 trainer's
    ``v1.utils`` (which imported it by name), so both are patched. Call it in the process that runs ``fit()``
    (e.g. at the top of your TaskRunner's ``run``); calling it again changes nothing. Returns the modules patched.
    """
    patched = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue  # an older or newer verl without this trainer
        fn = getattr(module, "compute_advantage", None)
        if fn is None:
            continue
        if not getattr(fn, "__gigpo_wrapped__", False):
            module.compute_advantage = wrap_compute_advantage(fn)
        patched.append(name)
    if not patched:
        raise ImportError(f"none of {list(modules)} could be imported with a compute_advantage: is verl >= 0.9 "
                          "installed?")
    return patched


def _get(config: Any, key: str, default: Any = None) -> Any:
    """``config[key]`` for a dict, an OmegaConf node or verl's ``AlgoConfig`` (a Mapping); ``default`` if absent."""
    if config is None:
        return default
    if isinstance(config, Mapping) or hasattr(config, "get"):
        value = config.get(key, default)
    else:
        value = getattr(config, key, default)
    return default if value is None else value


def _step_data(token_level_rewards: torch.Tensor, kwargs: dict) -> SimpleNamespace:
    """The per-step fields for this call (see the module docstring for where they come from), checked to belong to
    the batch being estimated."""
    rows = token_level_rewards.shape[0]
    nt = dict(kwargs.get("non_tensor_batch") or {})
    batch = kwargs.get("batch")
    source = "the non_tensor_batch argument"
    if not nt:
        current = _CURRENT.get()
        if current is not None:
            nt, batch, source = dict(current.non_tensor_batch), current.batch, "the batch set with step_batch()"
    for key, name in (("traj_uid", "traj_index"), ("anchor_obs", "anchor_obs")):
        if kwargs.get(name) is not None:
            nt[key] = kwargs[name]
    step_rewards = kwargs.get("step_rewards")
    # .keys(): verl's TensorDict refuses `key in td`
    if step_rewards is None and batch is not None and "step_rewards" in batch.keys():  # noqa: SIM118
        step_rewards = batch["step_rewards"]
    if "traj_uid" not in nt:
        raise ValueError("GiGPO needs per-step fields that verl does not pass: run verl's compute_advantage inside "
                         "`with gigpo.integrations.verl.step_batch(data):` (or call hook_compute_advantage() once), "
                         "or pass non_tensor_batch= with 'traj_uid', 'anchor_obs' and 'rewards'")
    if len(nt["traj_uid"]) != rows:
        raise ValueError(f"{source} has {len(nt['traj_uid'])} rows but token_level_rewards has {rows}: "
                         "the step batch is not the one being estimated")
    if batch is not None and "token_level_rewards" in batch.keys() and source.endswith("step_batch()"):  # noqa: SIM118
        current_rewards = batch["token_level_rewards"]
        if current_rewards is not token_level_rewards and not torch.equal(current_rewards, token_level_rewards):
            raise ValueError("the batch set with step_batch() holds other token_level_rewards than the ones being "
                             "estimated: the step batch is not the one being estimated")
    return SimpleNamespace(non_tensor_batch=nt, step_rewards=step_rewards)


def _require(nt: dict, key: str, estimator: str) -> Any:
    if key not in nt:
        raise ValueError(f"estimator {estimator!r} needs non_tensor_batch[{key!r}], which the step batch lacks")
    return nt[key]


def verl_gigpo(token_level_rewards: torch.Tensor, response_mask: torch.Tensor, index: Any = None,
               config: Any = None, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """verl estimator ``gigpo``: verl-agent's GiGPO, computed by :func:`compute_gigpo_outcome_advantage`.

    Options from ``config.gigpo`` (``step_advantage_w``, ``mode``, ``enable_similarity``, ``similarity_thresh``) and
    ``config.gigpo.epsilon`` (default 1e-6); step rewards from ``batch['step_rewards']`` or, if absent, the discounted
    returns of ``non_tensor_batch['rewards']`` with ``config.gamma``.
    """
    data = _step_data(token_level_rewards, kwargs)
    nt = data.non_tensor_batch
    block = _get(config, "gigpo", {})
    options = {key: _get(block, key, default) for key, default in GIGPO_DEFAULTS.items()}
    step_rewards = data.step_rewards
    if step_rewards is None:
        gamma = _get(config, "gamma")
        if gamma is None:
            raise ValueError("no batch['step_rewards'] and no config.gamma to compute them from non_tensor_batch")
        step_rewards = step_returns_from_fields(nt, float(gamma)).to(token_level_rewards.device)
    group_ids = index if index is not None else _require(nt, "uid", "gigpo")
    return compute_gigpo_outcome_advantage(
        token_level_rewards, step_rewards, response_mask, _require(nt, "anchor_obs", "gigpo"), group_ids,
        nt["traj_uid"], epsilon=float(_get(block, "epsilon", 1e-6)), **options)


def package_estimator(name: str) -> Callable:
    """The verl adapter of this package's estimator ``name`` (looked up at call time), one object per name.

    Per step row: group = ``index`` (uid), trajectory = ``traj_uid``, reward = ``non_tensor_batch['rewards']``,
    anchor = ``anchor_obs``; options from ``config.gigpo_options`` (unknown ones raise), ``gamma`` from
    ``config.gamma`` when the estimator takes one and the options do not set it. The advantage is broadcast over the
    response tokens and masked; the same tensor is returned as returns.
    """
    if name in _ADAPTERS:
        return _ADAPTERS[name]

    def adapter(token_level_rewards: torch.Tensor, response_mask: torch.Tensor, index: Any = None,
                config: Any = None, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        entry = get_estimator(name)
        data = _step_data(token_level_rewards, kwargs)
        nt = data.non_tensor_batch
        options = dict(_get(config, "gigpo_options", {}))
        if "gamma" in entry.options and "gamma" not in options and _get(config, "gamma") is not None:
            options["gamma"] = float(_get(config, "gamma"))
        anchors = nt.get("anchor_obs")
        if anchors is not None and options.get("similarity") is None:
            anchors = anchor_codes(anchors)  # exact grouping: any anchor type, compared by value
        elif anchors is not None:
            anchors = list(anchors)  # difflib similarity compares the texts themselves
        group_ids = index if index is not None else _require(nt, "uid", name)
        adv = compute_advantages(name, group_ids, nt["traj_uid"], _require(nt, "rewards", name), anchors, **options)
        scores = adv.to(device=token_level_rewards.device, dtype=token_level_rewards.dtype)
        scores = scores.unsqueeze(-1) * response_mask
        return scores, scores

    adapter.__name__ = adapter.__qualname__ = f"gigpo_{name}_verl_adapter"
    adapter.__doc__ = f"verl estimator {PACKAGE_PREFIX}{name}: this package's {name!r} estimator per step row."
    _ADAPTERS[name] = adapter
    return adapter


def register() -> list[str]:
    """Add ``gigpo`` and ``gigpo.<name>`` for every estimator of this package to verl's advantage registry.

    Needs verl >= 0.9 (``verl.trainer.ppo.core_algos.register_adv_est``); safe to call again (e.g. after
    registering more estimators here). Returns the verl names added. Select one with
    ``algorithm.adv_estimator=gigpo`` and feed it the per-step fields (module docstring).
    """
    try:
        from verl.trainer.ppo import core_algos
    except ImportError as exc:
        raise ImportError("gigpo.integrations.verl.register() needs verl >= 0.9: pip install 'gigpo[verl]'") from exc
    if not hasattr(core_algos, "register_adv_est"):
        raise ImportError("this verl has no register_adv_est (an advantage-estimator registry): verl >= 0.9 needed")
    table = {"gigpo": verl_gigpo}
    table.update({PACKAGE_PREFIX + name: package_estimator(name) for name in estimator_names()})
    for verl_name, fn in table.items():
        core_algos.register_adv_est(verl_name)(fn)
    return list(table)
