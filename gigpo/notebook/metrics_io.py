"""Read training metrics back (``metrics.jsonl``, one JSON object per iteration) and summarize runs across seeds.

Plain lists of dicts, no DataFrame: the notebooks plot them with :mod:`gigpo.notebook.plots` and write tables as CSV and
markdown. The file may be read while the trainer is still appending to it, so a half-written last line is skipped.
"""
from __future__ import annotations

import csv
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"  # the trainer's file name (gigpo.training.trainer.METRICS_FILE)


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


def without_measurements(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows without what measures the machine rather than the run (wall-clock ``time_*`` and the memory peaks
    ``*_peak_mem_gib``): what two runs of the same settings must agree on exactly (a resumed run and an
    uninterrupted one, or two runs with the same seed)."""
    return [{k: v for k, v in r.items() if not (k.startswith("time_") or k.endswith("_peak_mem_gib"))}
            for r in records]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def numeric_keys(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keys with a numeric value in at least one record, in order of first appearance."""
    keys: dict[str, None] = {}
    for record in records:
        for key, value in record.items():
            if _number(value) is not None:
                keys.setdefault(key)
    return list(keys)


def series(records: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    """The numeric values of ``key`` in record order (records without it are skipped)."""
    return [v for v in (_number(r.get(key)) for r in records) if v is not None]


def final_value(records: Sequence[Mapping[str, Any]], key: str, last: int = 1) -> float | None:
    """Mean of the last ``last`` values of ``key`` (smooths the end of a noisy curve); None if it never appears."""
    if last < 1:
        raise ValueError(f"last must be >= 1, got {last}")
    values = series(records, key)[-last:]
    return sum(values) / len(values) if values else None


def summarize_runs(runs: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]], keys: Sequence[str], *,
                   last: int = 1) -> list[dict[str, Any]]:
    """One row per label: number of seeds and, per key, the mean and std over seeds of each run's final value.

    ``runs[label]`` holds one list of metric records per seed. A std needs two seeds; with one it is left empty.
    """
    rows = []
    for label, seeds in runs.items():
        row: dict[str, Any] = {"run": label, "seeds": len(seeds)}
        for key in keys:
            finals = [v for v in (final_value(recs, key, last) for recs in seeds) if v is not None]
            row[f"{key} mean"] = statistics.mean(finals) if finals else None
            row[f"{key} std"] = statistics.stdev(finals) if len(finals) > 1 else None
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def to_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """A GitHub markdown table of ``rows`` (columns from the first row)."""
    if not rows:
        raise ValueError("rows is empty: nothing to tabulate")
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write ``rows`` as CSV (columns from the first row); returns the path."""
    if not rows:
        raise ValueError("rows is empty: nothing to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    return path
