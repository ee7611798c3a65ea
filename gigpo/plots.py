"""Plotly figures for the notebooks: rollouts through shared states, advantage heatmaps, learning curves.

Every function takes results (step records, ``AdvantageDetails``, metric records) and returns a
``plotly.graph_objects.Figure`` (or, for :func:`step_snapshot_html`, an HTML string), titled and with labelled axes.
Nothing here computes the algorithm: step-group labels and advantages come from ``gigpo.advantages``.
"""
from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from envs import StepRecord
from gigpo.advantages import AdvantageDetails

# A colour per step group, cycled; qualitative palettes keep neighbouring labels apart.
GROUP_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
WON_COLOR, FAILED_COLOR = "#2ca02c", "#d62728"
OUTCOME_SCALE = [[0.0, FAILED_COLOR], [0.5, "#ffdd57"], [1.0, WON_COLOR]]
ADVANTAGE_SCALE = "RdBu"
ESTIMATOR_COLORS = {"gigpo": "#1f77b4", "grpo": "#ff7f0e", "rloo": "#2ca02c"}


def group_color(label: int) -> str:
    return GROUP_COLORS[int(label) % len(GROUP_COLORS)]


def _as_labels(labels: Any, n: int) -> list[int]:
    out = [int(x) for x in (labels.tolist() if hasattr(labels, "tolist") else labels)]
    if len(out) != n:
        raise ValueError(f"labels has {len(out)} entries but records has {n}; one step-group label per record")
    return out


def _won_by_traj(records: Sequence[StepRecord]) -> dict[int, bool]:
    won: dict[int, bool] = {}
    for r in records:
        won[r.traj_id] = won.get(r.traj_id, False) or r.won
    return won


def _short(text: str, limit: int = 240) -> str:
    text = text if len(text) <= limit else text[:limit] + " ..."
    return html.escape(text).replace("\n", "<br>")


# --- rollouts as paths through shared states ------------------------------------------------------------------------
def _graph_layout(records: Sequence[StepRecord], labels: list[int]):
    """Nodes = step groups (+ two outcome nodes), placed by the first step at which they are reached; edges =
    transitions of rollouts between consecutive states, counted over rollouts."""
    first_step: dict[int, int] = {}
    members: dict[int, list[StepRecord]] = defaultdict(list)
    for r, g in zip(records, labels):
        first_step[g] = min(first_step.get(g, r.step), r.step)
        members[g].append(r)
    won = _won_by_traj(records)
    by_traj: dict[int, list[tuple[StepRecord, int]]] = defaultdict(list)
    for r, g in zip(records, labels):
        by_traj[r.traj_id].append((r, g))
    last_col = max(first_step.values()) + 1
    edges: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for traj, rows in by_traj.items():
        for (_, a), (_, b) in zip(rows, rows[1:]):
            if a != b:  # an action that left the state unchanged is a self-loop; shown in the hover text instead
                edges[(a, b)].append(traj)
        edges[(rows[-1][1], "won" if won[traj] else "failed")].append(traj)

    # columns by first visit; inside a column, order nodes by the mean height of their predecessors (one barycenter
    # sweep), which keeps the drawing close to the flow of the rollouts and avoids most crossings
    columns: dict[int, list[Any]] = defaultdict(list)
    for g, s in first_step.items():
        columns[s].append(g)
    columns[last_col] = [k for k in ("won", "failed") if any(e[1] == k for e in edges)]
    preds: dict[Any, list[Any]] = defaultdict(list)
    for (a, b), trajs in edges.items():
        preds[b].extend([a] * len(trajs))
    y: dict[Any, float] = {}
    for col in sorted(columns):
        nodes = columns[col]
        def bary(n):
            ys = [y[p] for p in preds[n] if p in y]
            return (sum(ys) / len(ys)) if ys else 0.0
        if col != last_col:
            nodes.sort(key=lambda n: (bary(n), -len(members[n])))
        for i, n in enumerate(nodes):
            y[n] = i - (len(nodes) - 1) / 2
    x = {g: float(s) for g, s in first_step.items()}
    x.update({k: float(last_col) for k in ("won", "failed")})
    return x, y, members, edges, won


def _graph_traces(records: Sequence[StepRecord], labels: list[int], highlight_step: int | None,
                  show_colorbar: bool = True) -> list[go.BaseTraceType]:
    x, y, members, edges, won = _graph_layout(records, labels)
    traces: list[go.BaseTraceType] = []
    # edges, bucketed by how many rollouts take them (plotly line width is per trace)
    buckets: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for (a, b), trajs in edges.items():
        xs, ys = buckets[len(trajs)]
        xs += [x[a], x[b], None]
        ys += [y[a], y[b], None]
    for count in sorted(buckets):
        xs, ys = buckets[count]
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color="rgba(90,90,90,0.45)", width=1 + 1.5 * count)))

    nodes = sorted(members)
    active = {g for r, g in zip(records, labels) if r.step == highlight_step} if highlight_step is not None else set()
    hover, size, share_won, outline, text = [], [], [], [], []
    for g in nodes:
        rows = members[g]
        trajs = sorted({r.traj_id for r in rows})
        visits = ", ".join(f"{r.traj_id}@t{r.step}" for r in rows[:12]) + (" ..." if len(rows) > 12 else "")
        at_t = [r.traj_id for r in rows if r.step == highlight_step]
        hover.append(f"<b>step group {g}</b>: {len(rows)} steps from {len(trajs)} rollouts<br>"
                     f"visits (rollout@t): {visits}<br>"
                     + (f"<b>at step {highlight_step}: rollouts {at_t}</b><br>" if at_t else "")
                     + f"<br>{_short(rows[0].observation)}")
        size.append(len(rows))
        share_won.append(sum(won[r.traj_id] for r in rows) / len(rows))
        outline.append(3 if g in active else 0.5)
        text.append(str(len(at_t)) if at_t else "")
    faded = highlight_step is not None
    traces.append(go.Scatter(
        x=[x[g] for g in nodes], y=[y[g] for g in nodes], mode="markers+text", text=text,
        textposition="middle center", textfont=dict(color="black", size=11, shadow="auto"),
        hovertext=hover, hoverinfo="text", showlegend=False, name="step groups",
        marker=dict(size=[8 + 6 * math.sqrt(s) for s in size], color=share_won, cmin=0, cmax=1,
                    colorscale=OUTCOME_SCALE, showscale=show_colorbar,
                    colorbar=dict(title=dict(text="share of visits<br>from won rollouts"), len=0.6),
                    opacity=[1.0 if (not faded or g in active) else 0.35 for g in nodes],
                    line=dict(color="black", width=outline))))
    ends = [k for k in ("won", "failed") if k in y]
    counts = {k: sum(1 for t, w in won.items() if w == (k == "won")) for k in ends}
    traces.append(go.Scatter(
        x=[x[k] for k in ends], y=[y[k] for k in ends], mode="markers+text", showlegend=False,
        text=[f"{k} ({counts[k]})" for k in ends], textposition="top center",
        hovertext=[f"{counts[k]} rollouts {k}" for k in ends], hoverinfo="text",
        marker=dict(symbol="square", size=[8 + 6 * math.sqrt(counts[k]) for k in ends],
                    color=[WON_COLOR if k == "won" else FAILED_COLOR for k in ends])))
    return traces


def rollout_graph(records: Sequence[StepRecord], labels: Any, *, highlight_step: int | None = None,
                  title: str | None = None) -> go.Figure:
    """The rollouts of a task group as paths through shared states (GiGPO's anchor states, paper Sec. 4.2).

    A node is a step group (all steps, of any rollout and any time, that share an anchor state); its size grows with
    the group size, its colour is the share of its visits that belong to rollouts that were won. Nodes sit at the
    first step at which any rollout reached them. A line joins consecutive states of a rollout; its width grows with
    the number of rollouts that take it. Every rollout ends in the "won" or "failed" node. With ``highlight_step``
    the states occupied at that step are outlined (the number inside is how many rollouts stand there) and the rest
    fade.

    Args:
        records: ``StepRecord`` rows (as from ``envs.GroupRunner`` or ``gigpo.scripted_rollouts``).
        labels: one step-group label per record, e.g. ``advantage_details(...).step_group``.
        highlight_step: a time step to highlight, or None.
    """
    labels = _as_labels(labels, len(records))
    if not records:
        raise ValueError("records is empty: nothing to draw")
    fig = go.Figure(_graph_traces(records, labels, highlight_step))
    n_groups = len(set(labels))
    title = title or f"{len({r.traj_id for r in records})} rollouts through {n_groups} anchor states"
    if highlight_step is not None:
        title += f" (step t = {highlight_step} highlighted)"
    fig.update_layout(title=dict(text=title), plot_bgcolor="white", height=480, margin=dict(r=140))
    fig.update_xaxes(title_text="time step at which the state is first reached", dtick=1, gridcolor="#eee")
    fig.update_yaxes(title_text="anchor states (spread vertically)", showticklabels=False, showgrid=False,
                     zeroline=False)
    return fig


def rollout_graphs_side_by_side(records: Sequence[StepRecord], labelings: Mapping[str, Any], *,
                                highlight_step: int | None = None, title: str | None = None) -> go.Figure:
    """:func:`rollout_graph` once per labelling (e.g. state key vs observation text), in columns of one figure."""
    if not labelings:
        raise ValueError("labelings is empty: pass at least one name -> step-group labels")
    names = list(labelings)
    subtitles = [f"{name}: {len(set(_as_labels(labelings[name], len(records))))} step groups" for name in names]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=subtitles, horizontal_spacing=0.06)
    for col, name in enumerate(names, start=1):
        for trace in _graph_traces(records, _as_labels(labelings[name], len(records)), highlight_step,
                                   show_colorbar=(col == len(names))):
            fig.add_trace(trace, row=1, col=col)
        fig.update_xaxes(title_text="first time step reached", dtick=2, gridcolor="#eee", row=1, col=col)
        fig.update_yaxes(title_text="anchor states" if col == 1 else None, showticklabels=False, showgrid=False,
                         zeroline=False, row=1, col=col)
    fig.update_layout(title=dict(text=title or "The same rollouts grouped by different anchors"),
                      plot_bgcolor="white", height=480, margin=dict(r=140))
    return fig


def step_snapshot_html(records: Sequence[StepRecord], labels: Any, step: int, *, max_lines: int = 9) -> str:
    """An HTML table of step ``t``: each rollout's observation and action, coloured by its step group.

    Rows with the same colour stand in the same anchor state: they form one step group, whose actions GiGPO
    compares. Rollouts that already ended show how they ended.
    """
    labels = _as_labels(labels, len(records))
    size: dict[int, int] = defaultdict(int)
    for g in labels:
        size[g] += 1
    at_t = {r.traj_id: (r, g) for r, g in zip(records, labels) if r.step == step}
    last = {}
    for r in records:
        last[r.traj_id] = r
    groups_now: dict[int, int] = defaultdict(int)
    for _, g in at_t.values():
        groups_now[g] += 1
    shared = sorted((n for n in groups_now.values() if n > 1), reverse=True)
    head = (f"<h4 class='gigpo-step-header'>step t = {step}: {len(at_t)} of {len(last)} rollouts still running, "
            f"in {len(groups_now)} distinct anchor states"
            + (f"; rollouts sharing a state now: {', '.join(map(str, shared))}" if shared else "") + "</h4>")
    rows = []
    for traj in sorted(last):
        if traj in at_t:
            r, g = at_t[traj]
            lines = r.observation.strip().split("\n")
            obs = "\n".join(lines[-max_lines:])
            visits = f"{size[g]} visit" + ("s" if size[g] != 1 else "")
            chip = (f"<span style='background:{group_color(g)};color:white;padding:1px 6px;border-radius:8px'>"
                    f"group {g}</span><br><small>{groups_now[g]} here now, {visits} in all</small>")
            validity = "" if r.valid else " <i>(not admissible)</i>"
            result = " &rarr; won" if r.won else (" &rarr; step limit" if r.truncated else "")
            rows.append(f"<tr style='border-left:6px solid {group_color(g)}'><td>{traj}</td><td>{chip}</td>"
                        f"<td><pre style='margin:0;font-size:11px;white-space:pre-wrap'>{html.escape(obs)}</pre></td>"
                        f"<td><code>{html.escape(r.action)}</code>{validity}{result}</td></tr>")
        else:
            end = last[traj]
            how = "won" if end.won else ("hit the step limit" if end.truncated else "ended")
            rows.append(f"<tr style='color:#999'><td>{traj}</td><td colspan=3>done: {how} at t = {end.step}</td></tr>")
    table = ("<table class='gigpo-step-table' style='border-collapse:collapse;font-size:12px'>"
             "<tr><th>rollout</th><th>step group</th><th>observation</th><th>action</th></tr>"
             + "".join(rows) + "</table>")
    return head + table


def grouping_comparison(stats: Mapping[str, Mapping[str, float]], *, title: str | None = None) -> go.Figure:
    """Bars comparing anchor choices: number of step groups and share of steps in a group larger than one.

    ``stats`` maps a name (e.g. "state key", "observation text") to ``AdvantageDetails.step_group_stats()``.
    """
    if not stats:
        raise ValueError("stats is empty: pass at least one name -> step_group_stats()")
    names = list(stats)
    fig = make_subplots(rows=1, cols=3, subplot_titles=("step groups", "mean step-group size",
                                                        "share of steps in a group of 2+"))
    for col, key in enumerate(("step_groups", "step_group_mean_size", "step_group_share_grouped"), start=1):
        fig.add_trace(go.Bar(x=names, y=[stats[n][key] for n in names], showlegend=False,
                             marker_color=[GROUP_COLORS[i % len(GROUP_COLORS)] for i in range(len(names))],
                             text=[f"{stats[n][key]:.2f}".rstrip("0").rstrip(".") for n in names],
                             textposition="auto"), row=1, col=col)
        fig.update_xaxes(title_text="anchor", row=1, col=col)
    fig.update_yaxes(title_text="count", row=1, col=1)
    fig.update_yaxes(title_text="steps per group", row=1, col=2)
    fig.update_yaxes(title_text="share", range=[0, 1], row=1, col=3)
    fig.update_layout(title=dict(text=title or "How the choice of anchor changes the step groups"), height=380)
    return fig


def similarity_sweep(thresholds: Sequence[float], stats: Sequence[Mapping[str, float]], *,
                     references: Mapping[str, Mapping[str, float]] | None = None,
                     title: str | None = None) -> go.Figure:
    """Number of step groups and share of grouped steps as the similarity threshold falls (paper's similarity
    variant; verl-agent groups observation texts whose difflib ratio reaches the threshold).

    ``stats[i]`` is ``step_group_stats()`` at ``thresholds[i]``; ``references`` adds dashed lines (e.g. the exact
    state key).
    """
    if len(thresholds) != len(stats) or not thresholds:
        raise ValueError(f"need one stats entry per threshold, got {len(thresholds)} thresholds, {len(stats)} stats")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("number of step groups", "share of steps in a group of 2+"))
    for col, key in enumerate(("step_groups", "step_group_share_grouped"), start=1):
        fig.add_trace(go.Scatter(x=list(thresholds), y=[s[key] for s in stats], mode="lines+markers",
                                 name="observation text, similarity", legendgroup="sim", showlegend=(col == 1),
                                 line=dict(color=GROUP_COLORS[0])), row=1, col=col)
        for i, (name, ref) in enumerate((references or {}).items()):
            fig.add_trace(go.Scatter(x=[min(thresholds), max(thresholds)], y=[ref[key]] * 2, mode="lines",
                                     name=name, legendgroup=name, showlegend=(col == 1),
                                     line=dict(dash="dash", color=GROUP_COLORS[(i + 1) % len(GROUP_COLORS)])),
                          row=1, col=col)
        fig.update_xaxes(title_text="similarity threshold", autorange="reversed", row=1, col=col)
    fig.update_yaxes(title_text="step groups", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="share", range=[0, 1.02], row=1, col=2)
    fig.update_layout(title=dict(text=title or "Lower similarity thresholds merge more observations"), height=400)
    return fig


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
    won = _won_by_traj(records)
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


# --- training curves ----------------------------------------------------------------------------------------------
def _xy(records: Sequence[Mapping[str, Any]], key: str, x_key: str = "iteration") -> tuple[list, list]:
    xs, ys = [], []
    for i, rec in enumerate(records):
        v = rec.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            xs.append(rec.get(x_key, i))
            ys.append(float(v))
    return xs, ys


def learning_curves(records: Sequence[Mapping[str, Any]], keys: Sequence[str], *, title: str | None = None,
                    cols: int = 3) -> go.Figure:
    """One panel per metric key against the iteration, from ``metrics.jsonl`` records (missing keys stay blank)."""
    if not keys:
        raise ValueError("keys is empty: name at least one metric")
    keys = [k for k in keys if _xy(records, k)[0]]  # a metric that is never logged (yet) gets no empty panel
    if not keys:
        fig = go.Figure()
        fig.update_layout(title=dict(text=(title or "Learning curves") + ": no metrics yet"), height=200)
        fig.update_xaxes(title_text="iteration")
        fig.update_yaxes(title_text="value")
        return fig
    rows = math.ceil(len(keys) / cols)
    fig = make_subplots(rows=rows, cols=min(cols, len(keys)), subplot_titles=list(keys),
                        vertical_spacing=0.5 / max(rows, 1) if rows > 1 else 0.1)
    for i, key in enumerate(keys):
        r, c = i // cols + 1, i % cols + 1
        xs, ys = _xy(records, key)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=key, showlegend=False,
                                 line=dict(color=GROUP_COLORS[i % len(GROUP_COLORS)])), row=r, col=c)
        fig.update_xaxes(title_text="iteration", row=r, col=c, **_iteration_ticks(xs))
        fig.update_yaxes(title_text=key.split("/")[-1], row=r, col=c,
                         **({"range": [-0.02, 1.02]} if _is_rate(key) else {}))
    fig.update_layout(title=dict(text=title or "Learning curves"), height=280 * rows + 80)
    return fig


def curves_with_spread(runs: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]], key: str = "success_rate", *,
                       title: str | None = None, y_title: str | None = None) -> go.Figure:
    """Mean curve per label over its seeds with a band of +-1 standard deviation (min-max when only two seeds).

    ``runs[label]`` is a list of runs (one per seed), each a list of metric records with ``iteration``.
    """
    if not runs:
        raise ValueError("runs is empty: pass label -> list of per-seed metric records")
    fig = go.Figure()
    for i, (label, seeds) in enumerate(runs.items()):
        color = ESTIMATOR_COLORS.get(label, GROUP_COLORS[i % len(GROUP_COLORS)])
        by_iter: dict[Any, list[float]] = defaultdict(list)
        for recs in seeds:
            for x, y in zip(*_xy(recs, key)):
                by_iter[x].append(y)
        if not by_iter:
            continue
        xs = sorted(by_iter)
        mean = [float(np.mean(by_iter[x])) for x in xs]
        if len(seeds) > 2:
            sd = [float(np.std(by_iter[x], ddof=1)) if len(by_iter[x]) > 1 else 0.0 for x in xs]
            lo, hi, band = [m - s for m, s in zip(mean, sd)], [m + s for m, s in zip(mean, sd)], "±1 std"
        else:
            lo, hi, band = [min(by_iter[x]) for x in xs], [max(by_iter[x]) for x in xs], "min-max"
        rgba = _rgba(color, 0.18)
        fig.add_trace(go.Scatter(x=xs + xs[::-1], y=hi + lo[::-1], mode="lines", fill="toself", fillcolor=rgba,
                                 line=dict(width=0), hoverinfo="skip", legendgroup=label,
                                 name=f"{label} {band} over {len(seeds)} seed(s)"))
        fig.add_trace(go.Scatter(x=xs, y=mean, mode="lines+markers", name=f"{label} mean", legendgroup=label,
                                 line=dict(color=color, width=2.5)))
    fig.update_layout(title=dict(text=title or f"{key} over training (mean and spread across seeds)"), height=420)
    fig.update_xaxes(title_text="iteration", **_iteration_ticks(x for recs in runs.values() for r in recs
                                                                 for x in _xy(r, key)[0]))
    fig.update_yaxes(title_text=y_title or key, **({"range": [-0.02, 1.02]} if _is_rate(key) else {}))
    return fig


def _iteration_ticks(iterations) -> dict:
    """One tick per iteration for short runs (otherwise plotly labels half iterations)."""
    iterations = list(iterations)
    return {"dtick": 1} if iterations and max(iterations) - min(iterations) <= 20 else {}


def _is_rate(key: str) -> bool:
    return key.endswith(("success_rate", "invalid_rate", "share_grouped"))


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def save_figures(figures: Mapping[str, go.Figure], output_dir: str | Path) -> list[Path]:
    """Write each figure as ``<name>.html`` into ``output_dir``, sharing one local ``plotly.min.js`` (works offline).
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = out / f"{name}.html"
        fig.write_html(path, include_plotlyjs="directory")
        paths.append(path)
    return paths
