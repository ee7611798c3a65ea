"""The final learning-curve PNGs a run attaches to its trackers (drawn with matplotlib: offline, no browser)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TRAIN_CURVE_KEYS = ("success_rate", "mean_return", "mean_length", "entropy", "approx_kl", "adv_step_abs")


def training_curves_png(records: Sequence[Mapping[str, Any]], out_dir: str | Path, *,
                        title: str | None = None) -> Path:
    """``learning_curves.png`` in ``out_dir`` from ``metrics.jsonl`` records."""
    from gigpo.notebook.plots import learning_curves
    from gigpo.notebook.plots.static import save_png

    return save_png(learning_curves(records, TRAIN_CURVE_KEYS, title=title), Path(out_dir) / "learning_curves.png")


def lab_curves_png(rows: Sequence[Mapping[str, Any]], out_dir: str | Path, *, title: str | None = None) -> Path:
    """``lab_curves.png`` in ``out_dir``: success per estimator, mean and spread over the seeds of ``lab.jsonl``."""
    from gigpo.notebook.plots.lab import lab_curves
    from gigpo.notebook.plots.static import save_png

    return save_png(lab_curves({title or "credit lab": list(rows)}), Path(out_dir) / "lab_curves.png")
