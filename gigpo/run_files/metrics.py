"""``metrics.jsonl``: one JSON object per training iteration, appended durably by rank 0 and read back by everyone.

Plain lists of dicts, no DataFrame. The file may be read while the trainer is still appending to it, so a
half-written last line is skipped.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gigpo.run_files.durable_files import write_text_atomic

METRICS_FILE = "metrics.jsonl"


def metrics_path(path: str | Path) -> Path:
    """``path`` itself if it is a file, else ``path / metrics.jsonl`` (a run's output directory)."""
    path = Path(path)
    return path / METRICS_FILE if path.is_dir() or path.suffix != ".jsonl" else path


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` file or of a run directory holding one; ``[]`` if it does not exist yet.

    A last line that does not parse is taken as still being written and skipped; a bad line anywhere else raises
    ``ValueError`` naming the line.
    """
    file = metrics_path(path)
    if not file.exists():
        return []
    lines = file.read_text().splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break
            raise ValueError(f"{file}: line {number} is not JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise ValueError(f"{file}: line {number} is not a JSON object")
        records.append(record)
    return records


def write_metrics(run_dir: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Replace the run's ``metrics.jsonl`` by ``records`` atomically (a kill mid-write keeps the old file whole)."""
    write_text_atomic(Path(run_dir) / METRICS_FILE, "".join(json.dumps(dict(r)) + "\n" for r in records))


def append_metrics(run_dir: str | Path, record: Mapping[str, Any]) -> None:
    """Append one row and fsync it, so it is on disk before the checkpoint that counts its iteration as done."""
    with open(Path(run_dir) / METRICS_FILE, "a") as f:
        f.write(json.dumps(dict(record)) + "\n")
        f.flush()
        os.fsync(f.fileno())


def without_measurements(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows without what measures the machine rather than the run (wall-clock ``time_*`` and the memory peaks
    ``*_peak_mem_gib``): what two runs of the same settings must agree on exactly (a resumed run and an
    uninterrupted one, or two runs with the same seed)."""
    return [{k: v for k, v in r.items() if not (k.startswith("time_") or k.endswith("_peak_mem_gib"))}
            for r in records]
