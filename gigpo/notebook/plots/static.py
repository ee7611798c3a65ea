"""Static PNG copies of the library's plotly figures, drawn with matplotlib: no browser, no CDN, works offline.

plotly's own ``write_image`` needs kaleido and a Chromium; the HTML figures load plotly.js and render nowhere
offline (a README on a code host, a PDF). The figures of this package are line and band traces (``go.Scatter``)
on one or more axes, so this module redraws exactly that: each axis at its layout domain, lines with their colour
and name, ``fill="toself"`` bands as filled polygons, axis titles, fixed ranges, subplot titles and the figure title.
Anything else (heatmaps, bars) raises ``ValueError`` naming the trace type rather than drawing something wrong.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go

from gigpo.notebook.plots.style import GROUP_COLORS


def _axis_key(ref: str | None, kind: str) -> str:
    """``'x2'`` -> ``'xaxis2'``; a trace with no axis reference is on ``xaxis``/``yaxis``."""
    return f"{kind}axis{(ref or kind)[1:]}"


def _to_canvas(v: float, kind: str) -> float:
    """A plotly paper coordinate in [0, 1] -> a matplotlib figure fraction, inside margins for the tick labels, axis
    titles and the figure title (plotly keeps those outside the domain; matplotlib needs them inside the canvas)."""
    return 0.08 + 0.88 * v if kind == "x" else 0.13 + 0.73 * v


def _colour(value, fallback: str) -> tuple | str:
    """A plotly colour string ('#1f77b4', 'rgb(..)', 'rgba(..)') as matplotlib understands it."""
    if not value:
        return fallback
    value = str(value).replace(" ", "")
    if value.startswith(("rgb(", "rgba(")):
        parts = [float(p) for p in value[value.index("(") + 1:-1].split(",")]
        rgb = tuple(p / 255 for p in parts[:3])
        return rgb + ((parts[3],) if len(parts) == 4 else ())
    return value


def save_png(fig: go.Figure, path: str | Path, *, width: int = 1000, dpi: int = 100) -> Path:
    """Draw ``fig``'s scatter traces into a PNG at ``path`` (``width`` pixels; height from the layout)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    layout = fig.layout
    height = layout.height or 420
    figure = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    axes: dict[tuple[str, str], object] = {}
    for i, trace in enumerate(fig.data):
        if trace.type != "scatter":
            raise ValueError(f"save_png draws scatter traces only, got a {trace.type!r} trace")
        xkey, ykey = _axis_key(trace.xaxis, "x"), _axis_key(trace.yaxis, "y")
        if (xkey, ykey) not in axes:
            (x0, x1), (y0, y1) = map(_to_canvas, layout[xkey].domain or (0, 1), "xx"), \
                map(_to_canvas, layout[ykey].domain or (0, 1), "yy")
            ax = figure.add_axes([x0, y0, x1 - x0, y1 - y0])
            ax.set_xlabel(layout[xkey].title.text or "")
            ax.set_ylabel(layout[ykey].title.text or "")
            if layout[ykey].range:
                ax.set_ylim(*layout[ykey].range)
            ax.grid(alpha=0.3)
            axes[xkey, ykey] = ax
        ax = axes[xkey, ykey]
        x = [] if trace.x is None else list(trace.x)  # plotly may hold numpy arrays: no truthiness
        y = [] if trace.y is None else list(trace.y)
        label = trace.name if trace.showlegend is not False and trace.name else None
        if trace.fill == "toself":
            ax.fill(x, y, color=_colour(trace.fillcolor, "lightgrey"), linewidth=0, label=label)
            continue
        colour = _colour(trace.line.color, GROUP_COLORS[i % len(GROUP_COLORS)])
        marker = "o" if trace.mode and "markers" in trace.mode else None
        ax.plot(x, y, color=colour, marker=marker, markersize=3, linewidth=trace.line.width or 1.5,
                linestyle="--" if trace.line.dash in ("dash", "dot") else "-", label=label)
    for ann in layout.annotations or []:  # make_subplots' panel titles are paper-positioned annotations
        figure.text(_to_canvas(ann.x, "x"), _to_canvas(ann.y, "y") + 0.01, ann.text, ha="center", va="bottom",
                    fontsize=9)
    if layout.title.text:
        figure.suptitle(layout.title.text, fontsize=11)
    if any(ax.get_legend_handles_labels()[1] for ax in axes.values()):
        first = next(iter(axes.values()))
        first.legend(fontsize=8, loc="best")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def save_pngs(figures: Mapping[str, go.Figure], output_dir: str | Path) -> list[Path]:
    """``save_png`` each figure as ``<name>.png`` in ``output_dir`` (beside ``save_figures``' HTML copies)."""
    return [save_png(fig, Path(output_dir) / f"{name}.png") for name, fig in figures.items()]
