"""The estimators: pure tensor functions from a flat batch of step rows to one advantage per row.

- ``gigpo``: episode + anchor-state step advantages (Feng et al. 2025), with ``advantage_details``;
- ``grpo``: the episode level alone; ``rloo``: leave-one-out;
- successors: ``hgpo`` (history-consistent groups, He et al. 2026), ``graphgpo`` (distance-to-success on the state
  graph), each with a detailed form;
- building blocks: ``batch`` (input checks), ``grouping`` (factorize, group-normalize), ``anchor_groups`` (step
  groups), ``returns`` (discounted returns);
- ``registry``: name -> estimator, used by the trainer, the lab and the notebooks.
"""
from gigpo.estimators.gigpo import AdvantageDetails, advantage_details, gigpo_advantages
from gigpo.estimators.graphgpo import GraphGPODetails, graphgpo_advantages, graphgpo_details
from gigpo.estimators.grpo import grpo_advantages
from gigpo.estimators.hgpo import HGPODetails, hgpo_advantages, hgpo_details
from gigpo.estimators.registry import (
    Estimator,
    applicable_options,
    compute_advantages,
    compute_details,
    estimator_names,
    get_estimator,
    register_estimator,
)
from gigpo.estimators.rloo import rloo_advantages

__all__ = ["AdvantageDetails", "advantage_details", "gigpo_advantages", "grpo_advantages", "rloo_advantages",
           "Estimator", "applicable_options", "compute_advantages", "compute_details", "estimator_names",
           "get_estimator", "register_estimator", "HGPODetails", "hgpo_advantages", "hgpo_details",
           "GraphGPODetails", "graphgpo_advantages", "graphgpo_details"]
