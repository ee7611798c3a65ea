"""Trackio (Hugging Face's local-first tracker, TRL's recommendation): one run ``run_name`` in project ``project``,
stored in Trackio's local folder (``TRACKIO_DIR``, default ``~/.cache/huggingface/trackio``); ``trackio show``.

A resumed run continues the run of the same name (``resume="allow"``) after the last step ``tracking.json`` records.
The PNGs go in as Trackio artifacts.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from gigpo.tracking.tracker import Tracker


class TrackioTracker(Tracker):
    name = "trackio"

    def __init__(self, run_dir: Path, *, project: str, run_name: str, config: dict[str, Any],
                 saved: dict[str, Any] | None, start: int = 0):
        import trackio

        last = (saved or {}).get("last_step")
        self.first_step = start if last is None else max(start, last + 1)
        self.run_name = run_name
        self.run = trackio.init(project=project, name=run_name, config=config,
                                resume="allow" if saved else "never")

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def log_artifact(self, path: Path) -> None:
        import trackio

        trackio.log_artifact(path, name=path.stem)  # attached to the current run, which is this one

    def state(self) -> dict[str, Any]:
        return {"run_name": self.run_name}

    def close(self) -> None:
        self.run.finish()
