"""Figures of the credit lab (notebook 05), from ``lab.jsonl`` rows and ``summary.json`` bodies only.

``lab_curves``: a metric per regime (or env) with mean and +-1 std over seeds per estimator; ``iterations_to_bars``:
iterations to each success threshold; ``advantage_magnitudes``: |A_E| and |A_S| over training; ``credit_auc_bars``:
the credit AUC of each estimator on the same rows; ``metric_bars``: one number per (setting, estimator);
``save_static``: PNG copies (kaleido where installed, else matplotlib for the line figures).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gigpo.notebook.plots.style import estimator_color, rgba

Rows = Sequence[Mapping[str, Any]]


def _estimators(rows: Rows) -> list[str]:
    return list(dict.fromkeys(r["estimator"] for r in rows))


def _mean_std(rows: Rows, estimator: str, key: str) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Per iteration: mean and std over seeds of ``key`` (None and NaN values skipped)."""
    by_it: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        v = r.get(key)
        if r["estimator"] == estimator and v is not None and np.isfinite(v):
            by_it[r["iteration"]].append(float(v))
    xs = sorted(by_it)
    mean = np.array([np.mean(by_it[x]) for x in xs])
    std = np.array([np.std(by_it[x], ddof=1) if len(by_it[x]) > 1 else 0.0 for x in xs])
    return xs, mean, std


def lab_curves(panels: Mapping[str, Rows], key: str = "success_rate", *, title: str | None = None,
               y_title: str | None = None) -> go.Figure:
    """One panel per entry of ``panels`` (e.g. ``{"from scratch": rows, "from a prior": rows}``); in each, the
    mean of ``key`` over seeds per estimator with a +-1 std band."""
    if not panels:
        raise ValueError("panels is empty: pass title -> lab.jsonl rows")
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels), shared_yaxes=True)
    shown: set[str] = set()
    for c, rows in enumerate(panels.values(), start=1):
        for i, est in enumerate(_estimators(rows)):
            xs, mean, std = _mean_std(rows, est, key)
            if not xs:
                continue
            color = estimator_color(est, i)
            fig.add_trace(go.Scatter(x=xs + xs[::-1], y=(mean + std).tolist() + (mean - std)[::-1].tolist(),
                                     fill="toself",
                                     fillcolor=rgba(color, 0.18), line=dict(width=0), hoverinfo="skip",
                                     showlegend=False, legendgroup=est), row=1, col=c)
            fig.add_trace(go.Scatter(x=xs, y=mean.tolist(), mode="lines", name=est, legendgroup=est,
                                     showlegend=est not in shown, line=dict(color=color, width=2.5)), row=1, col=c)
            shown.add(est)
        fig.update_xaxes(title_text="iteration", row=1, col=c)
        if key == "success_rate":
            fig.update_yaxes(range=[-0.02, 1.02], row=1, col=c)
    fig.update_yaxes(title_text=y_title or key, row=1, col=1)
    fig.update_layout(title=dict(text=title or f"{key}: mean and ±1 std over seeds"), height=400)
    return fig


def iterations_to_bars(summaries: Mapping[str, Mapping[str, Any]], threshold: str = "0.9") -> go.Figure:
    """Mean +- std iterations to ``threshold`` success per estimator, one bar group per summary (setting).
    Runs that never got there count as iterations + 1 (the hover says how many did)."""
    fig = go.Figure()
    estimators = list(dict.fromkeys(e for s in summaries.values() for e in s["estimators"]))
    for i, est in enumerate(estimators):
        xs, ys, err, text = [], [], [], []
        for name, s in summaries.items():
            it = s["estimators"].get(est, {}).get("iterations_to", {}).get(threshold)
            if it is None:
                continue
            xs.append(name)
            ys.append(it["mean"])
            err.append(it["std"])
            text.append(f"reached on {it['reached']}/{len(it['per_seed'])} seeds")
        fig.add_trace(go.Bar(x=xs, y=ys, error_y=dict(type="data", array=err), name=est, hovertext=text,
                             marker_color=estimator_color(est, i)))
    fig.update_layout(barmode="group", height=380,
                      title=dict(text=f"Iterations to {float(threshold):.0%} success (trailing mean; lower is "
                                      f"better; unreached runs count as the budget + 1)"))
    fig.update_yaxes(title_text="iterations")
    return fig


def advantage_magnitudes(rows: Rows, *, title: str | None = None) -> go.Figure:
    """Mean |A_E| (episode level) and |A_S| (step level) per iteration, mean over seeds, one line per estimator."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["|A_E| (episode level)", "|A_S| (step level)"])
    for i, est in enumerate(_estimators(rows)):
        color = estimator_color(est, i)
        for c, key in enumerate(("adv_episode_abs", "adv_step_abs"), start=1):
            xs, mean, _ = _mean_std(rows, est, key)
            fig.add_trace(go.Scatter(x=xs, y=mean.tolist(), mode="lines", name=est, legendgroup=est, showlegend=c == 1,
                                     line=dict(color=color, width=2)), row=1, col=c)
            fig.update_xaxes(title_text="iteration", row=1, col=c)
    fig.update_layout(title=dict(text=title or "Advantage magnitudes over training (mean over seeds)"), height=380)
    return fig


def credit_auc_bars(quality: Mapping[str, Mapping[str, Mapping[str, float]]]) -> go.Figure:
    """``quality[setting][estimator]["auc"]``: P(A(expert action) > A(other action)) on the same rows; 0.5 = none."""
    fig = go.Figure()
    estimators = list(dict.fromkeys(e for q in quality.values() for e in q))
    for i, est in enumerate(estimators):
        xs = [k for k, q in quality.items() if est in q]
        fig.add_trace(go.Bar(x=xs, y=[quality[k][est]["auc"] for k in xs], name=est,
                             marker_color=estimator_color(est, i)))
    fig.add_hline(y=0.5, line_dash="dot", annotation_text="no information (0.5)")
    fig.update_layout(barmode="group", height=380, title=dict(
        text="Credit AUC: does the advantage rank the expert's action above the others? (same rows)"))
    fig.update_yaxes(title_text="AUC", range=[0.3, 1.0])
    return fig


def metric_bars(values: Mapping[str, Mapping[str, float | None]], *, title: str, y_title: str) -> go.Figure:
    """``values[setting][estimator]`` as grouped bars (None shown as a gap)."""
    fig = go.Figure()
    estimators = list(dict.fromkeys(e for v in values.values() for e in v))
    for i, est in enumerate(estimators):
        xs = [k for k, v in values.items() if v.get(est) is not None]
        fig.add_trace(go.Bar(x=xs, y=[values[k][est] for k in xs], name=est, marker_color=estimator_color(est, i)))
    fig.update_layout(barmode="group", height=380, title=dict(text=title))
    fig.update_yaxes(title_text=y_title)
    return fig


def save_static(figures: Mapping[str, go.Figure], output_dir: str | Path) -> tuple[list[Path], str | None]:
    """PNG copies of ``figures`` in ``output_dir``: ``(paths, note)``, ``note`` None when every figure was written.

    With kaleido (and a Chromium) plotly's ``write_image`` draws every figure; without it the line figures are
    redrawn with matplotlib (``gigpo.notebook.plots.static``), which draws scatter traces only, so bar charts are
    skipped and named in the note. The HTML copies never depend on either."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        import kaleido  # noqa: F401
    except ImportError:
        from gigpo.notebook.plots.static import save_png

        paths, skipped = [], []
        for name, fig in figures.items():
            if all(t.type == "scatter" for t in fig.data):
                paths.append(save_png(fig, out / f"{name}.png"))
            else:
                skipped.append(name)
        note = (f"kaleido is not installed: {len(paths)} line figures drawn with matplotlib; no PNG for the bar "
                f"charts {skipped} (pip install kaleido for those)") if skipped else None
        return paths, note
    paths = []
    try:
        for name, fig in figures.items():
            path = out / f"{name}.png"
            fig.write_image(path, width=1000, height=fig.layout.height or 420)
            paths.append(path)
    except Exception as exc:  # kaleido present but no usable Chromium: report it, the HTML figures still exist
        return paths, f"static PNG export failed: {type(exc).__name__}: {exc}"
    return paths, None
