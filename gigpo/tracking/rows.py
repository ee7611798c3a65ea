"""What a tracker can hold of a metrics row or a config: flat names with numbers (metrics) or simple values (params)."""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def scalar_metrics(row: Mapping[str, Any], *, skip: tuple[str, ...] = (), prefix: str = "",
                   suffix: str = "") -> dict[str, float]:
    """Every finite number of ``row`` by name; a list or dict value becomes ``name/<index or key>``.

    Strings (e.g. the lab's ``estimator``) and None/NaN/inf are left out: a tracker plots numbers, and the jsonl files
    write a non-finite value as null, so leaving it out keeps the tracker equal to the file. Bools count as 0/1.
    ``prefix``/``suffix`` wrap every name (the lab's ``success_rate/gigpo/seed0``).
    """
    out: dict[str, float] = {}

    def visit(name: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                visit(f"{name}/{k}", v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                visit(f"{name}/{i}", v)
        elif isinstance(value, (bool, int, float)) and math.isfinite(value):
            out[f"{prefix}{name}{suffix}"] = float(value)

    for key, value in row.items():
        if key not in skip:
            visit(key, value)
    return out


def flat_params(config: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    """A config as one value per field: numbers, strings and bools as they are, None as ``"None"``, lists and dicts
    as JSON (trackers take flat key-value parameters; ``config.json`` keeps the structured form)."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in config.items():
        if value is None:
            out[key] = "None"
        elif isinstance(value, (bool, int, float, str)):
            out[key] = value
        else:
            out[key] = json.dumps(value, sort_keys=True)
    return out


def lab_step_metrics(rows: list[Mapping[str, Any]]) -> list[tuple[int, dict[str, float]]]:
    """The credit lab's ``lab.jsonl`` rows as ``(iteration, metrics)`` in iteration order, every (estimator, seed)
    run's numbers at once as ``<key>/<estimator>/seed<seed>`` (one tracker run holds the whole comparison; a step
    is logged once, as W&B requires)."""
    by_step: dict[int, dict[str, float]] = {}
    for row in rows:
        by_step.setdefault(int(row["iteration"]), {}).update(scalar_metrics(
            row, skip=("estimator", "seed", "iteration"), suffix=f"/{row['estimator']}/seed{row['seed']}"))
    return sorted(by_step.items())
