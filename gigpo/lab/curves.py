"""The lab's learning-curve PNG for its trackers: success per estimator, mean and spread over the seeds."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gigpo.notebook.plots.lab import lab_curves
from gigpo.notebook.plots.static import save_png


def lab_curves_png(rows: Sequence[Mapping[str, Any]], out_dir: str | Path, *, title: str | None = None) -> Path:
    """``lab_curves.png`` in ``out_dir`` from the rows of ``lab.jsonl``."""
    return save_png(lab_curves({title or "credit lab": list(rows)}), Path(out_dir) / "lab_curves.png")
