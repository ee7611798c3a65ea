"""``TrainConfig.save_rollouts``' table: a step batch (interleaved rollouts, tuple anchors) as rollout rows."""
from gigpo.estimators import gigpo_advantages
from gigpo.inspect import inspect_table
from gigpo.policy.step_batch import StepBatch
from gigpo.run_files.rollout_table import read_rollout_table
from gigpo.training.rollouts.saved_rollouts import rollout_rows, rollouts_path, save_rollouts


def step_batch():
    # two groups; rollouts 0 and 1 (group 0) interleaved turn by turn, as collect_rollouts appends them
    return StepBatch(group_ids=[0, 0, 1, 0, 0, 0], traj_ids=[0, 1, 2, 0, 1, 1],
                     anchors=[("room", 1), ("room", 1), ("room", 1), ("desk", 0), ("door", 2), ("desk", 0)],
                     rewards=[0.0, -0.1, 1.0, 1.0, 0.0, 1.0], valid=[True, False, True, True, True, True],
                     observations=["o0", "o1", "o2", "o3", "o4", "o5"], actions=["a", "b", "c", "d", "e", "f"])


def test_rollout_rows_counts_steps_per_rollout_and_keeps_the_rewards_the_estimator_saw():
    table = rollout_rows(step_batch())
    assert table.group_id == [0, 0, 1, 0, 0, 0] and table.traj_id == [0, 1, 2, 0, 1, 1]
    assert table.step.tolist() == [0, 0, 0, 1, 1, 2]
    assert table.anchor == ["('room', 1)"] * 3 + ["('desk', 0)", "('door', 2)", "('desk', 0)"]
    assert table.reward.tolist() == [0.0, -0.1, 1.0, 1.0, 0.0, 1.0]
    assert table.action == list("abcdef") and [i["valid"] for i in table.info] == [True, False] + [True] * 4


def test_the_table_groups_like_the_trainer_and_files_go_per_iteration(tmp_path):
    batch = step_batch()
    path = save_rollouts(batch, tmp_path, 7)
    assert path == tmp_path / "rollouts" / "iter_0007.jsonl" == rollouts_path(tmp_path, 7)
    assert rollouts_path(tmp_path, 7, rank=1).name == "iter_0007_rank1.jsonl"
    inspected = inspect_table(read_rollout_table(path), ["gigpo"])
    trainer = gigpo_advantages(batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors).double().numpy()
    assert inspected.advantages["gigpo"].tolist() == trainer.tolist()  # repr anchors group exactly as the tuples
