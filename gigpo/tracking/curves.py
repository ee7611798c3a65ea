"""The learning-curve PNG a training run attaches to its trackers: one panel per key of ``metrics.jsonl``, drawn
with matplotlib (offline, no browser). matplotlib comes with the ``notebook`` extra and is imported only when a run
with trackers ends."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TRAIN_CURVE_KEYS = ("success_rate", "mean_return", "mean_length", "entropy", "approx_kl", "adv_step_abs")
NOTEBOOK_EXTRA = "pip install 'gigpo[notebook]'"


def training_curves_png(records: Sequence[Mapping[str, Any]], out_dir: str | Path, *,
                        title: str | None = None, keys: Sequence[str] = TRAIN_CURVE_KEYS) -> Path:
    """``learning_curves.png`` in ``out_dir``: each of ``keys`` against the iteration, from ``metrics.jsonl`` rows."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"the trackers' learning-curve PNG needs matplotlib: {NOTEBOOK_EXTRA}") from exc
    cols = 3
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        points = [(r["iteration"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
        if points:
            ax.plot(*zip(*points), marker="o", markersize=3)
        ax.set_title(key)
        ax.set_xlabel("iteration")
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(out_dir) / "learning_curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
