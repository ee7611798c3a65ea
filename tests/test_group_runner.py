"""GroupRunner with Sokoban: group layout, record order, drop-out of finished rollouts, batch columns, errors.

Expected values come from replaying each rollout's actions on a fresh, independent env.
"""
import random

import pytest

import envs
from envs.sokoban import SokobanEnv

SEEDS = [4, 9, 17]
N = 4


def random_policy(seed):
    rng = random.Random(seed)
    return lambda live, obs, infos: [rng.choice(info["admissible_actions"]) for info in infos]


def test_copies_share_first_anchor_within_group_only():
    runner = envs.GroupRunner("sokoban", group_size=N)
    live = runner.reset(SEEDS)
    assert live == list(range(len(SEEDS) * N))
    for g, seed in enumerate(SEEDS):
        _, expected = SokobanEnv().reset(seed=seed)
        assert [runner.infos[g * N + k]["anchor"] for k in range(N)] == [expected["anchor"]] * N
        assert [runner.group_of(g * N + k) for k in range(N)] == [g] * N
    assert len({runner.infos[g * N]["anchor"] for g in range(len(SEEDS))}) == len(SEEDS)


def test_records_interleaved_in_time_order_and_match_replay():
    runner = envs.GroupRunner("sokoban", group_size=N)
    runner.reset(SEEDS)
    records = runner.run(random_policy(0))
    n_envs = len(SEEDS) * N
    # step 0 of every rollout comes first, in rollout order: all were live at the first call
    assert [(r.traj_id, r.step) for r in records[:n_envs]] == [(i, 0) for i in range(n_envs)]
    # within a call the rollouts appear in ascending order; time never goes backwards for a rollout
    last_step = {}
    for r in records:
        assert r.step == last_step.get(r.traj_id, -1) + 1
        last_step[r.traj_id] = r.step
    for traj in range(n_envs):
        rows = [r for r in records if r.traj_id == traj]
        assert len(rows) == runner.steps[traj]
        assert rows[-1].terminated or rows[-1].truncated
        assert not any(r.terminated or r.truncated for r in rows[:-1])
        env = SokobanEnv()  # independent replay of the same actions
        obs, info = env.reset(seed=SEEDS[traj // N])
        for r in rows:
            assert r.group_id == traj // N
            assert (r.observation, r.anchor) == (obs, info["anchor"])
            obs, reward, term, trunc, info = env.step(r.action)
            assert (r.reward, r.terminated, r.truncated, r.won) == (pytest.approx(reward), term, trunc, info["won"])


def test_finished_rollouts_drop_out():
    runner = envs.GroupRunner("sokoban", group_size=2)
    runner.reset([0, 1])
    rng = random.Random(3)

    def policy(live, obs, infos):  # group 0 plays the expert (finishes fast), group 1 wanders
        return [info["expert_action"] if runner.group_of(i) == 0 else rng.choice(["up", "down"])
                for i, info in zip(live, infos)]

    solution = 0
    env = SokobanEnv()
    _, info = env.reset(seed=0)
    while True:
        _, _, term, trunc, info = env.step(info["expert_action"])
        solution += 1
        if term or trunc:
            break
    for t in range(solution):
        runner.step(policy(runner.live, None, [runner.infos[i] for i in runner.live]))
    assert runner.live == [2, 3] and runner.done[:2] == [True, True]
    assert runner.steps[:2] == [solution, solution]
    before = len(runner.records)
    runner.step(policy(runner.live, None, [runner.infos[i] for i in runner.live]))
    assert [r.traj_id for r in runner.records[before:]] == [2, 3]
    assert runner.steps[:2] == [solution, solution]


def test_batch_columns_line_up_with_records():
    runner = envs.GroupRunner("sokoban", group_size=3, max_steps=5)
    runner.reset([2, 5])
    records = runner.run(random_policy(1))
    batch = runner.batch()
    assert {len(col) for col in batch.values()} == {len(records)}
    assert all(1 <= s <= 5 for s in runner.steps)
    for k, r in enumerate(records):
        assert (batch["group_ids"][k], batch["traj_ids"][k], batch["rewards"][k], batch["anchors"][k],
                batch["observations"][k], batch["actions"][k], batch["valid"][k]) == (
            r.group_id, r.traj_id, r.reward, r.anchor, r.observation, r.action, r.action in r.admissible_actions)


def test_invalid_actions_are_recorded_as_invalid():
    runner = envs.GroupRunner("sokoban", group_size=2)
    runner.reset([0])
    runner.step(["up", "fly"])
    assert [r.valid for r in runner.records] == [True, False]
    assert runner.infos[1]["anchor"] == runner.records[1].anchor  # the invalid action changed nothing


def test_wrong_number_of_actions_and_misuse_raise():
    runner = envs.GroupRunner("sokoban", group_size=2)
    with pytest.raises(ValueError, match="no live envs"):
        runner.step([])
    runner.reset([0, 1])
    with pytest.raises(ValueError, match="expected one per live env \\(4\\), got 3"):
        runner.step(["up"] * 3)
    with pytest.raises(ValueError, match="expected str"):
        runner.step(["up", "up", "up", 7])
    assert runner.records == [] and runner.steps == [0, 0, 0, 0]  # a rejected batch steps no env
    with pytest.raises(ValueError, match="group_size"):
        envs.GroupRunner("sokoban", group_size=0)
    with pytest.raises(ValueError, match="unknown env name"):
        envs.GroupRunner("sokobann", group_size=2)
