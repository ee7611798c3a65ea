"""A rollout table from ``envs.StepRecord`` lists (what ``envs.GroupRunner.records`` holds), for the notebooks."""
from __future__ import annotations

from collections.abc import Sequence

from envs import StepRecord
from gigpo.run_files.rollout_table import RolloutTable, anchor_key


def table_from_records(records: Sequence[StepRecord]) -> RolloutTable:
    """One row per record (tuple anchors as their ``repr``, :func:`anchor_key`); ``done`` is terminated or truncated, ``info`` keeps ``valid`` and ``won``."""
    return RolloutTable.from_columns({
        "group_id": [r.group_id for r in records], "traj_id": [r.traj_id for r in records],
        "step": [r.step for r in records], "anchor": [anchor_key(r.anchor) for r in records],
        "observation": [r.observation for r in records], "action": [r.action for r in records],
        "reward": [float(r.reward) for r in records],
        "done": [bool(r.terminated or r.truncated) for r in records],
        "info": [{"valid": bool(r.valid), "won": bool(r.won)} for r in records],
    }, source="step records")
