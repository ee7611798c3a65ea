"""Sokoban: rules and rewards worked out by hand on small levels, generation checked by an independent solver."""
from collections import deque

import pytest

import envs
from envs.sokoban import ACTIONS, SokobanEnv

MOVES = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def parse_obs(obs: str):
    """Read walls, targets, boxes and the player back from the observation text (plain restatement of the legend)."""
    rows = [ln.split(" ") for ln in obs.splitlines() if ln.startswith("#")]
    walls, targets, boxes, player = set(), set(), set(), None
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch == "#":
                walls.add((r, c))
            if ch in "O√S":
                targets.add((r, c))
            if ch in "X√":
                boxes.add((r, c))
            if ch in "PS":
                player = (r, c)
    return walls, frozenset(targets), frozenset(boxes), player


def shortest_solution(walls, targets, boxes, player):
    """Forward breadth-first search over (player, boxes) with tuples and sets, independent of envs.sokoban."""
    start = (player, boxes)
    seen = {start}
    queue = deque([(start, 0)])
    while queue:
        (p, bx), d = queue.popleft()
        if bx == targets:
            return d
        for dr, dc in MOVES.values():
            a = (p[0] + dr, p[1] + dc)
            if a in walls:
                continue
            nb = bx
            if a in bx:
                b = (a[0] + dr, a[1] + dc)
                if b in walls or b in bx:
                    continue
                nb = (bx - {a}) | {b}
            state = (a, nb)
            if state not in seen:
                seen.add(state)
                queue.append((state, d + 1))
    return None


LINE = """
# # # # # #
# P X _ O #
# _ _ _ _ #
# _ _ _ _ #
# _ _ _ _ #
# # # # # #
"""


def test_push_onto_target_rewards_and_terminates():
    env = SokobanEnv(level=LINE)
    obs, info = env.reset(seed=0)
    assert info["anchor"] == ((1, 1), ((1, 2),))
    assert info["expert_action"] == "right"
    obs, r, term, trunc, info = env.step("right")  # box to (1,3): not yet on target
    assert r == pytest.approx(-0.1) and not term
    assert info["anchor"] == ((1, 2), ((1, 3),))
    obs, r, term, trunc, info = env.step("right")  # box onto the target: -0.1 + 1 + 10
    assert r == pytest.approx(10.9)
    assert term and not trunc and info["won"] and info["expert_action"] is None
    _, _, boxes, player = parse_obs(obs)
    assert player == (1, 3) and boxes == {(1, 4)} and "# _ _ P √ #" in obs and "Boxes on targets: 1/1." in obs
    with pytest.raises(ValueError, match="episode is over"):
        env.step("up")


def test_push_off_target_is_penalised():
    level = """
    # # # # # #
    # P √ _ O #
    # _ _ _ X #
    # _ _ _ _ #
    # _ _ _ _ #
    # # # # # #
    """
    env = SokobanEnv(level=level)
    env.reset(seed=0)
    _, r, term, _, info = env.step("right")
    assert r == pytest.approx(-1.1) and not term
    assert info["anchor"] == ((1, 2), ((1, 3), (2, 4)))


def test_blocked_moves_and_invalid_text_leave_state_unchanged():
    level = """
    # # # # # #
    # P X X O #
    # _ _ _ O #
    # _ _ _ _ #
    # _ _ _ _ #
    # # # # # #
    """
    env = SokobanEnv(level=level, max_steps=4)
    obs0, info0 = env.reset(seed=0)
    for action in ("up", "left", "right", "jump"):  # wall, wall, two boxes in a row, not a move
        obs, r, term, trunc, info = env.step(action)
        assert obs == obs0 and info["anchor"] == info0["anchor"]
        assert r == pytest.approx(-0.1)
    assert trunc and not term and not info["won"] and info["expert_action"] is None  # 4 steps = the limit


def test_dead_state_has_no_expert():
    level = """
    # # # # # #
    # _ _ _ O #
    # _ X _ _ #
    # _ P _ _ #
    # _ _ _ _ #
    # # # # # #
    """
    env = SokobanEnv(level=level)
    _, info = env.reset()
    assert info["expert_action"] is not None
    _, _, _, _, info = env.step("up")  # box against the top wall, but the target is in that row: still solvable
    assert info["anchor"] == ((2, 2), ((1, 2),))
    assert info["expert_action"] is not None
    env2 = SokobanEnv(level=level.replace("# _ X _ _ #", "# X _ _ _ #").replace("# _ P _ _ #", "# P _ _ _ #"))
    _, info2 = env2.reset()
    _, _, _, _, info2 = env2.step("up")  # box into the top-left corner: unsolvable
    assert info2["anchor"] == ((2, 1), ((1, 1),)) and info2["expert_action"] is None


def test_same_seed_same_task_and_observation_matches_anchor():
    a, b = envs.make("sokoban"), envs.make("sokoban")
    for seed in range(20):
        obs_a, info_a = a.reset(seed=seed)
        obs_b, info_b = b.reset(seed=seed)
        assert obs_a == obs_b and info_a == info_b
        _, _, boxes, player = parse_obs(obs_a)
        assert info_a["anchor"] == (player, tuple(sorted(boxes)))
        assert info_a["admissible_actions"] == list(ACTIONS)
    firsts = {a.reset(seed=s)[0] for s in range(20)}
    assert len(firsts) > 15


def test_generated_tasks_solvable_in_band_per_independent_solver():
    env = SokobanEnv()
    box_counts = set()
    for seed in range(60):
        obs, _ = env.reset(seed=seed)
        walls, targets, boxes, player = parse_obs(obs)
        assert len(boxes) == len(targets) and boxes != targets
        box_counts.add(len(boxes))
        d = shortest_solution(walls, targets, boxes, player)
        assert d is not None and 3 <= d <= 15
        assert env.task.moves_to_solve[env.boxes * 36 + env.player] == d
    assert box_counts == {1, 2}


def test_expert_wins_all_200_seeds_with_shortest_solutions():
    env = SokobanEnv()
    for seed in range(200):
        obs, info = env.reset(seed=seed)
        walls, targets, boxes, player = parse_obs(obs)
        optimum = shortest_solution(walls, targets, boxes, player) if seed < 40 else None
        steps = 0
        while True:
            obs, r, term, trunc, info = env.step(info["expert_action"])
            steps += 1
            if term or trunc:
                break
        assert info["won"], f"seed {seed}"
        if optimum is not None:
            assert steps == optimum


def test_expert_recovers_after_random_detour():
    import random
    rng = random.Random(1)
    env = SokobanEnv(max_steps=30)
    recovered = 0
    for seed in range(40):
        _, info = env.reset(seed=seed)
        for _ in range(3):
            _, _, term, trunc, info = env.step(rng.choice(ACTIONS))
            if term or trunc:
                break
        if term or trunc or info["expert_action"] is None:
            continue
        while not (term or trunc):
            _, _, term, trunc, info = env.step(info["expert_action"])
        assert info["won"]
        recovered += 1
    assert recovered > 20


def test_bad_options_raise_clear_errors():
    with pytest.raises(ValueError, match="size"):
        SokobanEnv(size=3)
    with pytest.raises(ValueError, match="num_boxes"):
        SokobanEnv(num_boxes=(2, 1))
    with pytest.raises(ValueError, match="max_solution_moves"):
        SokobanEnv(max_steps=10, max_solution_moves=20)
    with pytest.raises(ValueError, match="one player"):
        SokobanEnv(level=LINE.replace("P", "_"))
    with pytest.raises(ValueError, match="reset"):
        SokobanEnv().step("up")


def test_gymnasium_make_sokoban():
    gymnasium = pytest.importorskip("gymnasium")
    from envs.gym_registration import register_gymnasium

    ids = register_gymnasium()
    assert register_gymnasium() == ids  # idempotent
    assert "gigpo/Sokoban-v0" in ids
    env = gymnasium.make("gigpo/Sokoban-v0", max_steps=7)
    obs, info = env.reset(seed=3)
    expected_obs, expected_info = SokobanEnv(max_steps=7).reset(seed=3)
    assert obs == expected_obs and info["anchor"] == expected_info["anchor"]
    reference = SokobanEnv(max_steps=7)
    reference.reset(seed=3)
    for action in (info["expert_action"], "left", "not a move"):
        out = env.step(action)
        assert out == reference.step(action)
        assert env.observation_space.contains(out[0])
