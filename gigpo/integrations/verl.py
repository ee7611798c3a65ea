"""GiGPO inside verl: a drop-in for verl-agent's ``core_gigpo`` and this package's estimators in verl's registry.

verl-agent (the authors' trainer on verl) computes GiGPO in ``gigpo/core_gigpo.py`` with Python loops; the two
functions it calls are here with the same signatures and numbers, vectorized. Swap one import in verl-agent's
``verl/trainer/ppo/ray_trainer.py``::

    # from gigpo import core_gigpo
    from gigpo.integrations import verl as core_gigpo

and ``core_gigpo.compute_step_discounted_returns(batch, gamma)`` / ``core_gigpo.compute_gigpo_outcome_advantage(...)``
run here. For verl's own trainer (verl >= 0.9, no verl-agent), :func:`register` adds ``gigpo`` and every estimator of
:mod:`gigpo.estimators.registry` (as ``gigpo.<name>``) to verl's advantage-estimator registry; the per-step fields
verl does not pass come from :func:`step_batch` / :func:`hook_compute_advantage` (see
:mod:`gigpo.integrations.verl_registry`); ``VERL_USE_EXTERNAL_MODULES=gigpo.integrations.verl_plugin`` makes verl
register them itself at ``import verl``. :func:`save_rollouts` writes a verl-agent batch as a rollout table for
``gigpo inspect`` (:mod:`gigpo.integrations.verl_rollouts`). Nothing here imports verl until :func:`register` is called.
See docs/scale.md, "GiGPO inside verl".
"""
from gigpo.integrations.verl_dropin import (
    anchor_codes,
    compute_gigpo_outcome_advantage,
    compute_step_discounted_returns,
    step_returns_from_fields,
)
from gigpo.integrations.verl_registry import (
    GIGPO_DEFAULTS,
    PACKAGE_PREFIX,
    TRAINER_MODULES,
    hook_compute_advantage,
    package_estimator,
    register,
    step_batch,
    verl_gigpo,
    wrap_compute_advantage,
)
from gigpo.integrations.verl_rollouts import rollout_table_from_batch, save_rollouts

__all__ = ["GIGPO_DEFAULTS", "PACKAGE_PREFIX", "TRAINER_MODULES", "anchor_codes", "compute_gigpo_outcome_advantage",
           "compute_step_discounted_returns", "hook_compute_advantage", "package_estimator", "register",
           "rollout_table_from_batch", "save_rollouts", "step_batch", "step_returns_from_fields", "verl_gigpo",
           "wrap_compute_advantage"]
