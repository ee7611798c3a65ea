"""The env contract (envs.base): a user-defined env plugs in through envs.register; the built-ins all honour it."""
import random

import pytest

import envs
from envs.base import check_info
from envs.registry import _BUILTIN

INVALID = "this is not an action in any env"


class LineWalkEnv:
    """A tiny user env: walk right along a line of ``length`` cells to the goal; "left" walks back."""

    def __init__(self, length: int = 4, max_steps: int = 10):
        self.length, self.max_steps = length, max_steps

    def reset(self, *, seed=None):
        self.pos, self.steps = (seed or 0) % 2, 0  # odd seeds start one cell ahead
        return self._obs(), self._info()

    def step(self, action):
        self.steps += 1
        if action == "right":
            self.pos += 1
        elif action == "left" and self.pos > 0:
            self.pos -= 1
        won = self.pos == self.length
        return self._obs(), float(won), won, not won and self.steps >= self.max_steps, self._info()

    def _obs(self):
        return f"You are at cell {self.pos} of {self.length}."

    def _info(self):
        won = self.pos == self.length
        return {"anchor": self.pos, "admissible_actions": ["left", "right"],
                "expert_action": None if won else "right", "won": won, "task": "Reach the last cell."}


class MissingKeyEnv(LineWalkEnv):
    def _info(self):
        info = super()._info()
        del info["expert_action"]
        return info


class ListAnchorEnv(LineWalkEnv):
    def _info(self):
        return {**super()._info(), "anchor": [self.pos]}


@pytest.fixture
def line_walk():
    envs.register("line_walk_test", LineWalkEnv, overwrite=True)
    return "line_walk_test"


def test_user_env_through_make_and_group_runner(line_walk):
    assert line_walk in envs.names()
    env = envs.make(line_walk, length=3)
    obs, info = env.reset(seed=1)
    assert obs == "You are at cell 1 of 3." and info["anchor"] == 1

    runner = envs.GroupRunner(line_walk, group_size=2, env_options={"length": 3})
    runner.reset([0, 1])
    assert [runner.infos[i]["anchor"] for i in range(4)] == [0, 0, 1, 1]
    records = runner.run(lambda live, obs, infos: [info["expert_action"] for info in infos])
    # seed 0 needs 3 rights, seed 1 needs 2: 4 + 4 + 2 records, and every rollout won with reward 1 at the end
    assert len(records) == 10
    assert runner.steps == [3, 3, 2, 2]
    assert runner.episode_stats() == {"success_rate": 1.0, "mean_return": 1.0, "mean_length": 2.5}


def test_user_env_register_needs_overwrite(line_walk):
    with pytest.raises(ValueError, match="exists"):
        envs.register(line_walk, LineWalkEnv)
    with pytest.raises(ValueError, match="unknown env name"):
        envs.make("no_such_env_anywhere")


def test_malformed_user_envs_are_rejected_clearly():
    runner = envs.GroupRunner(MissingKeyEnv, group_size=1)
    with pytest.raises(ValueError, match="expert_action"):
        runner.reset([0])
    runner = envs.GroupRunner(ListAnchorEnv, group_size=1)
    with pytest.raises(ValueError, match="hashable"):
        runner.reset([0])
    with pytest.raises(ValueError, match="missing"):
        check_info({"anchor": 0}, "here")


# -- the built-in envs ---------------------------------------------------------------------------------------------
# No skip on ImportError: a built-in env that does not import is a failure. TextWorld (an optional engine, and a game
# to compile per task) has the same checks in tests/test_env_textworld.py, skipped only when the engine is missing.
BUILTINS = ["household", "shop", "sokoban"]


def test_every_builtin_is_covered():
    assert set(_BUILTIN) == set(BUILTINS) | {"textworld"}


@pytest.mark.parametrize("name", BUILTINS)
def test_keys_and_determinism(name):
    a, b = envs.make(name), envs.make(name)
    for seed in (0, 1):
        obs_a, info_a = a.reset(seed=seed)
        obs_b, info_b = b.reset(seed=seed)
        check_info(info_a, name)
        assert isinstance(obs_a, str) and obs_a == obs_b and info_a == info_b
        assert all(isinstance(x, str) for x in info_a["admissible_actions"]) and info_a["admissible_actions"]
        for t in range(6):  # the same actions give the same trajectory
            action = info_a["admissible_actions"][(seed + t) % len(info_a["admissible_actions"])]
            out_a, out_b = a.step(action), b.step(action)
            assert out_a == out_b
            check_info(out_a[4], name)
            info_a = out_a[4]
            if out_a[2] or out_a[3]:
                break


@pytest.mark.parametrize("name", BUILTINS)
def test_invalid_action_leaves_state_unchanged(name):
    env = envs.make(name)
    _, info = env.reset(seed=3)
    obs, reward, terminated, truncated, after = env.step(INVALID)
    assert isinstance(obs, str) and not terminated and not after["won"]
    assert after["anchor"] == info["anchor"]
    assert after["admissible_actions"] == info["admissible_actions"]
    assert envs.action_verdict(INVALID, info["admissible_actions"], after) is False  # the env's verdict, if any


def replay(name, seed, actions):
    """A fresh env of ``name`` reset to ``seed`` after ``actions``; returns it and the last (obs, info)."""
    env = envs.make(name)
    obs, info = env.reset(seed=seed)
    for a in actions:
        obs, _, _, _, info = env.step(a)
    return env, obs, info


SOKOBAN_MOVES = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def sokoban_blocked(obs, move):
    """Sokoban's rule restated on the rendered grid: a move is blocked by a wall, or by a box with a wall or a box
    behind it. (A blocked move is a legal no-op, so it looks exactly like an invalid action.)"""
    rows = [line.split(" ") for line in obs.splitlines() if line.startswith("#")]
    (r, c), = [(r, c) for r, row in enumerate(rows) for c, x in enumerate(row) if x in "PS"]
    dr, dc = SOKOBAN_MOVES[move]
    ahead = rows[r + dr][c + dc]
    if ahead == "#":
        return True
    return ahead in "X√" and rows[r + 2 * dr][c + 2 * dc] in "#X√"  # a box is never on the wall border


@pytest.mark.parametrize("name", BUILTINS)
def test_every_admissible_action_is_accepted(name):
    """From states along random walks, each admissible action gets an answer other than a non-action's: another
    observation, anchor, reward or verdict (sokoban: exactly the moves its rule does not block)."""
    rng = random.Random(0)
    checked = 0
    for seed in range(4):
        env, obs, info = replay(name, seed, [])
        prefix = []
        for _ in range(rng.randint(1, 4)):  # a random walk that never buys (shop) and stops before the episode ends
            choices = [a for a in info["admissible_actions"] if a != "click[buy now]"]
            action = rng.choice(choices)
            step = env.step(action)
            if step[2] or step[3]:
                break
            prefix.append(action)
            obs, info = step[0], step[4]
        for action in info["admissible_actions"][:12]:
            outcomes = []
            for a in (action, INVALID):
                env, _, _ = replay(name, seed, prefix)
                o, reward, terminated, _, after = env.step(a)
                outcomes.append((o, reward, terminated, after["anchor"], after.get("action_valid")))
            answered_as_invalid = outcomes[0] == outcomes[1]
            expected = sokoban_blocked(obs, action) if name == "sokoban" else False
            assert answered_as_invalid == expected, (name, seed, prefix, action)
            checked += 1
    assert checked >= 12


@pytest.mark.parametrize("name", BUILTINS)
def test_step_limit_truncates(name):
    """``truncated`` exactly at ``max_steps`` (never before, never with ``terminated``), counting invalid actions
    too; the expert has nothing to say once the episode is over."""
    env = envs.make(name, max_steps=4)
    _, info = env.reset(seed=2)
    flags = []
    for t in range(4):  # alternate a non-action and an admissible action that does not finish the task
        action = INVALID if t % 2 == 0 else info["admissible_actions"][-1]
        _, _, terminated, truncated, info = env.step(action)
        flags.append((terminated, truncated))
    assert flags == [(False, False)] * 3 + [(False, True)]
    assert not info["won"] and info["expert_action"] is None


@pytest.mark.parametrize("name", BUILTINS)
def test_copies_of_one_seed_share_the_first_anchor(name):
    runner = envs.GroupRunner(name, group_size=3)
    runner.reset([10, 11])
    anchors = [info["anchor"] for info in runner.infos]
    assert anchors[0] == anchors[1] == anchors[2] and anchors[3] == anchors[4] == anchors[5]


@pytest.mark.parametrize("name", BUILTINS)
def test_expert_wins_a_few_seeds(name):
    env = envs.make(name)
    for seed in range(3):
        _, info = env.reset(seed=seed)
        terminated = truncated = False
        while not (terminated or truncated):
            assert info["expert_action"] is not None
            _, _, terminated, truncated, info = env.step(info["expert_action"])
        assert info["won"] and terminated and info["expert_action"] is None, f"{name} seed {seed}"

