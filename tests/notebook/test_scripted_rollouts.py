"""Scripted epsilon-expert rollouts and the record helpers the notebooks build on."""
import pytest

from envs import StepRecord
from gigpo.notebook.scripted_rollouts import (
    anchor_disagreements,
    collect_group,
    collect_groups,
    outcomes,
    record_anchors,
    records_details,
)


def test_same_arguments_give_the_same_rollouts():
    a = collect_group("sokoban", 3, group_size=4, epsilon=0.5, seed=7)
    b = collect_group("sokoban", 3, group_size=4, epsilon=0.5, seed=7)
    c = collect_group("sokoban", 3, group_size=4, epsilon=0.5, seed=8)
    assert a == b
    assert [r.action for r in a] != [r.action for r in c]


def test_pure_expert_rollouts_all_win_along_one_path():
    records = collect_group("sokoban", 0, group_size=3, epsilon=0.0, seed=0)
    by_traj = {}
    for r in records:
        by_traj.setdefault(r.traj_id, []).append(r.action)
    assert len(set(map(tuple, by_traj.values()))) == 1  # the expert is deterministic
    assert all(o["won"] for o in outcomes(records).values())
    details = records_details(records)
    length = len(next(iter(by_traj.values())))
    assert details.num_step_groups == length  # the 3 rollouts share every state: one group per time step
    assert details.step_group_size.tolist() == [3] * len(records)


def test_random_actions_are_admissible_and_groups_stay_within_their_task():
    records = collect_groups("household", [0, 1], group_size=3, epsilon=1.0, seed=0, env_options={"max_steps": 5})
    assert all(r.valid for r in records)
    assert {r.group_id for r in records} == {0, 1} and {r.traj_id for r in records} == set(range(6))
    details = records_details(records)
    group_of = {}
    for r, g in zip(records, details.step_group.tolist()):
        assert group_of.setdefault(g, r.group_id) == r.group_id


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="epsilon"):
        collect_group("sokoban", 0, epsilon=1.5)
    with pytest.raises(ValueError, match="group_size"):
        collect_group("sokoban", 0, group_size=0)
    records = collect_group("sokoban", 0, group_size=2, epsilon=0.0)
    with pytest.raises(ValueError, match="anchor='observation'"):
        records_details(records, anchor="state", similarity=0.9)
    with pytest.raises(ValueError, match="unknown anchor source"):
        record_anchors(records, "pixels")
    with pytest.raises(ValueError, match="empty"):
        records_details([])


def _rec(traj, step, state, obs, reward=0.0, won=False):
    return StepRecord(group_id=0, traj_id=traj, step=step, observation=obs, anchor=state, admissible_actions=("x",),
                      action="x", valid=True, reward=reward, terminated=won, truncated=False, won=won)


def test_outcomes_and_anchor_disagreements_by_hand():
    records = [_rec(0, 0, "s0", "start"), _rec(1, 0, "s0", "start"),
               _rec(0, 1, "s1", "Nothing happens."), _rec(1, 1, "s2", "Nothing happens."),
               _rec(0, 2, "s1", "You look around.", reward=2.0, won=True)]
    assert outcomes(records) == {0: {"won": True, "return": 2.0, "length": 3},
                                 1: {"won": False, "return": 0.0, "length": 2}}
    found = anchor_disagreements(records)
    assert found["merged"] == [("Nothing happens.", 2, 2)]  # one text, two states
    assert found["split"] == [("s1", 2, 2)]  # one state, two texts
    # the two anchors therefore group differently: text merges s1/s2, state splits the texts
    assert records_details(records, anchor="state").num_step_groups == 3
    assert records_details(records, anchor="observation").num_step_groups == 3
    assert records_details(records, anchor="state").step_group.tolist() == [0, 0, 1, 2, 1]
    assert records_details(records, anchor="observation").step_group.tolist() == [0, 0, 1, 1, 2]
