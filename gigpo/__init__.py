"""gigpo: Group-in-Group Policy Optimization (Feng et al. 2025, arXiv 2505.10978) for LLM agents.

The algorithm core is a handful of pure functions over flat per-step tensors::

    from gigpo import gigpo_advantages, grpo_advantages
    adv = gigpo_advantages(group_ids, traj_ids, rewards, anchors, gamma=0.95, step_weight=1.0)

Training (``TrainConfig``, ``train``) is imported on first use, so ``import gigpo`` stays light (no transformers).
"""
from gigpo.advantages import (
    AdvantageDetails,
    advantage_details,
    gigpo_advantages,
    grpo_advantages,
    rloo_advantages,
)

__version__ = "0.1.0"
__all__ = ["AdvantageDetails", "advantage_details", "gigpo_advantages", "grpo_advantages", "rloo_advantages",
           "TrainConfig", "train", "read_metrics"]

_LAZY = {"TrainConfig": "gigpo.config", "train": "gigpo.trainer", "read_metrics": "gigpo.metrics_io"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gigpo' has no attribute {name!r}")
