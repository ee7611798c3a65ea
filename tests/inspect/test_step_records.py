"""Step records of this package's environments as a rollout table: the same step groups and advantages as the
records themselves (tuple anchors stored as their repr), and the demo writes its group as such a table."""
from pathlib import Path

from gigpo.inspect import inspect_table
from gigpo.notebook.demo import show_anchor_groups
from gigpo.notebook.scripted_rollouts import collect_group, records_details
from gigpo.run_files.rollout_table import read_rollout_table, table_from_step_records
from gigpo.training.demo import DEMO_RECIPE


def test_records_table_groups_like_the_records():
    records = collect_group("household", 0, 4, 0.5, seed=1, env_options={"max_steps": 8})
    table = table_from_step_records(records)
    assert table.step.tolist() == [r.step for r in records] and table.done.tolist() == [
        r.terminated or r.truncated for r in records]
    batch = inspect_table(table, ["gigpo"])
    direct = records_details(records, anchor="state")
    assert batch.step_group.tolist() == direct.step_group.tolist()
    assert batch.advantages["gigpo"].tolist() == direct.advantage.double().tolist()


def test_demo_writes_its_anchor_group_table(tmp_path: Path, capsys):
    show_anchor_groups(DEMO_RECIPE["env"], DEMO_RECIPE["env_options"], tmp_path)
    table = read_rollout_table(tmp_path / "anchor_groups.jsonl")
    assert len(set(table.traj_id)) == 8 and set(table.group_id) == {0}
    assert f"python -m gigpo inspect {tmp_path / 'anchor_groups.jsonl'}" in capsys.readouterr().out
