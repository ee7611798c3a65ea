"""The one interface every backend adapter implements (one module per backend; ``factory`` picks them)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


class Tracker:
    """One tracker run, opened by the constructor ``(run_dir, *, project, run_name, config, saved, start)`` with
    ``config`` as the run's parameters. ``saved`` is this backend's entry of ``tracking.json`` from the try before
    (None on a fresh run): what it needs to continue the same run (a run id, the last step it logged). ``start`` is
    the first iteration of this try.

    ``first_step``: the first step this try logs. A backend that can drop the steps a crashed try logged after its
    last checkpoint (TensorBoard's purge) writes from ``start``; the others only after the last step they already
    hold, so no step is logged twice."""

    name = ""
    first_step = 0

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def log_artifact(self, path: Path) -> None:
        """Attach a file (a learning-curve PNG); a backend without artifacts ignores it."""

    def state(self) -> dict[str, Any]:
        """This backend's entry of ``tracking.json``: what a resumed run needs to continue this tracker run."""
        return {}

    def close(self) -> None:
        raise NotImplementedError
