"""The shop's purchase reward (envs/shop_reward.py), WebShop's ``get_reward`` (web_agent_site/engine/goal.py):

    reward = (num_attr_matches + num_option_matches + r_price) / (len(goal attrs) + len(goal options) + 1) * r_type

Every expected value is worked by hand from that formula on small hand-made products.
"""
import pytest

from envs.shop_catalogue import Product
from envs.shop_reward import Goal, get_reward, type_reward


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
