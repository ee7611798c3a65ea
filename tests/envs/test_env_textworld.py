"""TextWorld behind the contract: one small game generated into a temp cache (a couple of seconds), few checks."""
import random
import re

import pytest

textworld = pytest.importorskip("textworld", reason="the TextWorld engine is not installed (pip install 'gigpo[envs]')")

from envs.textworld_env import NOTHING_HAPPENS, TextWorldEnv, clean_feedback, game_path  # noqa: E402

SEED = 7
OPTIONS = dict(world_size=3, nb_objects=4, quest_length=3, max_steps=40)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("twcache")


@pytest.fixture(scope="module")
def env(cache_dir):
    e = TextWorldEnv(cache_dir=cache_dir, **OPTIONS)
    yield e
    e.close()


def play_expert(env, info):
    term = trunc = False
    while not (term or trunc):
        assert info["expert_action"] in info["admissible_actions"]
        _, _, term, trunc, info = env.step(info["expert_action"])
    return info


def test_game_is_cached_and_reset_is_deterministic(env, cache_dir):
    obs, info = env.reset(seed=SEED)
    path = game_path(cache_dir, SEED, 3, 4, 3)
    assert path.exists() and path.with_suffix(".json").exists()
    mtime = path.stat().st_mtime_ns
    other = TextWorldEnv(cache_dir=cache_dir, **OPTIONS)  # a second copy reuses the compiled game
    obs2, info2 = other.reset(seed=SEED)
    other.close()
    assert path.stat().st_mtime_ns == mtime
    assert obs == obs2 and info["anchor"] == info2["anchor"] and info["task"] == info2["task"]
    assert set(info) >= {"anchor", "admissible_actions", "expert_action", "won", "task"}
    location, facts = info["anchor"]
    assert f"at(P, {location}: r)" in facts  # the anchor is the engine's fact set, located at the player's room
    assert not re.search(r"=-\d+/\d+\s*$", obs)  # the status bar (room, score/moves) is stripped


def test_expert_wins_from_reset_and_after_a_detour(env):
    _, info = env.reset(seed=SEED)
    assert play_expert(env, info)["won"]
    rng = random.Random(0)
    _, info = env.reset(seed=SEED)
    for _ in range(4):
        _, _, term, trunc, info = env.step(rng.choice(info["admissible_actions"]))
        if term or trunc:
            return
    assert play_expert(env, info)["won"]


def test_replanner_matches_engine_policy_length(env):
    _, info = env.reset(seed=SEED)
    plan = env.replan()
    assert plan is not None and len(plan) <= len(env.state.policy_commands)
    term = trunc = False
    for command in plan:
        assert not (term or trunc)
        _, _, term, trunc, info = env.step(command)
    assert info["won"]


def test_non_admissible_command_changes_nothing(env):
    _, info = env.reset(seed=SEED)
    assert "take all" not in info["admissible_actions"]
    obs, reward, term, trunc, after = env.step("take all")  # Inform 7 knows it, TextWorld's logic does not
    assert obs == NOTHING_HAPPENS and reward == 0.0 and not (term or trunc)
    assert after["anchor"] == info["anchor"] and after["admissible_actions"] == info["admissible_actions"]


def test_step_limit_truncates(cache_dir):
    env = TextWorldEnv(cache_dir=cache_dir, **{**OPTIONS, "max_steps": 4})  # the cached game of SEED, a lower limit
    _, info = env.reset(seed=SEED)
    flags = []
    for t in range(4):  # a non-action and an admissible action in turn: 2 real moves cannot finish a 3-step quest
        _, _, term, trunc, info = env.step("take all" if t % 2 == 0 else info["admissible_actions"][-1])
        flags.append((term, trunc))
    env.close()
    assert flags == [(False, False)] * 3 + [(False, True)]
    assert not info["won"] and info["expert_action"] is None


def test_clean_feedback_drops_prompt_and_status_bar():
    raw = "\nYou pick up the key.\n\n\n\n>                      -= Attic =-0/3"
    assert clean_feedback(raw) == "You pick up the key."


def test_bad_options_raise():
    with pytest.raises(ValueError, match="quest_length"):
        TextWorldEnv(quest_length=0)
