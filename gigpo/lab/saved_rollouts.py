"""``LabConfig.save_rollouts``: each iteration's update batch as a rollout table, for ``gigpo inspect``.

Files go to ``<output_dir>/rollouts/<estimator>_seed<seed>/iter_<iteration:04d>.jsonl``. The anchor is what the
estimators grouped on: the policy's state id (equal within a task group exactly when the env's anchors are), or the
observation text when ``similarity`` is set; the action is the chosen action's text.
"""
from __future__ import annotations

from pathlib import Path

from gigpo.lab.policy import TabularPolicy
from gigpo.lab.rollout import LabBatch
from gigpo.run_files.rollout_table import RolloutTable, steps_in_order, write_rollout_table

ROLLOUTS_DIR = "rollouts"


def lab_rollout_rows(batch: LabBatch, policy: TabularPolicy, *, text_anchors: bool = False) -> RolloutTable:
    """The rollout table of one lab batch (rows of a rollout are in time order in ``runner.records``)."""
    states, chosen = batch.state_ids.tolist(), batch.action_ids.tolist()
    return RolloutTable.from_columns({
        "group_id": batch.group_ids.tolist(), "traj_id": batch.traj_ids.tolist(),
        "step": steps_in_order(batch.traj_ids.tolist()),
        "anchor": list(batch.observations) if text_anchors else states,
        "observation": list(batch.observations),
        "action": [policy.actions[s][a] for s, a in zip(states, chosen)], "reward": batch.rewards,
    }, source="lab batch")


def lab_rollouts_path(output_dir: str | Path, estimator: str, seed: int, iteration: int) -> Path:
    return Path(output_dir) / ROLLOUTS_DIR / f"{estimator}_seed{int(seed)}" / f"iter_{int(iteration):04d}.jsonl"


def save_lab_rollouts(batch: LabBatch, policy: TabularPolicy, path: str | Path, *, text_anchors: bool = False) -> Path:
    return write_rollout_table(lab_rollout_rows(batch, policy, text_anchors=text_anchors), path)
