"""gigpo: Group-in-Group Policy Optimization (Feng et al. 2025, arXiv 2505.10978) for LLM agents.

The algorithm core is a handful of pure functions over flat per-step tensors::

    from gigpo import gigpo_advantages, grpo_advantages
    adv = gigpo_advantages(group_ids, traj_ids, rewards, anchors, gamma=0.95, step_weight=1.0)
"""
from gigpo.advantages import (
    AdvantageDetails,
    advantage_details,
    gigpo_advantages,
    grpo_advantages,
    rloo_advantages,
)

__version__ = "0.1.0"
__all__ = ["AdvantageDetails", "advantage_details", "gigpo_advantages", "grpo_advantages", "rloo_advantages"]
