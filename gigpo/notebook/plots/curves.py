"""Figures of training runs from ``metrics.jsonl`` records: learning curves, mean and spread over seeds; saving.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gigpo.notebook.plots.style import GROUP_COLORS, estimator_color, rgba


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
        color = estimator_color(label, i)
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
        fig.add_trace(go.Scatter(x=xs + xs[::-1], y=hi + lo[::-1], mode="lines", fill="toself",
                                 fillcolor=rgba(color, 0.18), line=dict(width=0), hoverinfo="skip", legendgroup=label,
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
