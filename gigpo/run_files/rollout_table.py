"""The rollout table: one row per environment step, the format ``gigpo inspect`` reads and runs write.

Columns (docs/inspect.md has the full description):

- ``group_id``: the task group (the N rollouts of one task share it); all ints or all strings;
- ``traj_id``: the rollout; all ints or all strings; every row of a rollout carries the same ``group_id``;
- ``step``: the step's index in its rollout, an int >= 0, strictly increasing down the rows of a rollout (rollouts
  may be interleaved);
- ``anchor``: the environment state the step was taken from (the key of GiGPO's step groups), all ints or all strings;
- ``observation``, ``action``: what the agent saw and did, strings;
- ``reward``: the step's reward, a finite number;
- optional ``done`` (bool) and ``info`` (a JSON object, or null).

Two encodings, the same columns: JSON Lines (``.jsonl``, one object per line, always available) and Parquet
(``.parquet``, needs ``pyarrow``; ``info`` is stored as JSON text there). Nothing is ever unpickled: any other file
kind is refused. :func:`read_rollout_table` validates the whole table and raises :class:`RolloutTableError` (a
``ValueError``) naming the column, the row and the problem.
"""
from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REQUIRED = ("group_id", "traj_id", "step", "anchor", "observation", "action", "reward")
OPTIONAL = ("done", "info")
COLUMNS = REQUIRED + OPTIONAL
FORMATS = (".jsonl", ".parquet")


class RolloutTableError(ValueError):
    """A rollout table that cannot be read: the message names the file, the column and the row."""


@dataclass(frozen=True)
class RolloutTable:
    """A validated rollout table, column by column (build it with :meth:`from_rows` or :meth:`from_columns`)."""

    group_id: list  # int or str, one type per column
    traj_id: list
    step: np.ndarray  # int64
    anchor: list  # int or str
    observation: list[str]
    action: list[str]
    reward: np.ndarray  # float64
    done: np.ndarray | None = None  # bool
    info: list[dict | None] | None = None

    @property
    def num_rows(self) -> int:
        return len(self.reward)

    def __len__(self) -> int:
        return self.num_rows

    def rows(self) -> Iterator[dict[str, Any]]:
        """The rows as dicts (JSON-ready: Python ints, floats and bools), optional columns only when present."""
        for i in range(self.num_rows):
            row = {"group_id": self.group_id[i], "traj_id": self.traj_id[i], "step": int(self.step[i]),
                   "anchor": self.anchor[i], "observation": self.observation[i], "action": self.action[i],
                   "reward": float(self.reward[i])}
            if self.done is not None:
                row["done"] = bool(self.done[i])
            if self.info is not None:
                row["info"] = self.info[i]
            yield row

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], *, source: str = "rollout table",
                  where: Callable[[int], str] | None = None) -> "RolloutTable":
        """Validate row dicts (every row must have the same columns) and build the table."""
        rows = list(rows)
        if not rows:
            raise RolloutTableError(f"{source}: no rows")
        where = where or (lambda i: f"row {i}")
        columns: dict[str, list] = {}
        first = set(rows[0])
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise RolloutTableError(f"{source}: {where(i)} is a {type(row).__name__}, not an object of columns")
            if set(row) != first:
                missing, extra = sorted(first - set(row)), sorted(set(row) - first)
                raise RolloutTableError(f"{source}: {where(i)} has different columns from the first row "
                                        f"(missing {missing}, extra {extra}); every row needs the same columns")
        for name in rows[0]:
            columns[name] = [row[name] for row in rows]
        return cls.from_columns(columns, source=source, where=where)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence], *, source: str = "rollout table",
                     where: Callable[[int], str] | None = None) -> "RolloutTable":
        """Validate columns (name -> one value per row) and build the table."""
        where = where or (lambda i: f"row {i}")
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise RolloutTableError(f"{source}: missing column(s) {missing}; a rollout table needs {list(REQUIRED)} "
                                    f"(optional: {list(OPTIONAL)})")
        unknown = sorted(set(columns) - set(COLUMNS))
        if unknown:
            raise RolloutTableError(f"{source}: unknown column(s) {unknown}; the columns are {list(COLUMNS)} "
                                    "(put anything else in `info`)")
        n = len(columns["reward"])
        if n == 0:
            raise RolloutTableError(f"{source}: no rows")
        for name, values in columns.items():
            if len(values) != n:
                raise RolloutTableError(f"{source}: column {name!r} has {len(values)} values, `reward` has {n}")
        check = _Checker(source, where)
        table = cls(
            group_id=check.ids(columns["group_id"], "group_id"),
            traj_id=check.ids(columns["traj_id"], "traj_id"),
            step=check.steps(columns["step"]),
            anchor=check.ids(columns["anchor"], "anchor"),
            observation=check.texts(columns["observation"], "observation"),
            action=check.texts(columns["action"], "action"),
            reward=check.rewards(columns["reward"]),
            done=check.flags(columns["done"]) if "done" in columns else None,
            info=check.infos(columns["info"]) if "info" in columns else None,
        )
        check.structure(table)
        return table


class _Checker:
    """Column checks with messages that name the source, the column and the first offending row."""

    def __init__(self, source: str, where: Callable[[int], str]):
        self.source, self.where = source, where

    def fail(self, message: str) -> None:
        raise RolloutTableError(f"{self.source}: {message}")

    def ids(self, values: Sequence, name: str) -> list:
        """Ints (numpy ints become Python ints) or strings, one kind per column; never bools, floats or None."""
        out = list(values)
        kinds: dict[type, int] = {}
        for i, v in enumerate(out):
            if isinstance(v, str):
                kind = str
            elif isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)):
                kind = int
                if type(v) is not int:
                    out[i] = int(v)
            else:
                self.fail(f"column {name!r} at {self.where(i)} is {v!r} ({type(v).__name__}); ids must be ints or "
                          "strings")
            if kind not in kinds:
                kinds[kind] = i
                if len(kinds) > 1:
                    a, b = sorted(kinds.items(), key=lambda kv: kv[1])
                    self.fail(f"column {name!r} mixes id types: {a[0].__name__} at {self.where(a[1])}, "
                              f"{b[0].__name__} at {self.where(b[1])}; use one type for the whole column")
        return out

    def steps(self, values: Sequence) -> np.ndarray:
        for i, v in enumerate(values):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 0:
                self.fail(f"column 'step' at {self.where(i)} is {v!r}; steps must be ints >= 0")
        return np.asarray(values, dtype=np.int64).reshape(-1)

    def texts(self, values: Sequence, name: str) -> list[str]:
        out = list(values)
        for i, v in enumerate(out):
            if not isinstance(v, str):
                self.fail(f"column {name!r} at {self.where(i)} is {type(v).__name__} {v!r}; it must be a string")
        return out

    def rewards(self, values: Sequence) -> np.ndarray:
        for i, v in enumerate(values):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                self.fail(f"column 'reward' at {self.where(i)} is {v!r}; rewards must be finite numbers")
        return np.asarray(values, dtype=np.float64).reshape(-1)

    def flags(self, values: Sequence) -> np.ndarray:
        for i, v in enumerate(values):
            if not isinstance(v, (bool, np.bool_)):
                self.fail(f"column 'done' at {self.where(i)} is {v!r}; it must be true or false")
        return np.asarray(values, dtype=bool).reshape(-1)

    def infos(self, values: Sequence) -> list[dict | None]:
        out = list(values)
        for i, v in enumerate(out):
            if v is not None and not isinstance(v, dict):
                self.fail(f"column 'info' at {self.where(i)} is {type(v).__name__}; it must be an object or null")
        return out

    def structure(self, t: RolloutTable) -> None:
        """Each trajectory sits in one task group, and its steps increase down the rows."""
        traj, num_traj = codes(t.traj_id)
        group, _ = codes(t.group_id)
        group_of_traj = np.empty(num_traj, dtype=np.int64)
        first_row = np.full(num_traj, len(traj), dtype=np.int64)
        np.minimum.at(first_row, traj, np.arange(len(traj)))
        group_of_traj[:] = group[first_row]
        split = np.flatnonzero(group_of_traj[traj] != group)
        if split.size:
            i = int(split[0])
            j = int(first_row[traj[i]])
            self.fail(f"trajectory {t.traj_id[i]!r} is split across groups: group_id {t.group_id[j]!r} at "
                      f"{self.where(j)}, {t.group_id[i]!r} at {self.where(i)}; a rollout belongs to one task group")
        order = np.argsort(traj, kind="stable")  # each trajectory's rows, in row order
        same = traj[order][1:] == traj[order][:-1]
        bad = np.flatnonzero(same & (t.step[order][1:] <= t.step[order][:-1]))
        if bad.size:
            a, b = int(order[bad[0]]), int(order[bad[0] + 1])
            self.fail(f"steps out of order within trajectory {t.traj_id[a]!r}: step {int(t.step[a])} at "
                      f"{self.where(a)}, then step {int(t.step[b])} at {self.where(b)}; a trajectory's steps must "
                      "increase down the rows")


def anchor_key(anchor: Any) -> int | str:
    """An anchor as the table stores it: strings and ints as they are, any other hashable key (the environments'
    tuples) as its ``repr``, which is equal exactly when the keys are for tuples of ints, strings and bools."""
    if isinstance(anchor, str):
        return str(anchor)
    if isinstance(anchor, numbers.Integral) and not isinstance(anchor, (bool, np.bool_)):
        return int(anchor)
    return repr(anchor)


def steps_in_order(traj_ids: Sequence) -> list[int]:
    """Each row's step when rows of a trajectory come in time order: how many rows of its trajectory precede it."""
    seen: dict = {}
    out = []
    for t in traj_ids:
        out.append(seen.get(t, 0))
        seen[t] = out[-1] + 1
    return out


def table_from_step_records(records: Sequence) -> RolloutTable:
    """A table from ``envs.StepRecord``-like objects (``envs.GroupRunner.records``): one row per record, anchors
    through :func:`anchor_key`, ``done`` = terminated or truncated, ``info`` keeps ``valid`` and ``won``."""
    return RolloutTable.from_columns({
        "group_id": [r.group_id for r in records], "traj_id": [r.traj_id for r in records],
        "step": [r.step for r in records], "anchor": [anchor_key(r.anchor) for r in records],
        "observation": [r.observation for r in records], "action": [r.action for r in records],
        "reward": [float(r.reward) for r in records],
        "done": [bool(r.terminated or r.truncated) for r in records],
        "info": [{"valid": bool(r.valid), "won": bool(r.won)} for r in records],
    }, source="step records")


def codes(values: Sequence) -> tuple[np.ndarray, int]:
    """Dense int64 codes of hashable values in order of first appearance, and how many there are."""
    seen: dict = {}
    out = np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.int64, count=len(values))
    return out, len(seen)


# --- files --------------------------------------------------------------------------------------------------------
def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RolloutTableError(f"{path}: unsupported file kind {suffix or '(no suffix)'!r}; rollout tables are "
                                f"{' or '.join(FORMATS)} (nothing pickled is ever loaded)")
    return suffix


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise RolloutTableError("Parquet rollout tables need pyarrow (`pip install pyarrow`); or write .jsonl") \
            from None
    return pyarrow


def write_rollout_table(table: RolloutTable, path: str | Path) -> Path:
    """Write ``table`` to ``path`` (``.jsonl`` or ``.parquet``), atomically: a reader never sees half a file."""
    path = Path(path)
    fmt = _format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if fmt == ".jsonl":
            with open(tmp, "w", encoding="utf-8") as f:
                for row in table.rows():
                    f.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
        else:
            pa = _pyarrow()
            cols: dict[str, Any] = {"group_id": table.group_id, "traj_id": table.traj_id, "step": table.step,
                                    "anchor": table.anchor, "observation": table.observation,
                                    "action": table.action, "reward": table.reward}
            if table.done is not None:
                cols["done"] = table.done
            if table.info is not None:
                cols["info"] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in table.info]
            pa.parquet.write_table(pa.table(cols), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_rollout_table(path: str | Path) -> RolloutTable:
    """Load and validate a rollout table (``.jsonl`` or ``.parquet``); raises :class:`RolloutTableError`."""
    path = Path(path)
    fmt = _format(path)
    if not path.is_file():
        raise RolloutTableError(f"{path}: no such file")
    if fmt == ".jsonl":
        rows, lines = [], []
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise RolloutTableError(f"{path}: line {number} is not JSON ({exc.msg})") from None
                lines.append(number)
        return RolloutTable.from_rows(rows, source=str(path), where=lambda i: f"line {lines[i]}")
    pa = _pyarrow()
    try:
        columns = pa.parquet.read_table(path).to_pydict()
    except (pa.ArrowException, OSError) as exc:
        raise RolloutTableError(f"{path}: not a readable Parquet file ({exc})") from None
    if "info" in columns:
        try:
            columns["info"] = [None if v is None else json.loads(v) for v in columns["info"]]
        except (TypeError, json.JSONDecodeError) as exc:
            raise RolloutTableError(f"{path}: column 'info' must hold JSON text in Parquet ({exc})") from None
    return RolloutTable.from_columns(columns, source=str(path))
