"""Bridges to existing training engines.

- ``gigpo.integrations.verl``: a drop-in for verl-agent's ``core_gigpo`` (same signatures and numbers, vectorized)
  and ``register()``, which adds this package's estimators to verl's advantage-estimator registry (verl >= 0.9);
  ``gigpo.integrations.verl_plugin`` registers on import (for verl's ``VERL_USE_EXTERNAL_MODULES``);
  ``gigpo.integrations.verl_rollouts`` writes a verl-agent batch as a rollout table for ``gigpo inspect``.

Importing a bridge does not import its engine; only ``register()`` does.
"""
