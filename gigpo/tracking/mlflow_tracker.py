"""MLflow: one run in the experiment ``project``, at ``MLFLOW_TRACKING_URI`` if set, else in a SQLite store in the
output folder (``mlflow ui --backend-store-uri sqlite:///runs/<name>/mlflow.db``), artifacts beside it.

A resumed run reopens the run whose id ``tracking.json`` holds and logs only steps after the last one the store has
(MLflow keeps every logged value, so a step cannot be rewritten); parameters are immutable in MLflow, so only the
config fields it does not hold yet are added (``config.json`` has the current values).
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

from gigpo.tracking.rows import flat_params
from gigpo.tracking.tracker import Tracker

PARAM_BATCH, METRIC_BATCH, PARAM_LENGTH = 100, 1000, 6000  # MLflow's limits per log_batch call and per value


class MLflowTracker(Tracker):
    name = "mlflow"

    def __init__(self, run_dir: Path, *, project: str, run_name: str, config: dict[str, Any],
                 saved: dict[str, Any] | None, start: int = 0):
        from mlflow import MlflowClient

        run_dir = Path(run_dir).resolve()
        env_uri = os.environ.get("MLFLOW_TRACKING_URI")
        self.uri = env_uri or f"sqlite:///{run_dir / 'mlflow.db'}"
        self.client = MlflowClient(tracking_uri=self.uri)
        self.run_id = None
        if saved and saved.get("tracking_uri") == self.uri:
            try:
                self.client.get_run(saved["run_id"])
                self.run_id = saved["run_id"]
                self.client.update_run(self.run_id, status="RUNNING")
            except Exception as exc:  # deleted from the store: start a new run rather than fail the training
                warnings.warn(f"mlflow: cannot continue run {saved['run_id']} ({exc}); starting a new run")
        if self.run_id is None:
            experiment = self.client.get_experiment_by_name(project)
            experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(
                project, artifact_location=None if env_uri else (run_dir / "mlartifacts").as_uri())
            self.run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id
        self._log_params(config)
        held = self.client.get_run(self.run_id).data.metrics
        steps = [m.step for key in held for m in self.client.get_metric_history(self.run_id, key)]
        self.first_step = max(start, max(steps) + 1) if steps else start

    def _log_params(self, config: dict[str, Any]) -> None:
        from mlflow.entities import Param

        held = self.client.get_run(self.run_id).data.params
        params = [Param(k, str(v)[:PARAM_LENGTH]) for k, v in flat_params(config).items() if k not in held]
        for i in range(0, len(params), PARAM_BATCH):
            self.client.log_batch(self.run_id, params=params[i:i + PARAM_BATCH])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(key, value, now, step) for key, value in metrics.items()]
        for i in range(0, len(batch), METRIC_BATCH):
            self.client.log_batch(self.run_id, metrics=batch[i:i + METRIC_BATCH])

    def log_artifact(self, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path))

    def state(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "tracking_uri": self.uri}

    def close(self) -> None:
        self.client.set_terminated(self.run_id)
