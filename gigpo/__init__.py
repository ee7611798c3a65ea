"""gigpo: Group-in-Group Policy Optimization (Feng et al. 2025, arXiv 2505.10978) for LLM agents.

The package, by folder:

- ``gigpo.estimators``: the paper's math as pure tensor functions (GiGPO, GRPO, RLOO and successors) and the
  estimator registry;
- ``gigpo.run_files``: what a run writes (``metrics.jsonl``, the run marker, durable writes);
- ``gigpo.policy``: the policy as rollouts and the update see it (step batch, prompts, scoring, backends);
- ``gigpo.training``: the LLM trainer (config, the loop, rollouts, PPO-clip update, checkpoints, warm start);
- ``gigpo.tracking``: experiment trackers, views of ``metrics.jsonl``;
- ``gigpo.lab``: the credit lab, a tabular policy trained with any estimator to see step credit at work;
- ``gigpo.integrations``: other engines (verl);
- ``gigpo.notebook``: what the notebooks use (plotly figures, widgets, the papermill runner, metrics I/O);
- ``python -m gigpo``: the command line (``gigpo/__main__.py``).

The algorithm core::

    from gigpo import gigpo_advantages, grpo_advantages
    adv = gigpo_advantages(group_ids, traj_ids, rewards, anchors, gamma=0.95, step_weight=1.0)

Training (``TrainConfig``, ``train``) is imported on first use, so ``import gigpo`` stays light (no transformers).
Importing ``gigpo`` turns transformers' hub kernels off unless ``USE_HUB_KERNELS`` is set (``gigpo.hub_kernels``).
"""
from gigpo.hub_kernels import keep_hub_kernels_off

keep_hub_kernels_off()  # before anything of ours imports transformers

from gigpo.estimators import (
    AdvantageDetails,
    advantage_details,
    compute_advantages,
    estimator_names,
    get_estimator,
    gigpo_advantages,
    graphgpo_advantages,
    graphgpo_details,
    grpo_advantages,
    hgpo_advantages,
    hgpo_details,
    register_estimator,
    rloo_advantages,
)

__version__ = "0.2.0"
__all__ = ["AdvantageDetails", "advantage_details", "gigpo_advantages", "grpo_advantages", "rloo_advantages",
           "hgpo_advantages", "hgpo_details", "graphgpo_advantages", "graphgpo_details",
           "compute_advantages", "estimator_names", "get_estimator", "register_estimator",
           "TrainConfig", "train", "read_metrics", "LabConfig", "run_lab"]

_LAZY = {"TrainConfig": "gigpo.training.config", "train": "gigpo.training.trainer",
         "read_metrics": "gigpo.run_files.metrics", "LabConfig": "gigpo.lab.config", "run_lab": "gigpo.lab.loop"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gigpo' has no attribute {name!r}")
