"""Figures of rollouts through shared states: the group's state graph, a step snapshot, grouping statistics.

Each function takes step records (and step-group labels computed by ``gigpo.estimators``) and returns a plotly
figure (or, for :func:`step_snapshot_html`, an HTML string); nothing here computes the algorithm.
"""
from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from envs import StepRecord
from gigpo.notebook.plots.style import FAILED_COLOR, GROUP_COLORS, OUTCOME_SCALE, WON_COLOR, group_color


def _as_labels(labels: Any, n: int) -> list[int]:
    out = [int(x) for x in (labels.tolist() if hasattr(labels, "tolist") else labels)]
    if len(out) != n:
        raise ValueError(f"labels has {len(out)} entries but records has {n}; one step-group label per record")
    return out


def won_by_trajectory(records: Sequence[StepRecord]) -> dict[int, bool]:
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
    won = won_by_trajectory(records)
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
        records: ``StepRecord`` rows (as from ``envs.GroupRunner`` or ``gigpo.notebook.scripted_rollouts``).
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
            validity = "" if r.valid else " <i>(invalid)</i>"
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
    fig = make_subplots(rows=1, cols=3, subplot_titles=("step groups", "size of a step's group (mean over steps)",
                                                        "share of steps in a group of 2+"))
    for col, key in enumerate(("step_groups", "step_group_size_per_row", "step_group_share_grouped"), start=1):
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
