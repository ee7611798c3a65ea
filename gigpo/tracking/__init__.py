"""Experiment tracking: ``report_to=["tensorboard", "mlflow", "trackio", "wandb"]`` shows a run in a tracker.

``metrics.jsonl`` (training) and ``lab.jsonl`` (the credit lab) stay the source of truth; a tracker is a view of
them, written by one small adapter per backend (``tensorboard_tracker``, ``mlflow_tracker``, ``trackio_tracker``,
``wandb_tracker``) behind one interface (``tracker.Tracker``), opened by :func:`open_tracking` and driven by a
:class:`TrackingSession` (every numeric key of a row at its iteration as the step, the config as the run's
parameters, the final curves as artifacts, a resumed run continued without duplicated steps). Nothing here imports
a backend until a run asks for it. docs/metrics.md: how to open each, and verl's ``trainer.logger`` names.
"""
from gigpo.tracking.factory import BACKENDS, EXTRAS, check_report_to, open_tracking
from gigpo.tracking.rows import flat_params, scalar_metrics
from gigpo.tracking.session import TRACKER_ENTRIES, TRACKING_FILE, TrackingSession

__all__ = ["BACKENDS", "EXTRAS", "TRACKER_ENTRIES", "TRACKING_FILE", "TrackingSession", "check_report_to",
           "flat_params", "open_tracking", "scalar_metrics"]
