"""Importing this module registers this package's estimators in verl (:func:`gigpo.integrations.verl.register`).

For verl's own hook, which imports the listed modules at ``import verl`` in every process that imports it (the
Ray actors that run the trainer included)::

    VERL_USE_EXTERNAL_MODULES=gigpo.integrations.verl_plugin python -m verl.trainer.main_ppo ...
"""
from gigpo.integrations.verl_registry import register

REGISTERED = register()
