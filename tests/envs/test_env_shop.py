"""Tests for the WebShop-style ``shop`` env: catalogue, search, pages, expert, contract (reward formula:
test_env_shop_reward.py)."""
from __future__ import annotations

import random
from collections import Counter

import pytest

import envs
from envs.shop import ShopEnv
from envs.shop_catalogue import build_catalogue, product_text
from envs.shop_categories import ALL_ATTRIBUTES, CATEGORY_NAMES
from envs.shop_goals import make_task
from envs.shop_search import search_engine


def play(seed: int, actions: list[str]) -> tuple[ShopEnv, tuple]:
    """A fresh env reset to ``seed`` after ``actions``; returns the env and the last step's results."""
    env = ShopEnv()
    out = env.reset(seed=seed)
    for a in actions:
        out = env.step(a)
    return env, out


def random_walk(seed: int, n: int, rng: random.Random, avoid_buy: bool = True) -> list[str]:
    """``n`` random admissible actions from the reset of task ``seed`` (never buying, unless allowed)."""
    env = ShopEnv()
    _, info = env.reset(seed=seed)
    actions = []
    for _ in range(n):
        choices = [a for a in info["admissible_actions"] if not (avoid_buy and a == "click[buy now]")]
        a = rng.choice(choices)
        actions.append(a)
        _, _, _, _, info = env.step(a)
    return actions


# -- catalogue -----------------------------------------------------------------------------------------------------
def test_catalogue_size_categories_and_determinism():
    cat = build_catalogue(0)
    counts = Counter(p.category for p in cat.products)
    assert len(cat) >= 1000
    assert set(counts) == set(CATEGORY_NAMES) and len(counts) >= 5
    assert min(counts.values()) >= 150
    assert len({p.asin for p in cat.products}) == len(cat)
    assert len({p.title for p in cat.products}) == len(cat)
    fresh = build_catalogue.__wrapped__(0)  # bypass the cache: a rebuild gives the same products
    assert fresh.products == cat.products
    assert build_catalogue.__wrapped__(1).products != cat.products
    for p in cat.products:
        assert p.title and p.description and p.features and p.options and p.price > 0
        assert 2 <= len(p.attributes) <= 4


def test_product_text_mentions_exactly_its_attributes():
    # The attribute reward reads the product text, so the text must not promise attributes the product lacks.
    for p in build_catalogue(0).products:
        assert {a for a in ALL_ATTRIBUTES if a in product_text(p)} == set(p.attributes), p.asin


def test_build_catalogue_rejects_non_int_seed():
    with pytest.raises(ValueError, match="seed"):
        build_catalogue("zero")


# -- search --------------------------------------------------------------------------------------------------------
def test_search_finds_each_product_by_title():
    cat, engine = build_catalogue(0), search_engine(0)
    for i in range(0, len(cat), 7):
        results = engine.search(cat.products[i].title)
        assert i in results[:10], cat.products[i].title
        assert len(results) <= 50


def test_search_is_cached_normalised_and_handles_empty_queries():
    engine = search_engine(0)
    assert engine.search("Protein  BAR") is engine.search("protein bar")
    assert engine.search("") == () and engine.search("the and of") == ()
    assert engine.search("qwertyzzz") == ()


def test_expert_query_lists_the_target_for_200_tasks():
    engine, cat = search_engine(0), build_catalogue(0)
    for seed in range(200):
        goal = make_task(seed).goal
        assert cat.index_of[goal.asin] in engine.search(goal.query)


# -- env contract and pages ----------------------------------------------------------------------------------------
def test_registered_and_info_keys():
    env = envs.make("shop")
    obs, info = env.reset(seed=0)
    envs.check_info(info, "shop reset")
    assert obs.startswith("WebShop [SEP] Instruction: [SEP] ") and info["task"] in obs
    assert info["admissible_actions"] == [info["expert_action"]]
    assert info["admissible_actions"][0].startswith("search[")


def test_determinism_same_seed_same_trajectory():
    actions = random_walk(5, 12, random.Random(0))
    (_, a), (_, b) = play(5, actions), play(5, actions)
    assert a == b
    assert ShopEnv().reset(seed=5) == ShopEnv().reset(seed=5)
    assert ShopEnv().reset(seed=5)[0] != ShopEnv().reset(seed=6)[0]


def test_rollouts_of_one_seed_share_the_first_anchor():
    runner = envs.GroupRunner("shop", group_size=4)
    runner.reset([3, 4])
    anchors = [info["anchor"] for info in runner.infos]
    assert anchors[0] == anchors[1] == anchors[2] == anchors[3]
    assert runner.obs[0] == runner.obs[3] and runner.obs[0] != runner.obs[4]


def test_reset_without_seed_gives_a_task():
    obs, info = ShopEnv().reset()
    assert info["task"] in obs


def test_bad_options_raise():
    with pytest.raises(ValueError, match="max_steps"):
        ShopEnv(max_steps=0)
    with pytest.raises(ValueError, match="catalogue_seed"):
        ShopEnv(catalogue_seed="a")
    with pytest.raises(ValueError, match="seed"):
        ShopEnv().reset(seed=1.5)
    with pytest.raises(ValueError, match="reset"):
        ShopEnv().step("search[x]")


def test_invalid_actions_leave_page_and_anchor_unchanged():
    rng = random.Random(1)
    invalid = ["click[not a button]", "jump", "search[", "click[buy now", "click[]", "buy now"]
    for seed in range(10):
        prefix = random_walk(seed, rng.randint(0, 6), rng)
        env, out = play(seed, prefix)
        obs, info = out[0], out[-1]
        extra = ["search[shoes]"] if info["anchor"].page != "search" else ["click[back to search]"]
        for a in invalid + extra:
            assert a not in info["admissible_actions"]
            obs2, reward, terminated, truncated, info2 = env.step(a)
            assert (obs2, reward, terminated) == (obs, 0.0, False)
            assert info2["anchor"] == info["anchor"] and info2["action_valid"] is False
            assert info2["admissible_actions"] == info["admissible_actions"]
            if truncated:
                break


def test_every_admissible_action_is_accepted():
    rng = random.Random(2)
    checked = 0
    for seed in range(8):
        prefix = random_walk(seed, rng.randint(0, 5), rng)
        _, out = play(seed, prefix)
        info = out[-1]
        selected_clicks = {f"click[{v}]" for _, v in info["anchor"].selected}
        for a in info["admissible_actions"]:
            _, (_, reward, terminated, _, info2) = play(seed, prefix + [a])
            assert info2["action_valid"] is True, a
            if a in selected_clicks:  # re-selecting the selected value keeps the state, as on WebShop
                assert info2["anchor"] == info["anchor"]
            else:
                assert info2["anchor"] != info["anchor"], a
            assert terminated == (a == "click[buy now]")
            checked += 1
    assert checked > 30


def test_any_search_text_is_accepted_and_clicks_ignore_case():
    env = ShopEnv()
    env.reset(seed=0)
    _, _, _, _, info = env.step("search[  Bluetooth   SPEAKER ]")
    assert info["anchor"].page == "results" and info["anchor"].query == "bluetooth speaker"
    assert info["action_valid"] is True  # the env's verdict: any search text is an action here
    cat, engine = build_catalogue(0), search_engine(0)
    first = cat.products[engine.search("bluetooth speaker")[0]].asin
    assert f"click[{first.lower()}]" in info["admissible_actions"]
    _, _, _, _, info = env.step(f"Click[{first}]")
    assert info["anchor"].page == "item" and info["anchor"].asin == first
    _, _, _, _, info = env.step("click[Back to Search]")
    assert info["anchor"] == ShopEnv().reset(seed=0)[1]["anchor"]


def test_results_pagination_next_and_prev():
    env = ShopEnv()
    env.reset(seed=0)
    engine, cat = search_engine(0), build_catalogue(0)
    results = engine.search("black")
    assert len(results) == 50
    obs1, _, _, _, info1 = env.step("search[black]")
    assert "Page 1 (Total results: 50)" in obs1 and "click[< prev]" not in info1["admissible_actions"]
    page1 = [a for a in info1["admissible_actions"] if a[6:8] == "b0"]
    assert page1 == [f"click[{cat.products[i].asin.lower()}]" for i in results[:10]]
    obs2, _, _, _, info2 = env.step("click[next >]")
    assert "Page 2 (Total results: 50)" in obs2 and "click[< prev]" in info2["admissible_actions"]
    assert [a for a in info2["admissible_actions"] if a[6:8] == "b0"] == [
        f"click[{cat.products[i].asin.lower()}]" for i in results[10:20]]
    for _ in range(3):
        obs, _, _, _, info = env.step("click[next >]")
    assert "Page 5 " in obs and "click[next >]" not in info["admissible_actions"]
    for _ in range(4):
        obs, _, _, _, info = env.step("click[< prev]")
    assert (obs, info["anchor"]) == (obs1, info1["anchor"])


def test_item_options_description_features_and_prev_keep_selection():
    task = make_task(0)
    target = task.goal.target
    env = ShopEnv()
    env.reset(seed=0)
    env.step(f"search[{task.goal.query}]")
    _, _, _, _, info = env.step(f"click[{target.asin.lower()}]")
    name, value = target.options[0][0], target.options[0][1][-1]
    obs, _, _, _, info = env.step(f"click[{value}]")
    assert info["anchor"].selected == ((name, value),) and f"{value} (selected)" in obs
    obs, _, _, _, info_d = env.step("click[description]")
    assert target.description in obs and info_d["anchor"].page == "description"
    _, _, _, _, info_back = env.step("click[< prev]")
    assert info_back["anchor"] == info["anchor"]
    obs, _, _, _, _ = env.step("click[features]")
    assert all(f in obs for f in target.features)


def test_buying_ends_the_episode_with_the_formula_reward():
    task = make_task(0)
    env = ShopEnv()
    env.reset(seed=0)
    env.step(f"search[{task.goal.query}]")
    env.step(f"click[{task.goal.asin.lower()}]")
    obs, reward, terminated, truncated, info = env.step("click[buy now]")  # no options selected
    goal = task.goal
    expected = (len(goal.attributes) + 0 + 1) / (len(goal.attributes) + len(goal.options) + 1)
    assert terminated and not truncated and reward == pytest.approx(expected) and not info["won"]
    assert info["expert_action"] is None and info["admissible_actions"] == []
    assert "Your score" in obs
    with pytest.raises(ValueError, match="reset"):
        env.step("click[back to search]")


def test_step_limit_truncates():
    env = ShopEnv(max_steps=15)
    env.reset(seed=1)
    for i in range(1, 16):
        _, _, terminated, truncated, _ = env.step("click[nothing]")
        assert not terminated and truncated == (i == 15)
    env = ShopEnv(max_steps=2)
    env.reset(seed=1)
    assert env.step("search[x]")[3] is False and env.step("click[back to search]")[3] is True


# -- expert --------------------------------------------------------------------------------------------------------
def _follow_expert(env: ShopEnv, info: dict) -> tuple[float, bool, int]:
    reward, done, steps = 0.0, False, 0
    while not done:
        a = info["expert_action"]
        assert a in info["admissible_actions"]
        _, reward, terminated, truncated, info = env.step(a)
        steps += 1
        done = terminated or truncated
    return reward, info["won"], steps


def test_expert_wins_all_200_seeded_tasks():
    env = ShopEnv()
    for seed in range(200):
        _, info = env.reset(seed=seed)
        reward, won, steps = _follow_expert(env, info)
        assert won and reward == 1.0, seed
        task = make_task(seed)
        # search + pages to the first winnable result + open it + select each goal option + buy; nothing else
        assert steps == 1 + task.first_winnable_page + 1 + len(task.goal.options) + 1, seed


def test_expert_wins_from_random_states():
    rng = random.Random(3)
    for seed in range(60):
        prefix = random_walk(seed, rng.randint(1, 6), rng)
        env, out = play(seed, prefix)
        reward, won, _ = _follow_expert(env, out[-1])
        assert won and reward == 1.0, (seed, prefix)


def test_expert_recovers_from_other_searches():
    # Random walks only ever type the suggested query; here the agent first searched something else.
    rng = random.Random(4)
    queries = ["black", "gluten free granola", "office chair", "wireless earbuds rose gold", "zzz"]
    for seed in range(40):
        env, out = play(seed, [f"search[{rng.choice(queries)}]"])
        info = out[-1]
        for _ in range(rng.randint(0, 4)):
            choices = [a for a in info["admissible_actions"] if a != "click[buy now]"]
            _, _, _, _, info = env.step(rng.choice(choices))
        reward, won, _ = _follow_expert(env, info)
        assert won and reward == 1.0, seed
