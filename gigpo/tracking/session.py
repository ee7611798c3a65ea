"""A run's trackers driven together: metrics at their step, artifacts and closing at the end, ``tracking.json``."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gigpo.run_files.durable_files import write_text_atomic
from gigpo.run_files.run_folder import TRACKER_ENTRIES, TRACKING_FILE
from gigpo.tracking.rows import scalar_metrics
from gigpo.tracking.tracker import Tracker

__all__ = ["TRACKER_ENTRIES", "TRACKING_FILE", "TrackingSession"]  # the names a run's trackers write into its folder


class TrackingSession:
    """The open trackers of one run (none: every call is a no-op, nothing imported or written).

    Each tracker logs from its own ``first_step`` on, so a resumed run neither repeats nor (where the backend can
    purge) keeps steps of the try before.
    """

    def __init__(self, trackers: Sequence[Tracker], state_path: Path | None,
                 saved: Mapping[str, Any] | None = None):
        self.trackers = list(trackers)
        self.state_path = state_path
        self._first = {t.name: t.first_step for t in self.trackers}
        self._last = {t.name: (saved or {}).get(t.name, {}).get("last_step") for t in self.trackers}

    def __bool__(self) -> bool:
        return bool(self.trackers)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        """``metrics`` (flat name -> number) at ``step`` in every tracker that has not logged that step yet."""
        if not self.trackers:
            return
        for tracker in self.trackers:
            if step >= self._first[tracker.name]:
                tracker.log_metrics(dict(metrics), step)
                self._last[tracker.name] = step
        self._save()

    def log_row(self, row: Mapping[str, Any]) -> None:
        """A ``metrics.jsonl`` row: every numeric key at its ``iteration``."""
        if self.trackers:
            self.log(scalar_metrics(row), int(row["iteration"]))

    def finish(self, artifacts: Sequence[Path] = ()) -> None:
        """Attach ``artifacts`` (where the backend has them) and close every tracker run."""
        for tracker in self.trackers:
            for path in artifacts:
                tracker.log_artifact(Path(path))
            tracker.close()
        self._save()

    def _save(self) -> None:
        if self.state_path is None or not self.trackers:
            return
        state = {t.name: {**t.state(), "last_step": self._last[t.name]} for t in self.trackers}
        write_text_atomic(self.state_path, json.dumps(state, indent=1, sort_keys=True) + "\n")
