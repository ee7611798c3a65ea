"""Plotly figures for the notebooks, from results only (step records, ``AdvantageDetails``, metric records).

``rollouts`` (state graphs, snapshots, grouping statistics), ``advantages`` (heatmaps, step-group credit),
``curves`` (learning curves, spread over seeds, saving), ``lab`` (the credit lab's figures), ``style`` (colours).
Everything is re-exported here, so ``from gigpo.notebook import plots; plots.rollout_graph(...)`` works.
"""
from gigpo.notebook.notebook_extra import require_notebook_extra

require_notebook_extra("gigpo.notebook.plots", ("plotly", "matplotlib"))

from gigpo.notebook.plots.advantages import (
    advantage_grid,
    advantage_heatmaps,
    estimator_heatmaps,
    gigpo_vs_grpo_heatmaps,
    largest_decision_group,
    step_group_credit,
)
from gigpo.notebook.plots.curves import curves_with_spread, learning_curves, save_figures
from gigpo.notebook.plots.lab import (
    advantage_magnitudes,
    credit_auc_bars,
    iterations_to_bars,
    lab_curves,
    metric_bars,
    save_static,
)
from gigpo.notebook.plots.rollouts import (
    grouping_comparison,
    rollout_graph,
    rollout_graphs_side_by_side,
    similarity_sweep,
    step_snapshot_html,
    won_by_trajectory,
)
from gigpo.notebook.plots.style import (
    ADVANTAGE_SCALE,
    ESTIMATOR_COLORS,
    GROUP_COLORS,
    OUTCOME_SCALE,
    estimator_color,
    group_color,
)

__all__ = ["advantage_grid", "advantage_heatmaps", "estimator_heatmaps", "gigpo_vs_grpo_heatmaps",
           "largest_decision_group",
           "step_group_credit", "curves_with_spread", "learning_curves", "save_figures", "grouping_comparison",
           "rollout_graph", "rollout_graphs_side_by_side", "similarity_sweep", "step_snapshot_html",
           "won_by_trajectory", "ADVANTAGE_SCALE", "ESTIMATOR_COLORS", "GROUP_COLORS", "OUTCOME_SCALE",
           "estimator_color", "group_color", "advantage_magnitudes", "credit_auc_bars", "iterations_to_bars",
           "lab_curves", "metric_bars", "save_static"]
