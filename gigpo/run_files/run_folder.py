"""What a training run owns in its output folder: the marker that says "a gigpo run lives here" and the entries
that ``--overwrite`` may delete (only where it finds the marker, so a model folder is never emptied by mistake)."""
from __future__ import annotations

from gigpo.run_files.metrics import METRICS_FILE

RUN_MARKER = ".gigpo_run"
CONFIG_FILE = "config.json"
TRACKING_FILE = "tracking.json"  # each tracker's run id and last logged step, for a resume
TRACKER_ENTRIES = (TRACKING_FILE, "tensorboard", "mlflow.db", "mlartifacts", "wandb", "learning_curves.png")
RUN_ENTRIES = (METRICS_FILE, "checkpoints", "rollouts", "warm_start", "final", "vllm_sync", CONFIG_FILE,
               *TRACKER_ENTRIES)
