"""Advantages of a rollout table under each estimator, the step groups, and ``advantages.csv``.

:func:`inspect_table` runs the library's estimators (``gigpo.estimators`` registry) on the table's columns, plus
GiGPO's detailed form for its episode and step parts (``A_E``, ``A_S``, paper Eq. 3 and 7) and its step groups
(Eq. 6). Options: ``shared`` settings (gamma, norm, ...) go to every estimator that takes them, so an estimator keeps
its own default for what is not given (GraphGPO's gamma is 0.1, GiGPO's 0.95); ``per_estimator`` overrides them.
"""
from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gigpo.estimators import AdvantageDetails, advantage_details, applicable_options, compute_advantages
from gigpo.estimators.registry import get_estimator
from gigpo.run_files.rollout_table import RolloutTable

DEFAULT_ESTIMATORS = ("gigpo", "grpo", "rloo", "hgpo", "graphgpo")
CSV_KEYS = ("group_id", "traj_id", "step", "anchor", "A_E", "A_S")


@dataclass(frozen=True)
class InspectedBatch:
    """A rollout table with GiGPO's details and each estimator's advantage per row (float64 numpy arrays)."""

    table: RolloutTable
    details: AdvantageDetails
    advantages: dict[str, np.ndarray]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def step_group(self) -> np.ndarray:
        return self.details.step_group.numpy()

    @property
    def step_group_size(self) -> np.ndarray:
        return self.details.step_group_size.numpy()


def estimator_options(estimators: Sequence[str], shared: Mapping[str, Any] | None = None,
                      per_estimator: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Options for each estimator: the ``shared`` ones it accepts, then its own ``per_estimator`` entries."""
    shared = {k: v for k, v in (shared or {}).items() if v is not None}
    per_estimator = dict(per_estimator or {})
    stray = sorted(set(per_estimator) - set(estimators) - {"gigpo"})
    if stray:
        raise ValueError(f"options given for {stray}, which are not among the estimators {list(estimators)}")
    out = {}
    for name in dict.fromkeys([*estimators, "gigpo"]):
        get_estimator(name)  # an unknown name raises, listing the registered ones
        out[name] = {**applicable_options(name, shared), **per_estimator.get(name, {})}
    return out


def inspect_table(table: RolloutTable, estimators: Sequence[str] = DEFAULT_ESTIMATORS, *,
                  shared: Mapping[str, Any] | None = None,
                  per_estimator: Mapping[str, Mapping[str, Any]] | None = None,
                  progress=None) -> InspectedBatch:
    """Every estimator's advantage per row, and GiGPO's details (``A_E``, ``A_S``, step groups).

    ``progress``: an optional tqdm-like bar, advanced once per estimator.
    """
    if not estimators or len(set(estimators)) != len(estimators):
        raise ValueError(f"estimators must be a non-empty list of distinct names, got {list(estimators)!r}")
    options = estimator_options(estimators, shared, per_estimator)
    cols = (table.group_id, table.traj_id, table.reward, table.anchor)
    details = advantage_details(*cols, **options["gigpo"])
    advantages = {}
    for name in estimators:
        if progress is not None:
            progress.set_postfix_str(name)
        if name == "gigpo":
            advantages[name] = details.advantage.double().numpy()
        else:
            advantages[name] = compute_advantages(name, *cols, **options[name]).double().numpy()
        if progress is not None:
            progress.update(1)
    return InspectedBatch(table, details, advantages, {k: options[k] for k in estimators})


def write_advantages_csv(batch: InspectedBatch, path: str | Path) -> Path:
    """``advantages.csv``: one row per step, ``group_id, traj_id, step, anchor, A_E, A_S`` and one column per
    estimator, in the table's row order (full float precision)."""
    path = Path(path)
    t, d = batch.table, batch.details
    names = list(batch.advantages)
    columns = [t.group_id, t.traj_id, t.step.tolist(), t.anchor, d.episode_adv.double().tolist(),
               d.step_adv.double().tolist(), *(batch.advantages[n].tolist() for n in names)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CSV_KEYS, *names])
        writer.writerows(zip(*columns))
    return path


def summary_counts(batch: InspectedBatch) -> dict[str, float]:
    """How much anchor grouping the batch has: rows, task groups, trajectories, step groups and their sizes."""
    d = batch.details
    sizes = np.bincount(batch.step_group, minlength=d.num_step_groups)
    return {
        "rows": batch.table.num_rows,
        "task_groups": d.num_groups,
        "trajectories": d.num_trajectories,
        "step_groups": d.num_step_groups,
        "step_groups_of_2_or_more": int((sizes > 1).sum()),
        "largest_step_group": int(sizes.max()),
        "mean_step_group_size": float(sizes.mean()),
        "mean_step_group_size_per_row": float(batch.step_group_size.mean()),
        "share_of_rows_grouped": float((batch.step_group_size > 1).mean()),
    }


def step_group_size_counts(batch: InspectedBatch) -> dict[int, int]:
    """How many step groups have each size (size -> count)."""
    sizes = np.bincount(batch.step_group, minlength=batch.details.num_step_groups)
    values, counts = np.unique(sizes, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


def largest_step_groups(batch: InspectedBatch, k: int = 20) -> list[dict[str, Any]]:
    """The ``k`` largest step groups (ties: first appearance): their task group, anchor, size, how many
    trajectories and which steps they hold, and the spread of their discounted returns and of ``A_S``."""
    t, d = batch.table, batch.details
    labels = batch.step_group
    sizes = np.bincount(labels, minlength=d.num_step_groups)
    top = np.argsort(-sizes, kind="stable")[:k]
    first = np.full(d.num_step_groups, len(labels), dtype=np.int64)
    np.minimum.at(first, labels, np.arange(len(labels)))
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], top)
    ret, a_s, traj = d.step_returns.double().numpy(), d.step_adv.double().numpy(), d.traj_index.numpy()
    out = []
    for label, start in zip(top.tolist(), bounds.tolist()):
        rows = order[start:start + sizes[label]]
        i = int(first[label])
        out.append({"group_id": t.group_id[i], "anchor": t.anchor[i], "size": int(sizes[label]),
                    "trajectories": int(np.unique(traj[rows]).size),
                    "steps": sorted(set(t.step[rows].tolist())),
                    "return_min": float(ret[rows].min()), "return_max": float(ret[rows].max()),
                    "A_S_min": float(a_s[rows].min()), "A_S_max": float(a_s[rows].max())})
    return out
