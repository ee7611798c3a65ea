"""An iteration's step batch as a rollout table (``TrainConfig.save_rollouts``): what ``gigpo inspect`` reads.

One row per environment step, in the batch's row order: the task group, the rollout, the step within it, the anchor
the estimator grouped on (tuples as their ``repr``), the observation, the action the environment received, and the
reward the estimator saw (the environment's reward minus the invalid-action penalty); ``info`` keeps ``valid``.
"""
from __future__ import annotations

from pathlib import Path

from gigpo.policy.step_batch import StepBatch
from gigpo.run_files.rollout_table import RolloutTable, anchor_key, steps_in_order, write_rollout_table

ROLLOUTS_DIR = "rollouts"


def rollout_rows(batch: StepBatch) -> RolloutTable:
    """The rollout table of one step batch (rows of a rollout are in time order in a ``StepBatch``)."""
    return RolloutTable.from_columns({
        "group_id": list(batch.group_ids), "traj_id": list(batch.traj_ids),
        "step": steps_in_order(batch.traj_ids), "anchor": [anchor_key(a) for a in batch.anchors],
        "observation": list(batch.observations), "action": list(batch.actions), "reward": list(batch.rewards),
        "info": [{"valid": bool(v)} for v in batch.valid],
    }, source="step batch")


def rollouts_path(output_dir: str | Path, iteration: int, rank: int | None = None) -> Path:
    """``<output_dir>/rollouts/iter_<iteration:04d>.jsonl``: one file per iteration; with several ranks, each
    writes the groups it played to ``iter_<iteration:04d>_rank<rank>.jsonl``."""
    suffix = "" if rank is None else f"_rank{int(rank)}"
    return Path(output_dir) / ROLLOUTS_DIR / f"iter_{int(iteration):04d}{suffix}.jsonl"


def save_rollouts(batch: StepBatch, output_dir: str | Path, iteration: int, rank: int | None = None) -> Path:
    """Write the iteration's rollout table to :func:`rollouts_path` (atomically)."""
    return write_rollout_table(rollout_rows(batch), rollouts_path(output_dir, iteration, rank))
