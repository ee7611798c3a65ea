"""Shared look of the figures: colours per step group, outcome and estimator."""
from __future__ import annotations

# A colour per step group, cycled; qualitative palettes keep neighbouring labels apart.
GROUP_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
WON_COLOR, FAILED_COLOR = "#2ca02c", "#d62728"
OUTCOME_SCALE = [[0.0, FAILED_COLOR], [0.5, "#ffdd57"], [1.0, WON_COLOR]]
ADVANTAGE_SCALE = "RdBu"
ESTIMATOR_COLORS = {"gigpo": "#1f77b4", "grpo": "#ff7f0e", "rloo": "#2ca02c"}


def group_color(label: int) -> str:
    return GROUP_COLORS[int(label) % len(GROUP_COLORS)]


def estimator_color(name: str, index: int = 0) -> str:
    """A fixed colour per built-in estimator; registered ones cycle through the group palette."""
    return ESTIMATOR_COLORS.get(name, GROUP_COLORS[(index + 3) % len(GROUP_COLORS)])


def rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
