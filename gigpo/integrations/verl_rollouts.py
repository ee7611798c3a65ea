"""A verl-agent batch as a rollout table, written inside the verl-agent run (so no pickled batch is ever loaded).

verl-agent's multi-turn rollout loop returns one ``DataProto`` row per environment step, with the per-step fields
in ``non_tensor_batch`` as numpy object arrays: ``uid`` (the task group), ``traj_uid`` (the rollout), ``anchor_obs``
(the anchor state's text), ``rewards`` (the step's reward) and ``active_masks`` (False on padding rows). Rows of one
rollout come in time order (step t of every rollout, then step t + 1), so a row's ``step`` is the number of earlier
rows of its rollout. Two lines in verl-agent's ``ray_trainer.py`` (docs/scale.md)::

    from gigpo.integrations.verl_rollouts import save_rollouts
    save_rollouts(batch, f"{self.config.trainer.default_local_dir}/rollouts/step_{self.global_steps}.jsonl")

then ``python -m gigpo inspect .../step_10.jsonl --out inspect`` on any machine.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gigpo.run_files.rollout_table import RolloutTable, steps_in_order, write_rollout_table

FIELDS = ("uid", "traj_uid", "anchor_obs", "rewards", "active_masks")


def _plain(values: np.ndarray) -> list:
    """numpy scalars (``np.str_``, ``np.int64``) as Python values, so the table's type checks see str/int."""
    return [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]


def rollout_table_from_batch(data: Any, *, tokenizer=None, observation_key: str | None = None) -> RolloutTable:
    """The rollout table of a verl-agent batch (``data.non_tensor_batch`` holding :data:`FIELDS`).

    Rows whose ``active_masks`` is False are left out. ``observation``: ``non_tensor_batch[observation_key]`` when
    given, else the anchor text. ``action``: the decoded response (``data.batch["responses"]`` under
    ``response_mask`` or ``attention_mask``) when a ``tokenizer`` is given, else an empty string.
    """
    fields = getattr(data, "non_tensor_batch", None)
    if not isinstance(fields, dict):
        raise ValueError("expected a verl DataProto (an object with a dict .non_tensor_batch)")
    missing = [k for k in FIELDS if k not in fields]
    if missing:
        raise ValueError(f"non_tensor_batch lacks {missing}; a verl-agent step batch has {list(FIELDS)}")
    n = len(fields["uid"])
    for key in FIELDS + ((observation_key,) if observation_key else ()):
        if key not in fields:
            raise ValueError(f"non_tensor_batch lacks {key!r}")
        if np.asarray(fields[key]).shape != (n,):
            raise ValueError(f"non_tensor_batch[{key!r}] has shape {np.asarray(fields[key]).shape}, expected ({n},)")
    active = np.asarray(fields["active_masks"])
    if active.dtype != bool:
        raise ValueError(f"active_masks must hold bools, got {active.dtype}")
    keep = np.flatnonzero(active)
    traj = _plain(np.asarray(fields["traj_uid"], dtype=object)[keep])
    step = steps_in_order(traj)
    anchors = _plain(np.asarray(fields["anchor_obs"], dtype=object)[keep])
    observations = (_plain(np.asarray(fields[observation_key], dtype=object)[keep]) if observation_key
                    else list(anchors))
    actions = _decoded_responses(data, keep, tokenizer) if tokenizer is not None else [""] * len(keep)
    return RolloutTable.from_columns({
        "group_id": _plain(np.asarray(fields["uid"], dtype=object)[keep]), "traj_id": traj, "step": step,
        "anchor": anchors, "observation": observations, "action": actions,
        "reward": np.asarray(fields["rewards"], dtype=np.float64)[keep],
    }, source="verl-agent batch", where=lambda i: f"batch row {int(keep[i])}")


def _decoded_responses(data: Any, keep: np.ndarray, tokenizer) -> list[str]:
    batch = data.batch
    responses = batch["responses"]
    mask = batch["response_mask"] if "response_mask" in batch.keys() else \
        batch["attention_mask"][:, -responses.shape[-1]:]
    return [tokenizer.decode(responses[i][mask[i].bool()].tolist(), skip_special_tokens=True) for i in keep.tolist()]


def save_rollouts(data: Any, path: str | Path, *, tokenizer=None, observation_key: str | None = None) -> Path:
    """Write :func:`rollout_table_from_batch` of ``data`` to ``path`` (``.jsonl``, or ``.parquet`` with pyarrow)."""
    table = rollout_table_from_batch(data, tokenizer=tokenizer, observation_key=observation_key)
    return write_rollout_table(table, path)
