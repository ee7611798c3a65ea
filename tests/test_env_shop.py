"""Tests for the WebShop-style ``shop`` env: catalogue, search, reward formula, pages, expert, contract."""
from __future__ import annotations

import random
from collections import Counter

import pytest

import envs
from envs.shop import ShopEnv
from envs.shop_catalogue import ALL_ATTRIBUTES, CATEGORY_NAMES, Product, build_catalogue, product_text
from envs.shop_goals import make_task
from envs.shop_reward import Goal, get_reward, type_reward
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


# -- reward formula (WebShop get_reward), numbers worked by hand ---------------------------------------------------
def _product(brand, ptype, path, attributes, price, description="plain text", options=(("flavor", ("chocolate",
             "vanilla")),)):
    return Product(asin="B0TEST0000", title=f"{brand} {ptype}", brand=brand, product_type=ptype, category="grocery",
                   product_category=path, attributes=tuple(attributes), options=options, price=price,
                   description=description, features=("plain feature",))


TARGET = _product("Acme", "protein bar", "Grocery › Snacks › Protein Bars", ["gluten free", "sugar free"], 30.0)
GOAL = Goal(asin=TARGET.asin, instruction="i need a gluten free sugar free protein bar with chocolate flavor",
            target=TARGET, attributes=("gluten free", "sugar free"), options=(("flavor", "chocolate"),),
            price_upper=40.0, query="gluten free sugar free protein bar chocolate")


def test_reward_one_attribute_option_and_price_is_three_quarters():
    bought = _product("Zest", "protein bar", "Grocery › Snacks › Protein Bars", ["gluten free", "low carb"], 25.0)
    reward, parts = get_reward(bought, GOAL, 25.0, {"flavor": "chocolate"})
    # title nouns {zest, protein, bar} vs goal {acme, protein, bar}: 2/3 > 0.2 and same query -> r_type 1
    assert parts["r_type"] == 1.0 and parts["title_score"] == pytest.approx(2 / 3)
    assert reward == pytest.approx((1 + 1 + 1) / (2 + 1 + 1))  # 0.75


def test_reward_full_match_is_one():
    reward, _ = get_reward(TARGET, GOAL, 30.0, {"flavor": "chocolate"})
    assert reward == 1.0


def test_reward_price_above_bound():
    bought = _product("Zest", "protein bar", "Grocery › Snacks › Protein Bars", ["gluten free", "low carb"], 45.0)
    reward, parts = get_reward(bought, GOAL, 45.0, {"flavor": "chocolate"})
    assert parts["r_price"] == 0.0
    assert reward == pytest.approx((1 + 1 + 0) / 4)  # 0.5


def test_reward_options_must_be_selected_and_wrong_ones_do_not_count():
    assert get_reward(TARGET, GOAL, 30.0, {})[0] == pytest.approx((2 + 0 + 1) / 4)
    assert get_reward(TARGET, GOAL, 30.0, {"flavor": "vanilla"})[0] == pytest.approx(3 / 4)


def test_reward_attribute_found_in_description_counts():
    bought = _product("Zest", "protein bar", "Grocery › Snacks › Protein Bars", ["low carb", "vegan"], 20.0,
                      description="A sugar free snack.")
    reward, parts = get_reward(bought, GOAL, 20.0, {"flavor": "chocolate"})
    assert parts["num_attr_matches"] == 1
    assert reward == pytest.approx(3 / 4)


def test_reward_wrong_type_is_zero_even_with_category_match():
    bought = _product("Zest", "beef jerky", "Grocery › Snacks › Beef Jerky", ["gluten free", "sugar free"], 20.0)
    reward, parts = get_reward(bought, GOAL, 20.0, {"flavor": "chocolate"})
    assert parts["category_match"] is True  # "Grocery" and "Snacks" shared
    assert parts["title_score"] == 0.0 and parts["r_type"] == 0.0 and reward == 0.0


SIZES = (("flavor", ("chocolate", "vanilla")), ("size", ("6 count", "12 count")))
TARGET3 = _product("Acme", "protein bar", "Grocery › Snacks › Protein Bars", ["gluten free", "sugar free", "low carb"],
                   30.0, options=SIZES)
GOAL3 = Goal(asin=TARGET3.asin, instruction="i need a gluten free sugar free low carb protein bar with chocolate "
             "flavor and 12 count size", target=TARGET3, attributes=("gluten free", "sugar free", "low carb"),
             options=(("flavor", "chocolate"), ("size", "12 count")), price_upper=40.0, query="protein bar")


def test_reward_attribute_and_option_parts_by_hand():
    # gluten free: listed; sugar free: nowhere; low carb: only in the description -> 2 of 3 attributes.
    # selected vanilla (not a goal value) and 12 count (a goal value) -> 1 of 2 options; 35 <= 40 -> r_price 1.
    bought = _product("Zest", "protein bar", "Grocery › Snacks › Protein Bars", ["gluten free", "vegan"], 35.0,
                      description="A low carb snack.", options=SIZES)
    reward, parts = get_reward(bought, GOAL3, 35.0, {"flavor": "vanilla", "size": "12 count"})
    assert (parts["num_attr_matches"], parts["num_option_matches"], parts["r_price"]) == (2, 1, 1.0)
    assert parts["r_att"] == pytest.approx(2 / 3) and parts["r_option"] == pytest.approx(1 / 2)
    assert parts["r_type"] == 1.0  # same product type (WebShop's query)
    assert reward == pytest.approx((2 + 1 + 1) / (3 + 2 + 1))  # 2/3
    # both goal values selected, the price now above the bound: (2 + 2 + 0) / 6
    reward, parts = get_reward(bought, GOAL3, 45.0, {"flavor": "chocolate", "size": "12 count"})
    assert parts["r_option"] == 1.0 and parts["r_price"] == 0.0 and reward == pytest.approx(4 / 6)


def test_reward_attribute_found_in_the_title_or_the_features_counts():
    # WebShop's get_attribute_reward: a goal attribute missing from the attribute list still counts when its phrase
    # is in the title, the bullet points (features) or the description.
    listed_only = dict(brand="Zest", product_type="protein bar", category="grocery",
                       product_category="Grocery › Snacks › Protein Bars", attributes=("gluten free",),
                       options=SIZES[:1], price=20.0, description="plain text", features=("plain feature",))
    in_title = Product(asin="B0TEST0001", title="Zest Sugar Free Protein Bar", **listed_only)
    in_features = Product(asin="B0TEST0002", title="Zest Protein Bar",
                          **{**listed_only, "features": ("plain feature", "Sugar free and tasty")})
    nowhere = Product(asin="B0TEST0003", title="Zest Protein Bar", **listed_only)
    for bought, n_attr in ((in_title, 2), (in_features, 2), (nowhere, 1)):
        reward, parts = get_reward(bought, GOAL, 20.0, {"flavor": "chocolate"})
        assert parts["num_attr_matches"] == n_attr, bought.asin
        assert reward == pytest.approx((n_attr + 1 + 1) / (2 + 1 + 1)), bought.asin  # 1.0, 1.0, 0.75


def test_reward_selected_wrong_option_is_not_credited_by_its_text():
    # documented deviation: WebShop also credits a selected value found in the product text; here it must match
    bought = Product(asin="B0TEST0004", title="Zest Vanilla Protein Bar", brand="Zest", product_type="protein bar",
                     category="grocery", product_category="Grocery › Snacks › Protein Bars",
                     attributes=("gluten free", "sugar free"), options=SIZES[:1], price=20.0,
                     description="plain text", features=("plain feature",))
    reward, parts = get_reward(bought, GOAL, 20.0, {"flavor": "vanilla"})
    assert parts["num_option_matches"] == 0 and reward == pytest.approx((2 + 0 + 1) / 4)


def test_type_reward_title_fallback_when_the_goal_title_has_no_nouns():
    # WebShop: no nouns in the goal product's title -> title_score 0.2, which is not > 0.2, not < 0.1
    nounless = _product("A", "b", "Grocery › Snacks › Protein Bars", [], 1.0)  # 1-letter words are not title nouns
    other_type = _product("Zest", "granola", "Pantry › Cereal › Granola", [], 1.0)
    parts = type_reward(other_type, nounless)
    assert parts["title_score"] == 0.2 and (parts["query_match"], parts["category_match"]) == (False, False)
    assert parts["r_type"] == 0.5  # no query, category or title match
    same_type = _product("Zest", "b", "Pantry › Cereal › Granola", [], 1.0)
    assert type_reward(same_type, nounless)["r_type"] == 1.0  # the query matches; 0.2 does not pull it down


def test_type_reward_half_and_tenth_levels():
    goal5 = _product("Acme Foods Co", "protein bar", "Grocery › Snacks › Protein Bars", [], 1.0)
    other = _product("Acme", "granola", "Pantry › Cereal › Granola", [], 1.0)
    # 1 shared noun of 5 = 0.2: not > 0.2, no query/category match -> 0.5 (and not < 0.1)
    assert type_reward(other, goal5)["r_type"] == 0.5
    goal11 = _product("Acme B2 C3 D4 E5 F6 G7 H8 I9", "protein bar", "Grocery › Snacks › Protein Bars", [], 1.0)
    # 1 of 11 = 0.0909 < 0.1 -> 0.1
    assert type_reward(other, goal11)["r_type"] == 0.1


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
