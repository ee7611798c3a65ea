"""The credit lab: GiGPO's step-level credit made visible in seconds with a tabular softmax policy.

``config`` (``LabConfig``), ``policy`` (the (task, anchor) x action softmax table), ``rollout`` (seeded draws and
G x N rollouts through ``envs.GroupRunner``), ``prior`` (the expert prior and its calibration), ``loop``
(training, lr tuning, ``run_lab``), ``diagnostics`` (credit AUC, zero-spread artefact), ``summary``
(iterations to threshold, paired comparisons). See docs/lab.md.
"""
from gigpo.lab.config import LabConfig
from gigpo.lab.diagnostics import (
    advantage_parts,
    credit_auc,
    credit_quality,
    nonzero_step_share,
    policy_batch,
    zero_spread_rows,
)
from gigpo.lab.loop import LabResult, read_lab, run_lab, train_run, tune_lr
from gigpo.lab.policy import TabularPolicy
from gigpo.lab.prior import calibrate_beta, require_expert
from gigpo.lab.summary import comparison_table, iterations_to, summarize

__all__ = ["LabConfig", "LabResult", "TabularPolicy", "advantage_parts", "calibrate_beta", "comparison_table",
           "credit_auc", "credit_quality", "iterations_to", "nonzero_step_share", "policy_batch", "read_lab",
           "require_expert",
           "run_lab", "summarize", "train_run", "tune_lr", "zero_spread_rows"]
