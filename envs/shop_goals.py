"""Shopping tasks: WebShop-style instructions written from a target product, plus what the expert needs to know.

A goal takes the target's product type, 1-3 of its attributes, one value of each of its options and a price bound
drawn like WebShop's ``get_synthetic_goals`` (two of the first four multiples of $10 above the price, keep the
larger). The instruction reads like WebShop's human-written ones, e.g. "i need a long lasting gluten free protein
bar with chocolate flavor, and price lower than 40.00 dollars".

Any product can earn reward 1, not only the target: it must match the type, have every goal attribute, offer every
goal option value and cost no more than the bound. Such products are *winnable*. The expert searches the
instruction's product words and buys the first winnable product in the results; :func:`make_task` only keeps goals
whose expert search shows a winnable product on page 1 or 2 and lists the target itself, so the expert's plan is
short (about 5-7 steps) and always exists.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

from envs.shop_catalogue import Product, build_catalogue
from envs.shop_reward import PRICE_RANGE, Goal, get_reward
from envs.shop_search import normalise_query, search_engine

RESULTS_PER_PAGE = 10
MAX_EXPERT_PAGE = 1  # 0-based: the expert's query must show a winnable product on page 1 or 2
_TEMPLATES = (
    "i need {art}{what}{opts}, and price lower than {price:.2f} dollars",
    "i am looking for {art}{what}{opts}, and price lower than {price:.2f} dollars",
    "i want to buy {art}{what}{opts}, and price lower than {price:.2f} dollars",
    "find me {art}{what}{opts}, and price lower than {price:.2f} dollars",
)


def winning_selection(product: Product, goal: Goal) -> dict[str, str]:
    """Option name -> value to select on ``product`` for the goal's option values it offers."""
    offered = product.option_values
    return {offered[v]: v for v in goal.option_values if v in offered}


def is_winnable(product: Product, goal: Goal) -> bool:
    """Would buying ``product`` with the best selection earn reward 1?"""
    reward, _ = get_reward(product, goal, product.price, winning_selection(product, goal))
    return reward == 1.0


@dataclass
class Task:
    """A goal plus the expert's bookkeeping (winnable products, where its search shows the first one)."""

    seed: int
    catalogue_seed: int
    goal: Goal
    first_winnable_page: int  # 0-based page of the first winnable product in the expert's search results
    _winnable: dict[int, bool] = field(default_factory=dict, repr=False)

    def winnable(self, index: int) -> bool:
        """Memoised ``is_winnable`` for the product at catalogue position ``index``."""
        hit = self._winnable.get(index)
        if hit is None:
            hit = self._winnable[index] = is_winnable(build_catalogue(self.catalogue_seed).products[index], self.goal)
        return hit


def _price_upper(rng: random.Random, price: float) -> float:
    candidates = [p for p in PRICE_RANGE if p > price][:4]
    if len(candidates) < 2:  # WebShop drops the price clause here; our prices stay far below $980
        raise ValueError(f"price {price} is too high for a WebShop price bound")
    return sorted(rng.sample(candidates, 2))[1]


def _instruction(rng: random.Random, ptype: str, attributes: tuple[str, ...], options, price_upper: float) -> str:
    if len(attributes) == 3:
        attrs = f"{attributes[0]}, {attributes[1]} and {attributes[2]}"
    else:
        attrs = " ".join(attributes)
    what = f"{attrs} {ptype}"
    art = "" if ptype.endswith("s") else ("an " if what[0] in "aeiou" else "a ")
    opts = " with " + " and ".join(f"{value} {name}" for name, value in options) if options else ""
    return rng.choice(_TEMPLATES).format(art=art, what=what, opts=opts, price=price_upper)


def _draw_goal(rng: random.Random, products: tuple[Product, ...]) -> Goal:
    target = rng.choice(products)
    attributes = tuple(rng.sample(target.attributes, rng.randint(1, min(3, len(target.attributes)))))
    options = tuple((name, rng.choice(values)) for name, values in target.options)
    price_upper = _price_upper(rng, target.price)
    query = normalise_query(" ".join((*attributes, target.product_type, *(v for _, v in options))))
    return Goal(asin=target.asin, instruction=_instruction(rng, target.product_type, attributes, options, price_upper),
                target=target, attributes=attributes, options=options, price_upper=price_upper, query=query)


@functools.lru_cache(maxsize=4096)
def make_task(seed: int, catalogue_seed: int = 0) -> Task:
    """The task for ``seed`` (deterministic; cached, since the N rollouts of a group share it)."""
    catalogue = build_catalogue(catalogue_seed)
    engine = search_engine(catalogue_seed)
    rng = random.Random(f"shop-task:{catalogue_seed}:{seed}")
    for _ in range(1000):
        goal = _draw_goal(rng, catalogue.products)
        results = engine.search(goal.query)
        if catalogue.index_of[goal.asin] not in results:
            continue
        task = Task(seed=seed, catalogue_seed=catalogue_seed, goal=goal, first_winnable_page=-1)
        first = next(rank for rank, i in enumerate(results) if task.winnable(i))  # the target is winnable
        if first // RESULTS_PER_PAGE <= MAX_EXPERT_PAGE:
            task.first_winnable_page = first // RESULTS_PER_PAGE
            return task
    raise RuntimeError(f"no shop task found for seed {seed}; the catalogue vocabulary is too ambiguous")
