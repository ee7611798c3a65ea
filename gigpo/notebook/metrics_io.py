"""Training metrics for the notebooks: the ``metrics.jsonl`` reader (:mod:`gigpo.run_files.metrics`) and summaries
of runs across seeds, written as CSV and markdown tables.

Plain lists of dicts, no DataFrame: the notebooks plot them with :mod:`gigpo.notebook.plots`.
"""
from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gigpo.run_files.metrics import METRICS_FILE, metrics_path, read_metrics, without_measurements

__all__ = ["METRICS_FILE", "metrics_path", "read_metrics", "without_measurements", "numeric_keys", "series",
           "final_value", "summarize_runs", "to_markdown", "write_csv"]


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
