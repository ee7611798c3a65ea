"""Kernel-free plotly figures of one task group: the anchor-grouping step-through and the advantage heatmaps.

The step-through is a plotly figure with frames and a slider over steps, so it moves in any browser with no Python
behind it (a static page, the book, a notebook's saved output). It draws the task group's state graph: each anchor
state is a node, placed in the column of the first step it is seen at, and each rollout is a path through the nodes
(green: return > 0, red: not). At step ``t`` the rows taken at that step are marked on their anchors, sized by how
many rollouts stand there, and the largest of those step groups is ringed and named in the title.

What is drawn is capped (``max_trajectories`` rollouts, ``max_steps`` steps of one task group), so a figure stays small
for any table; the numbers of every row are in ``advantages.csv``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gigpo.inspect.advantages import InspectedBatch, step_group_size_counts

WON, FAILED, RING = "#2ca02c", "#d62728", "#111111"
STEP_COLOR = "#1f77b4"
HIGHLIGHT_TRACE = "highlighted step group"


def short(text, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def busiest_group(batch: InspectedBatch) -> int:
    """The task group (dense code) with the most rows in step groups of 2+ rows; ties: the first."""
    d = batch.details
    grouped = (batch.step_group_size > 1).astype(np.int64)
    per_group = np.bincount(d.group_index.numpy(), weights=grouped, minlength=d.num_groups)
    return int(np.argmax(per_group))


@dataclass(frozen=True)
class GroupView:
    """The drawn part of one task group: its rows (capped), node per row, node positions, step values."""

    group: int  # dense task-group code
    group_id: object  # the table's id of that group
    rows: np.ndarray  # table rows drawn, in row order
    trajectories: list[int]  # dense trajectory codes drawn, in order of first appearance
    node: np.ndarray  # node of each drawn row (its anchor within the group)
    node_x: np.ndarray
    node_y: np.ndarray
    node_anchor: list
    steps: list[int]  # step values with a frame
    total_trajectories: int


def group_view(batch: InspectedBatch, group: int | None = None, *, max_trajectories: int = 16,
               max_steps: int = 40) -> GroupView:
    """Pick the rows of task group ``group`` (None: :func:`busiest_group`) to draw, and lay out its state graph."""
    d, t = batch.details, batch.table
    g = busiest_group(batch) if group is None else int(group)
    if not 0 <= g < d.num_groups:
        raise ValueError(f"group must be in 0..{d.num_groups - 1} (task groups in order of first appearance), "
                         f"got {group!r}")
    gidx, tidx = d.group_index.numpy(), d.traj_index.numpy()
    in_group = np.flatnonzero(gidx == g)
    trajs = list(dict.fromkeys(tidx[in_group].tolist()))
    keep = set(trajs[:max_trajectories])
    rows = in_group[np.fromiter((x in keep for x in tidx[in_group]), dtype=bool, count=in_group.size)]
    steps = sorted(set(t.step[rows].tolist()))[:max_steps]
    rows = rows[np.isin(t.step[rows], steps)]
    anchors = [t.anchor[i] for i in rows.tolist()]
    node_of: dict = {}
    node = np.fromiter((node_of.setdefault(a, len(node_of)) for a in anchors), dtype=np.int64, count=len(anchors))
    column = np.full(len(node_of), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(column, node, np.searchsorted(steps, t.step[rows]))
    node_y = np.zeros(len(node_of))
    for c in np.unique(column):
        members = np.flatnonzero(column == c)
        node_y[members] = np.arange(members.size) - (members.size - 1) / 2
    return GroupView(g, t.group_id[int(in_group[0])], rows, trajs[:max_trajectories], node,
                     column.astype(float), node_y, list(node_of), steps, len(trajs))


def _frame_traces(batch: InspectedBatch, view: GroupView, step: int) -> tuple[list[go.Scatter], str]:
    """The two traces that move with the slider (rows at ``step``; the ring on its largest step group) and the
    title naming that group."""
    t = batch.table
    at = t.step[view.rows] == step
    nodes, counts = np.unique(view.node[at], return_counts=True)
    sizes = batch.step_group_size[view.rows]
    full_size = {int(n): int(s) for n, s in zip(view.node[at], sizes[at])}
    # the largest step group among the rows at this step (most rollouts here; ties: the first node)
    best = int(nodes[np.argmax(counts)]) if nodes.size else -1
    rows_here = go.Scatter(
        x=view.node_x[nodes], y=view.node_y[nodes], mode="markers+text", name=f"rows at step {step}",
        text=[str(c) for c in counts], textposition="middle center", textfont=dict(color="white", size=10),
        marker=dict(size=14 + 6 * np.sqrt(counts), color=STEP_COLOR, line=dict(width=0)),
        hovertext=[f"{short(view.node_anchor[n], 120)}<br>{c} rollout(s) here at step {step}; step group of "
                   f"{full_size[int(n)]} row(s)" for n, c in zip(nodes, counts)], hoverinfo="text")
    ring = go.Scatter(
        x=[view.node_x[best]] if best >= 0 else [], y=[view.node_y[best]] if best >= 0 else [],
        mode="markers", name=HIGHLIGHT_TRACE, hoverinfo="skip",
        marker=dict(size=30 + 6 * np.sqrt(counts.max() if counts.size else 1), color="rgba(0,0,0,0)",
                    line=dict(color=RING, width=3)))
    if best >= 0:
        title = (f"step {step}: {nodes.size} step group(s); largest: {short(view.node_anchor[best])!r} "
                 f"({int(counts.max())} of {int(at.sum())} rollouts here, {full_size[best]} rows in all)")
    else:
        title = f"step {step}: no drawn rollout takes this step"
    return [rows_here, ring], title


def step_through_figure(batch: InspectedBatch, group: int | None = None, *, max_trajectories: int = 16,
                        max_steps: int = 40, height: int = 520) -> go.Figure:
    """The state graph of one task group with a slider over steps (frames): see the module docstring."""
    view = group_view(batch, group, max_trajectories=max_trajectories, max_steps=max_steps)
    t, d = batch.table, batch.details
    tidx = d.traj_index.numpy()
    returns = d.episode_returns.double().numpy()
    fig = go.Figure()
    for traj in view.trajectories:
        mine = tidx[view.rows] == traj
        path = view.node[mine]
        first = int(view.rows[mine][0])
        won = returns[first] > 0
        fig.add_trace(go.Scatter(
            x=view.node_x[path], y=view.node_y[path], mode="lines", showlegend=False, hoverinfo="text",
            hovertext=f"rollout {t.traj_id[first]!r}: return {returns[first]:.3g}",
            line=dict(color=WON if won else FAILED, width=2), opacity=0.45))
    visits = np.bincount(view.node, minlength=len(view.node_anchor))
    fig.add_trace(go.Scatter(
        x=view.node_x, y=view.node_y, mode="markers", name="anchor states", hoverinfo="text",
        hovertext=[f"{short(a, 120)}<br>{v} visit(s)" for a, v in zip(view.node_anchor, visits)],
        marker=dict(size=8 + 3 * np.sqrt(visits), color="#bbbbbb", line=dict(color="#666666", width=1))))
    moving = [len(fig.data), len(fig.data) + 1]
    first_traces, first_title = _frame_traces(batch, view, view.steps[0])
    fig.add_traces(first_traces)
    frames, slider_steps = [], []
    for s in view.steps:
        traces, title = _frame_traces(batch, view, s)
        frames.append(go.Frame(name=str(s), data=traces, traces=moving, layout=dict(title=dict(text=title))))
        slider_steps.append(dict(method="animate", label=str(s), args=[[str(s)], dict(
            mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))]))
    fig.frames = frames
    shown = (f"{len(view.trajectories)} of {view.total_trajectories} rollouts" if view.total_trajectories >
             len(view.trajectories) else f"{view.total_trajectories} rollouts")
    fig.update_layout(
        title=dict(text=first_title, font=dict(size=14)), height=height, template="plotly_white",
        margin=dict(l=40, r=20, t=60, b=90), legend=dict(orientation="h", y=1.02, x=0, yanchor="bottom"),
        xaxis=dict(title=f"first step a state is seen at (task group {view.group_id!r}, {shown})",
                   tickvals=list(range(len(view.steps))), ticktext=[str(s) for s in view.steps], zeroline=False),
        yaxis=dict(visible=False),
        sliders=[dict(active=0, steps=slider_steps, currentvalue=dict(prefix="step "), pad=dict(t=40))])
    return fig


def advantage_heatmaps(batch: InspectedBatch, group: int | None = None, *, max_trajectories: int = 16,
                       max_steps: int = 40, estimators: Sequence[str] | None = None) -> go.Figure:
    """One heatmap per estimator, side by side: rollouts of one task group (rows) by step (columns), coloured by
    the advantage, on one symmetric colour scale so the panels compare."""
    view = group_view(batch, group, max_trajectories=max_trajectories, max_steps=max_steps)
    names = list(estimators or batch.advantages)
    t, tidx = batch.table, batch.details.traj_index.numpy()
    col = np.searchsorted(view.steps, t.step[view.rows])
    row_of = {traj: i for i, traj in enumerate(view.trajectories)}
    row = np.fromiter((row_of[x] for x in tidx[view.rows]), dtype=np.int64, count=view.rows.size)
    grids = {}
    for name in names:
        z = np.full((len(view.trajectories), len(view.steps)), np.nan)
        z[row, col] = batch.advantages[name][view.rows]
        grids[name] = z
    zmax = max(float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.0 for z in grids.values()) or 1.0
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, subplot_titles=names, horizontal_spacing=0.02)
    labels = []
    for traj in view.trajectories:
        first = int(view.rows[tidx[view.rows] == traj][0])
        labels.append(f"{short(t.traj_id[first], 16)} (R={batch.details.episode_returns[first].item():.2g})")
    for i, name in enumerate(names, 1):
        fig.add_trace(go.Heatmap(
            z=np.round(grids[name], 4), x=[str(s) for s in view.steps], y=labels, zmin=-zmax, zmax=zmax,
            colorscale="RdBu", showscale=i == len(names), hoverongaps=False,
            hovertemplate=f"{name}<br>%{{y}}, step %{{x}}: A = %{{z:.3f}}<extra></extra>"), row=1, col=i)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=f"advantage per step, task group {view.group_id!r}", template="plotly_white",
                      height=max(260, 60 + 22 * len(labels)), margin=dict(l=40, r=20, t=70, b=40))
    return fig


def step_group_sizes_figure(batch: InspectedBatch) -> go.Figure:
    """How many step groups have each size, over the whole table (sizes above 1 give rows a step advantage)."""
    counts = step_group_size_counts(batch)
    fig = go.Figure(go.Bar(x=[str(k) for k in counts], y=list(counts.values()),
                           marker_color=[STEP_COLOR if k > 1 else "#bbbbbb" for k in counts]))
    fig.update_layout(title="step groups by size (whole table)", xaxis_title="rows in the step group",
                      yaxis_title="step groups", template="plotly_white", height=320,
                      margin=dict(l=50, r=20, t=50, b=50))
    return fig
