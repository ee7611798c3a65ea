"""``LabConfig.save_rollouts``: one rollout table per (estimator, seed, iteration) that agrees with lab.jsonl."""
import json

import pytest

from gigpo.lab import LabConfig
from gigpo.lab.loop import run_lab
from gigpo.run_files.rollout_table import read_rollout_table


def test_lab_writes_a_table_per_iteration_that_matches_its_lab_rows(tmp_path):
    cfg = LabConfig(task_pool=4, num_groups=2, group_size=3, iterations=2, seeds=[0], estimators=["gigpo", "grpo"],
                    prior_success=None, prior_beta=1.0, output_dir=str(tmp_path), save_rollouts=True)
    run_lab(cfg)
    rows = [json.loads(line) for line in (tmp_path / "lab.jsonl").read_text().splitlines()]
    for row in rows:
        path = tmp_path / "rollouts" / f"{row['estimator']}_seed0" / f"iter_{row['iteration']:04d}.jsonl"
        table = read_rollout_table(path)
        assert table.num_rows == row["rows"]
        assert len(set(table.traj_id)) == 6 and len(set(table.group_id)) == 2
        assert table.reward.sum() / 6 == pytest.approx(row["mean_return"])  # no filter: the update batch is played
        assert all(type(a) is int for a in table.anchor) and all(table.action)
    assert sorted(p.name for p in (tmp_path / "rollouts").iterdir()) == ["gigpo_seed0", "grpo_seed0"]


def test_save_rollouts_needs_an_output_dir():
    with pytest.raises(ValueError, match="save_rollouts=True needs an output_dir"):
        LabConfig(output_dir=None, save_rollouts=True)
