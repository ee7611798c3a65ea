"""``report_to`` names -> tracker adapters: the check a config runs (a missing backend names its extra) and the
opening of a run's trackers, continuing the ones ``tracking.json`` names when a run resumes."""
from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gigpo.tracking.session import TRACKING_FILE, TrackingSession

BACKENDS = ("tensorboard", "mlflow", "trackio", "wandb")
EXTRAS = {name: name for name in BACKENDS}  # pip install "gigpo[<extra>]"
_PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "trackio": "trackio", "wandb": "wandb"}
_ADAPTERS = {"tensorboard": "gigpo.tracking.tensorboard_tracker:TensorBoardTracker",
             "mlflow": "gigpo.tracking.mlflow_tracker:MLflowTracker",
             "trackio": "gigpo.tracking.trackio_tracker:TrackioTracker",
             "wandb": "gigpo.tracking.wandb_tracker:WandbTracker"}


def check_report_to(report_to: Any) -> list[str]:
    """The backends ``report_to`` asks for (``[]`` or ``["none"]``: none); ``ValueError`` naming the problem for an
    unknown or repeated name, and naming the extra to install when a backend's package is missing (found without
    importing it, so a config check stays cheap)."""
    if not isinstance(report_to, (list, tuple)) or not all(isinstance(n, str) for n in report_to):
        raise ValueError(f"report_to must be a list of tracker names from {list(BACKENDS)} (or [] / ['none']), "
                         f"got {report_to!r}")
    names = [n for n in report_to if n != "none"]
    if "none" in report_to and names:
        raise ValueError(f"report_to: 'none' cannot be combined with trackers, got {list(report_to)}")
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise ValueError(f"report_to: unknown tracker(s) {unknown}; supported: {', '.join(BACKENDS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"report_to names a tracker twice: {list(report_to)}")
    for name in names:
        if importlib.util.find_spec(_PACKAGES[name]) is None:
            raise ValueError(f"report_to={name!r} needs the {_PACKAGES[name]} package, which is not installed: "
                             f"pip install 'gigpo[{EXTRAS[name]}]'")
    return names


def open_tracking(report_to: Any, run_dir: str | Path, *, project: str, run_name: str | None,
                  config: Mapping[str, Any], resume: bool = False, start: int = 0) -> TrackingSession:
    """Start (or, with ``resume``, continue) one tracker run per backend of ``report_to`` for the output folder
    ``run_dir``; ``run_name`` None: the folder's name. ``config`` becomes the run's parameters. No backend asked
    for: an empty session, nothing imported."""
    names = check_report_to(report_to)
    run_dir = Path(run_dir)
    if not names:
        return TrackingSession([], None)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / TRACKING_FILE
    saved = json.loads(state_path.read_text()) if resume and state_path.exists() else {}
    name = run_name or run_dir.resolve().name
    trackers = []
    for backend in names:
        module, cls = _ADAPTERS[backend].split(":")
        adapter = getattr(importlib.import_module(module), cls)
        trackers.append(adapter(run_dir, project=project, run_name=name, config=dict(config),
                                saved=saved.get(backend), start=start))
    return TrackingSession(trackers, state_path, saved)
