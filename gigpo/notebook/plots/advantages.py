"""Figures of advantages: (rollout x step) heatmaps of A_E, A_S and A, and the credit one step group receives."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from envs import StepRecord
from gigpo.estimators.gigpo import AdvantageDetails
from gigpo.notebook.plots.rollouts import won_by_trajectory
from gigpo.notebook.plots.style import ADVANTAGE_SCALE, ESTIMATOR_COLORS


# --- advantages ------------------------------------------------------------------------------------------------------
def _step_in_traj(traj_index: Sequence[int]) -> list[int]:
    """Time index of each row inside its trajectory (rows of one trajectory come in time order)."""
    seen: dict[int, int] = defaultdict(int)
    out = []
    for t in traj_index:
        out.append(seen[t])
        seen[t] += 1
    return out


def advantage_grid(values: Any, traj_index: Any) -> np.ndarray:
    """Scatter per-row values into a (trajectory x step) array, NaN where a trajectory had already ended."""
    v = np.asarray(values.tolist() if hasattr(values, "tolist") else values, dtype=float)
    traj = [int(t) for t in (traj_index.tolist() if hasattr(traj_index, "tolist") else traj_index)]
    if len(v) != len(traj):
        raise ValueError(f"values has {len(v)} rows but traj_index has {len(traj)}")
    steps = _step_in_traj(traj)
    grid = np.full((max(traj) + 1, max(steps) + 1), np.nan)
    grid[traj, steps] = v
    return grid


def _traj_labels(details: AdvantageDetails) -> list[str]:
    ret = np.zeros(details.num_trajectories)
    ret[details.traj_index.numpy()] = details.episode_returns.double().numpy()
    return [f"rollout {i} (R={r:.1f})" for i, r in enumerate(ret)]


def _heatmap_row(fig, panels: Sequence[tuple[str, np.ndarray]], y_labels: list[str], zmax: float, *,
                 hover_unit: str = "A") -> None:
    for col, (name, grid) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(
            z=grid, x=list(range(grid.shape[1])), y=y_labels, colorscale=ADVANTAGE_SCALE, zmid=0, zmin=-zmax,
            zmax=zmax, showscale=(col == len(panels)), colorbar=dict(title=dict(text="advantage")), xgap=1, ygap=1,
            hovertemplate=f"{name}<br>%{{y}}, step %{{x}}<br>{hover_unit} = %{{z:.3f}}<extra></extra>"),
            row=1, col=col)
        fig.update_xaxes(title_text="step t", row=1, col=col)
    fig.update_yaxes(title_text="trajectory", autorange="reversed", row=1, col=1)
    for col in range(2, len(panels) + 1):
        fig.update_yaxes(showticklabels=False, autorange="reversed", row=1, col=col)
    # blank (NaN) cells are steps after a trajectory ended: show them as empty paper, not as a grid
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(showgrid=False, zeroline=False)
    fig.update_layout(plot_bgcolor="white")


def _params_text(params: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items())


def advantage_heatmaps(details: AdvantageDetails, *, params: Mapping[str, Any] | None = None,
                       title: str | None = None) -> go.Figure:
    """Trajectory x step heatmaps of A_E (Eq. 3), A_S (Eq. 7) and A = A_E + w A_S (Eq. 8), on one colour scale.

    ``params`` (e.g. ``{"gamma": 0.95, "step_weight": 1.0}``) is written into the title, so a figure says how it
    was made.
    """
    traj = details.traj_index
    panels = [("A_E  (episode, Eq. 3)", advantage_grid(details.episode_adv, traj)),
              ("A_S  (step, Eq. 7)", advantage_grid(details.step_adv, traj)),
              ("A = A_E + w·A_S  (Eq. 8)", advantage_grid(details.advantage, traj))]
    return _heatmap_figure(details, panels, title or "GiGPO advantages per trajectory and step", params, 0.03)


def gigpo_vs_grpo_heatmaps(details: AdvantageDetails, grpo_adv: Any, *, params: Mapping[str, Any] | None = None,
                           title: str | None = None) -> go.Figure:
    """GRPO's advantage (A_E on every step of a trajectory) beside GiGPO's A on the same batch, same colour scale."""
    traj = details.traj_index
    panels = [("GRPO: A_E on every step", advantage_grid(grpo_adv, traj)),
              ("GiGPO: A_E + w·A_S", advantage_grid(details.advantage, traj))]
    return _heatmap_figure(details, panels, title or "GiGPO vs GRPO on the same batch", params, 0.04)


def estimator_heatmaps(details: AdvantageDetails, advantages: Mapping[str, Any], *,
                       params: Mapping[str, Any] | None = None, title: str | None = None) -> go.Figure:
    """Each estimator's advantage per trajectory and step, side by side on one colour scale.

    ``advantages`` maps an estimator name to its per-row advantages on the batch ``details`` was computed on
    (``details`` gives the trajectories and their returns for the row labels).
    """
    if not advantages:
        raise ValueError("advantages is empty: pass {estimator name: per-row advantages}")
    traj = details.traj_index
    panels = [(name, advantage_grid(adv, traj)) for name, adv in advantages.items()]
    return _heatmap_figure(details, panels, title or "Estimators side by side on the same batch", params, 0.02)


def _heatmap_figure(details: AdvantageDetails, panels: Sequence[tuple[str, np.ndarray]], title: str,
                    params: Mapping[str, Any] | None, spacing: float) -> go.Figure:
    """Heatmap panels side by side on one symmetric colour scale, the parameters in the title."""
    zmax = max(float(np.nanmax(np.abs(g))) for _, g in panels) or 1.0
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=spacing)
    _heatmap_row(fig, panels, _traj_labels(details), zmax)
    if params:
        title += f" ({_params_text(params)})"
    fig.update_layout(title=dict(text=title), height=140 + 28 * details.num_trajectories)
    return fig


def largest_decision_group(records: Sequence[StepRecord], details: AdvantageDetails) -> int:
    """The step group where rollouts disagree most: most distinct actions, then most members (ties: first label)."""
    actions: dict[int, set[str]] = defaultdict(set)
    count: dict[int, int] = defaultdict(int)
    for r, g in zip(records, details.step_group.tolist()):
        actions[g].add(r.action)
        count[g] += 1
    return min(actions, key=lambda g: (-len(actions[g]), -count[g], g))


def step_group_credit(records: Sequence[StepRecord], details: AdvantageDetails, grpo_adv: Any,
                      group: int | None = None, *, title: str | None = None) -> go.Figure:
    """Inside one step group (one anchor state), the advantage each action gets from GRPO and from GiGPO.

    GRPO credits a step with its whole trajectory's outcome; GiGPO adds A_S, which compares the discounted returns of
    the actions taken from this very state. Default group: :func:`largest_decision_group`.
    """
    if len(records) != len(details.step_group):
        raise ValueError(f"records has {len(records)} rows but details has {len(details.step_group)}")
    group = largest_decision_group(records, details) if group is None else int(group)
    labels = details.step_group.tolist()
    rows = [i for i, g in enumerate(labels) if g == group]
    if not rows:
        raise ValueError(f"no step group {group}; labels run 0..{details.num_step_groups - 1}")
    grpo = grpo_adv.tolist() if hasattr(grpo_adv, "tolist") else list(grpo_adv)
    won = won_by_trajectory(records)
    names = [f"rollout {records[i].traj_id} @t{records[i].step}: {records[i].action}"
             f" ({'won' if won[records[i].traj_id] else 'failed'})" for i in rows]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.72, 0.28], horizontal_spacing=0.02,
                        subplot_titles=("advantage of the step", "its discounted return R_t"))
    fig.add_trace(go.Bar(name="GRPO (A_E)", y=names, x=[grpo[i] for i in rows], orientation="h",
                         marker_color=ESTIMATOR_COLORS["grpo"]), row=1, col=1)
    fig.add_trace(go.Bar(name="GiGPO (A_E + w·A_S)", y=names, x=[float(details.advantage[i]) for i in rows],
                         orientation="h", marker_color=ESTIMATOR_COLORS["gigpo"]), row=1, col=1)
    fig.add_trace(go.Bar(name="R_t", y=names, x=[float(details.step_returns[i]) for i in rows], orientation="h",
                         marker_color="#999", showlegend=False), row=1, col=2)
    fig.update_layout(
        title=dict(text=title or f"Credit inside step group {group}: {len(rows)} steps taken from the same anchor "
                                 f"state"),
        barmode="group", height=170 + 34 * len(rows),
        legend=dict(orientation="h", yanchor="bottom", y=1.06, xanchor="right", x=1))
    fig.update_xaxes(title_text="advantage", row=1, col=1)
    fig.update_xaxes(title_text="R_t", row=1, col=2)
    fig.update_yaxes(title_text="step (rollout @ time: action)", autorange="reversed", row=1, col=1)
    return fig
