"""``index.html``: one self-contained page (plotly.js inlined, no network, no kernel) about a rollout table.

In order: the summary counts, step groups by size, the step-through of one task group (slider over steps), the
advantage heatmaps of each estimator side by side, and the largest step groups as a table.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

from gigpo.inspect.advantages import InspectedBatch, largest_step_groups, summary_counts
from gigpo.inspect.figures import advantage_heatmaps, short, step_group_sizes_figure, step_through_figure

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1400px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 24px; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f4f4f4; }
code { background: #f4f4f4; padding: 1px 4px; }
"""

SUMMARY_LABELS = {
    "rows": "rows (environment steps)",
    "task_groups": "task groups",
    "trajectories": "rollouts",
    "step_groups": "step groups (task group x anchor)",
    "step_groups_of_2_or_more": "step groups of 2+ rows",
    "largest_step_group": "largest step group (rows)",
    "mean_step_group_size": "mean step-group size (each group once)",
    "mean_step_group_size_per_row": "mean step-group size seen by a row",
    "share_of_rows_grouped": "share of rows in a step group of 2+ (only these get A_S != 0)",
}


def _table(header: list[str], rows: list[list[Any]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _number(value: float) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _figure(fig, div_id: str) -> str:
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, auto_play=False,
                       config={"displaylogo": False, "responsive": True})


def _steps(steps: list[int]) -> str:
    if len(steps) > 6:
        return f"{steps[0]}..{steps[-1]} ({len(steps)} distinct)"
    return ", ".join(map(str, steps))


def page_html(batch: InspectedBatch, *, source: str = "", group: int | None = None, max_trajectories: int = 16,
              max_steps: int = 40, top_groups: int = 20) -> str:
    """The page as one HTML string."""
    counts = summary_counts(batch)
    summary = _table(["", "count"], [[SUMMARY_LABELS[k], _number(v)] for k, v in counts.items()], "summary")
    top = largest_step_groups(batch, top_groups)
    groups = _table(["task group", "anchor", "rows", "rollouts", "steps", "discounted return (min, max)",
                     "A_S (min, max)"],
                    [[g["group_id"], short(g["anchor"], 90), g["size"], g["trajectories"], _steps(g["steps"]),
                      f"{g['return_min']:.3g}, {g['return_max']:.3g}", f"{g['A_S_min']:.3g}, {g['A_S_max']:.3g}"]
                     for g in top], "largest-step-groups")
    caps = dict(max_trajectories=max_trajectories, max_steps=max_steps)
    options = html.escape(json.dumps(batch.options, sort_keys=True, default=str))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gigpo inspect: {html.escape(source)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>Anchor groups and advantages</h1>
<p>Rollout table <code>{html.escape(source)}</code>. Estimators and their options: <code>{options}</code>.
Every row's numbers are in <code>advantages.csv</code> beside this page; the figures draw one task group.</p>
<h2>Summary</h2>
{summary}
{_figure(step_group_sizes_figure(batch), "step-group-sizes")}
<h2>Step through the anchor grouping</h2>
<p>Move the slider: at each step the rollouts' current states are marked on the state graph (the number: how many
rollouts stand there), and the largest step group of that step is ringed. Rows in one step group share an anchor
state, and GiGPO compares their discounted returns (A_S).</p>
{_figure(step_through_figure(batch, group, **caps), "step-through")}
<h2>Advantages per estimator</h2>
{_figure(advantage_heatmaps(batch, group, **caps), "heatmaps")}
<h2>Largest step groups</h2>
{groups}
</body></html>
"""


def write_page(batch: InspectedBatch, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`page_html` to ``path``."""
    path = Path(path)
    path.write_text(page_html(batch, **kwargs), encoding="utf-8")
    return path
