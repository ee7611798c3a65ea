"""Weights & Biases: one run in project ``project``, files under ``<output_dir>/wandb``; with
``WANDB_MODE=offline`` nothing leaves the machine (``wandb sync <output_dir>/wandb/offline-run-*`` uploads later).

A resumed run continues the run id ``tracking.json`` holds (``resume="allow"``) after the last step it records (an
offline run cannot ask the server). The PNGs are saved with the run's files.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from gigpo.tracking.tracker import Tracker


class WandbTracker(Tracker):
    name = "wandb"

    def __init__(self, run_dir: Path, *, project: str, run_name: str, config: dict[str, Any],
                 saved: dict[str, Any] | None, start: int = 0):
        import wandb

        saved = saved or {}
        last = saved.get("last_step")
        self.first_step = start if last is None else max(start, last + 1)
        self.run = wandb.init(project=project, name=run_name, id=saved.get("run_id"), dir=str(run_dir), config=config,
                              resume="allow", reinit="create_new")

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def log_artifact(self, path: Path) -> None:
        self.run.save(str(path), base_path=str(path.parent), policy="now")

    def state(self) -> dict[str, Any]:
        return {"run_id": self.run.id}

    def close(self) -> None:
        self.run.finish()
