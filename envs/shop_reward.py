"""WebShop's purchase reward (web_agent_site/engine/goal.py, ``get_reward``), restated for the offline catalogue.

    reward = (num_attr_matches + num_option_matches + r_price) / (len(goal attributes) + len(goal options) + 1)
             * r_type

- ``r_type`` (``get_type_reward``): 1 when the bought product's type matches (same ``query``, or >= 2 shared
  breadcrumb levels, or title-noun overlap > 0.2); 0.5 when none of those holds; then overridden to 0.1 when the
  title-noun overlap is < 0.1 and to 0 when it is 0. The overlap is the share of the goal product's title nouns
  found among the bought product's title nouns.
- ``num_attr_matches`` (``get_attribute_reward``): goal attributes the product lists, or whose phrase occurs in its
  title, bullet points or description.
- ``num_option_matches`` (``get_option_reward``): selected option values that are among the goal's option values.
- ``r_price``: 1 when the price is <= the goal's price bound.

Deviations from the original, all because the catalogue is generated from a fixed vocabulary:
title nouns are the brand and product-type words (WebShop runs a spaCy tagger over the title, keeping nouns and
proper nouns); attribute and option values are compared exactly instead of by fuzzy token-set ratio > 85; and an
option is not credited merely because its value appears in the product text, so options must really be selected.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from envs.shop_catalogue import Product, product_text, tokens

# WebShop's PRICE_RANGE: goal price bounds are multiples of 10 dollars.
PRICE_RANGE = tuple(10.0 * i for i in range(1, 100))


@dataclass(frozen=True)
class Goal:
    """One shopping task: what to buy, as WebShop's goal dicts describe it."""

    asin: str  # the product the instruction was written from
    instruction: str
    target: Product
    attributes: tuple[str, ...]
    options: tuple[tuple[str, str], ...]  # ((option name, value), ...) of the target
    price_upper: float
    query: str  # the expert's search query: the instruction's product words

    @property
    def option_values(self) -> tuple[str, ...]:
        return tuple(v for _, v in self.options)


def title_nouns(p: Product) -> set[str]:
    """Noun stand-in for WebShop's spaCy parse of a title: brand and product-type words (2+ characters)."""
    return {t for t in tokens(f"{p.brand} {p.product_type}") if len(t) > 1}


def type_reward(bought: Product, goal_product: Product) -> dict:
    """``get_type_reward``: 1 / 0.5 / 0.1 / 0, with the same thresholds and override order as WebShop."""
    query_match = bought.product_type == goal_product.product_type
    bought_path = {x.strip() for x in bought.product_category.split("›")}
    goal_path = {x.strip() for x in goal_product.product_category.split("›")}
    category_match = len(bought_path & goal_path) >= 2
    desired = title_nouns(goal_product)
    title_score = len(title_nouns(bought) & desired) / len(desired) if desired else 0.2
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {"r_type": r_type, "query_match": query_match, "category_match": category_match,
            "title_score": title_score}


def attribute_matches(bought: Product, goal_attributes: tuple[str, ...]) -> int:
    """``get_attribute_reward``'s count: listed attributes, else the phrase anywhere in the product text."""
    text = product_text(bought)
    return sum(1 for a in goal_attributes if a in bought.attributes or a in text)


def option_matches(selected: Mapping[str, str], goal_values: tuple[str, ...]) -> int:
    """``get_option_reward``'s count: one per selected option whose value is a goal option value."""
    return sum(1 for v in selected.values() if v in goal_values)


def get_reward(bought: Product, goal: Goal, price: float, selected: Mapping[str, str]) -> tuple[float, dict]:
    """The reward for buying ``bought`` at ``price`` with options ``selected`` (name -> value); returns (reward,
    its parts)."""
    parts = type_reward(bought, goal.target)
    r_price = 1.0 if price <= goal.price_upper else 0.0
    n_attr = attribute_matches(bought, goal.attributes)
    n_opt = option_matches(selected, goal.option_values)
    reward = (n_attr + n_opt + r_price) / (len(goal.attributes) + len(goal.options) + 1) * parts["r_type"]
    parts.update(r_price=r_price, num_attr_matches=n_attr, num_option_matches=n_opt,
                 r_att=n_attr / len(goal.attributes) if goal.attributes else None,
                 r_option=n_opt / len(goal.options) if goal.options else None)
    return reward, parts
