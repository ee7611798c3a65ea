"""The verl-agent exporter on a batch laid out as verl-agent's multi-turn rollout loop returns it: numpy object arrays
of uuid strings and anchor texts in ``non_tensor_batch``, rows interleaved by step, padding rows masked out."""
import uuid

import numpy as np
import pytest
import torch

from gigpo.integrations.verl import rollout_table_from_batch, save_rollouts
from gigpo.run_files.rollout_table import read_rollout_table


class DataProto:  # verl's DataProto as the exporter reads it: .batch (tensors by key) and .non_tensor_batch
    def __init__(self, batch, non_tensor_batch):
        self.batch, self.non_tensor_batch = batch, non_tensor_batch


class CharTokenizer:
    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids)


G = [str(uuid.UUID(int=1)), str(uuid.UUID(int=2))]
T = [str(uuid.UUID(int=10 + i)) for i in range(3)]
# (group, traj, anchor, reward, active, response): step 0 of every rollout, then step 1, then step 2, as verl-agent
# orders them; traj 2 (group 1) ends after one step, so its later rows are padding (active False)
LAYOUT = [(0, 0, "kitchen", 0.0, True, "go"), (0, 1, "kitchen", 0.0, True, "look"), (1, 2, "hall", 1.0, True, "take"),
          (0, 0, "pantry", 1.0, True, "take"), (0, 1, "hall", 0.0, True, "go"), (1, 2, "hall", 0.0, False, ""),
          (0, 1, "pantry", 0.5, True, "take"), (1, 2, "hall", 0.0, False, "")]


def verl_agent_batch():
    n, width = len(LAYOUT), 6
    responses = torch.zeros((n, width), dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, row in enumerate(LAYOUT):
        ids = [ord(c) for c in row[5]]
        responses[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[i, :len(ids)] = 1

    def obj(values):
        return np.array(values, dtype=object)

    return DataProto({"responses": responses, "response_mask": mask}, {
        "uid": obj([G[r[0]] for r in LAYOUT]), "traj_uid": obj([T[r[1]] for r in LAYOUT]),
        "anchor_obs": obj([np.str_(r[2]) for r in LAYOUT]),
        "rewards": np.array([r[3] for r in LAYOUT], dtype=np.float32),
        "active_masks": np.array([r[4] for r in LAYOUT], dtype=bool),
        "raw_prompt": obj([f"prompt {i}" for i in range(n)]),
    })


def test_exporter_keeps_active_rows_counts_steps_and_decodes_actions():
    table = rollout_table_from_batch(verl_agent_batch(), tokenizer=CharTokenizer())
    active = [r for r in LAYOUT if r[4]]
    assert table.group_id == [G[r[0]] for r in active] and table.traj_id == [T[r[1]] for r in active]
    assert table.step.tolist() == [0, 0, 0, 1, 1, 2]  # traj 0: 0, 1; traj 1: 0, 1, 2; traj 2: 0
    assert table.anchor == [r[2] for r in active] and all(type(a) is str for a in table.anchor)
    assert table.reward.tolist() == [r[3] for r in active]
    assert table.action == [r[5] for r in active] and table.observation == table.anchor


def test_exporter_without_tokenizer_and_with_an_observation_field(tmp_path):
    table = rollout_table_from_batch(verl_agent_batch(), observation_key="raw_prompt")
    assert table.action == [""] * 6
    assert table.observation == [f"prompt {i}" for i, r in enumerate(LAYOUT) if r[4]]
    back = read_rollout_table(save_rollouts(verl_agent_batch(), tmp_path / "rollouts" / "step_1.jsonl"))
    assert list(back.rows()) == list(rollout_table_from_batch(verl_agent_batch()).rows())


def test_exporter_errors_name_the_field():
    data = verl_agent_batch()
    del data.non_tensor_batch["anchor_obs"]
    with pytest.raises(ValueError, match=r"lacks \['anchor_obs'\]"):
        rollout_table_from_batch(data)
    data = verl_agent_batch()
    data.non_tensor_batch["rewards"] = data.non_tensor_batch["rewards"][:-1]
    with pytest.raises(ValueError, match=r"non_tensor_batch\['rewards'\] has shape \(7,\), expected \(8,\)"):
        rollout_table_from_batch(data)
    data = verl_agent_batch()
    data.non_tensor_batch["active_masks"] = data.non_tensor_batch["active_masks"].astype(np.float32)
    with pytest.raises(ValueError, match="active_masks must hold bools"):
        rollout_table_from_batch(data)
    data = verl_agent_batch()
    data.non_tensor_batch["uid"][3] = G[1]  # traj 0 now spans two task groups
    with pytest.raises(ValueError, match=r"split across groups: .* at batch row 3"):
        rollout_table_from_batch(data)
