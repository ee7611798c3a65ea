"""``shop``: an offline, procedurally generated counterpart of WebShop (Yao et al. 2022), GiGPO's web benchmark.

The agent reads an instruction ("i need a long lasting gluten free protein bar with chocolate flavor, and price
lower than 40.00 dollars"), searches a 1,260-product catalogue (BM25), browses result pages, opens products,
selects options and buys. Buying ends the episode with WebShop's reward (:mod:`envs.shop_reward`); the episode is
won when that reward is 1. Pages and actions follow WebShop's text environment:

- search page: ``search[<any query>]`` (the admissible list suggests one: the instruction's product words);
- results page (10 per page, at most 50 results): ``click[back to search]``, ``click[< prev]``, ``click[next >]``,
  ``click[<asin>]``;
- item page: ``click[<option value>]``, ``click[description]``, ``click[features]``, ``click[< prev]``,
  ``click[back to search]``, ``click[buy now]``;
- description / features pages: ``click[< prev]`` (back to the item, options kept), ``click[back to search]``.

Observations are WebShop's "simple" mode: the page's texts joined by `` [SEP] ``. Click arguments are matched
case-insensitively, as WebShop lower-cases clickables. An action that is not available leaves the page unchanged
and WebShop's answer is that same page. The state (``info["anchor"]``) is ``(page, query, page number, asin,
selected options)``; it omits the instruction, which is fixed within a task. WebShop's "Reviews" and "Attributes"
buttons are left out (there is nothing behind them here).
"""
from __future__ import annotations

import functools
import random
from typing import Any, NamedTuple

from envs.shop_catalogue import Catalogue, build_catalogue
from envs.shop_goals import RESULTS_PER_PAGE, Task, make_task, winning_selection
from envs.shop_reward import get_reward
from envs.shop_search import SearchEngine, normalise_query, search_engine

SEARCH, RESULTS, ITEM, DESCRIPTION, FEATURES, DONE = "search", "results", "item", "description", "features", "done"
BACK, PREV, NEXT, BUY = "back to search", "< prev", "next >", "buy now"


class ShopState(NamedTuple):
    """Everything that decides the page and the effect of every action (WebShop keeps it in the page URL)."""

    page: str  # one of SEARCH, RESULTS, ITEM, DESCRIPTION, FEATURES, DONE
    query: str = ""  # normalised search query ("" on the search page)
    page_num: int = 0  # 0-based results page
    asin: str = ""  # the open product ("" on search and results pages)
    selected: tuple[tuple[str, str], ...] = ()  # sorted (option name, value) pairs on the open product


_SEARCH_PAGE = ShopState(SEARCH)


class _Page(NamedTuple):
    body: str  # rendered text after the instruction
    clicks: dict[str, ShopState]  # lower-case click argument -> next state
    actions: tuple[str, ...]  # admissible click actions in page order


class _Site:
    """The catalogue's pages, rendered and linked once per state and shared by every env on that catalogue."""

    def __init__(self, catalogue: Catalogue, engine: SearchEngine):
        self.catalogue = catalogue
        self.engine = engine
        self._pages: dict[ShopState, _Page] = {}

    def page(self, state: ShopState) -> _Page:
        hit = self._pages.get(state)
        if hit is None:
            if len(self._pages) > 200_000:  # free-text queries make the state space unbounded
                self._pages.clear()
            hit = self._pages[state] = self._build(state)
        return hit

    def results(self, state: ShopState) -> tuple[int, ...]:
        """Catalogue positions on the current results page."""
        start = state.page_num * RESULTS_PER_PAGE
        return self.engine.search(state.query)[start:start + RESULTS_PER_PAGE]

    def _build(self, s: ShopState) -> _Page:
        back = ShopState(SEARCH)
        if s.page == RESULTS:
            total = len(self.engine.search(s.query))
            texts = ["Back to Search", f"Page {s.page_num + 1} (Total results: {total})"]
            clicks = {BACK: back}
            if s.page_num > 0:
                texts.append("< Prev")
                clicks[PREV] = s._replace(page_num=s.page_num - 1)
            if (s.page_num + 1) * RESULTS_PER_PAGE < total:
                texts.append("Next >")
                clicks[NEXT] = s._replace(page_num=s.page_num + 1)
            for i in self.results(s):
                p = self.catalogue.products[i]
                texts += [p.asin, p.title, f"${p.price:.2f}"]
                clicks[p.asin.lower()] = s._replace(page=ITEM, asin=p.asin)
        elif s.page == ITEM:
            p = self.catalogue.by_asin(s.asin)
            chosen = dict(s.selected)
            texts = ["Back to Search", "< Prev"]
            clicks = {BACK: back, PREV: s._replace(page=RESULTS, asin="", selected=())}
            for name, values in p.options:
                texts.append(name)
                for v in values:
                    texts.append(f"{v} (selected)" if chosen.get(name) == v else v)
                    clicks[v] = s._replace(selected=tuple(sorted({**chosen, name: v}.items())))
            texts += [p.title, f"Price: ${p.price:.2f}", "Rating: N.A.", "Description", "Features", "Buy Now"]
            clicks[DESCRIPTION] = s._replace(page=DESCRIPTION)
            clicks[FEATURES] = s._replace(page=FEATURES)
            clicks[BUY] = s._replace(page=DONE)
        elif s.page in (DESCRIPTION, FEATURES):
            p = self.catalogue.by_asin(s.asin)
            texts = ["Back to Search", "< Prev", *((p.description,) if s.page == DESCRIPTION else p.features)]
            clicks = {BACK: back, PREV: s._replace(page=ITEM)}
        else:  # the search page and the done page are rendered per task, and have no clicks
            texts, clicks = [], {}
        return _Page(" [SEP] ".join(texts), clicks, tuple(f"click[{c}]" for c in clicks))


@functools.lru_cache(maxsize=8)
def _site(catalogue_seed: int) -> _Site:
    return _Site(build_catalogue(catalogue_seed), search_engine(catalogue_seed))


class ShopEnv:
    """WebShop-style shopping env following ``envs.base.TextEnv``.

    Args:
        catalogue_seed: which generated catalogue to shop in (default 0; catalogues are cached per process).
        max_steps: step limit; ``truncated`` becomes true when it is reached (WebShop agents commonly get 15).
    """

    def __init__(self, catalogue_seed: int = 0, max_steps: int = 15):
        if not isinstance(catalogue_seed, int) or isinstance(catalogue_seed, bool):
            raise ValueError(f"catalogue_seed must be an int, got {catalogue_seed!r}")
        if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
        self.catalogue_seed = catalogue_seed
        self.max_steps = max_steps
        self.site = _site(catalogue_seed)
        self._rng = random.Random()
        self.task: Task | None = None
        self.state = _SEARCH_PAGE
        self.steps = 0
        self.reward = 0.0
        self.reward_parts: dict | None = None

    # -- gymnasium-style API ---------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        if seed is None:
            seed = self._rng.randrange(2**31)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        self.task = make_task(seed, self.catalogue_seed)
        self.state = _SEARCH_PAGE
        self.steps = 0
        self.reward = 0.0
        self.reward_parts = None
        return self._observe()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.task is None:
            raise ValueError("step called before reset")
        if self.state.page == DONE:
            raise ValueError("the episode has ended (the item was bought); call reset")
        if not isinstance(action, str):
            raise ValueError(f"action must be a str, got {type(action).__name__}")
        self.steps += 1
        nxt = self._transition(action)
        reward = 0.0
        if nxt is not None:
            self.state = nxt
            if nxt.page == DONE:
                product = self.site.catalogue.by_asin(nxt.asin)
                reward, self.reward_parts = get_reward(product, self.task.goal, product.price, dict(nxt.selected))
                self.reward = reward
        terminated = self.state.page == DONE
        truncated = not terminated and self.steps >= self.max_steps
        obs, info = self._observe(truncated)
        # The env's own verdict (envs.base): any search[...] text and other spellings of a click are accepted,
        # though the admissible list names one suggested search and lower-case clicks.
        info["action_valid"] = nxt is not None
        return obs, reward, terminated, truncated, info

    # -- mechanics -------------------------------------------------------------------------------------------------
    def _transition(self, action: str) -> ShopState | None:
        """The next state, or None when the action is not available on this page."""
        text = action.strip()
        head = text[:7].lower()
        if not text.endswith("]"):
            return None
        if head == "search[":
            return ShopState(RESULTS, normalise_query(text[7:-1])) if self.state.page == SEARCH else None
        if head[:6] == "click[":
            return self.site.page(self.state).clicks.get(text[6:-1].strip().lower())
        return None

    def _observe(self, truncated: bool = False) -> tuple[str, dict[str, Any]]:
        goal = self.task.goal
        s = self.state
        if s.page == SEARCH:
            obs = f"WebShop [SEP] Instruction: [SEP] {goal.instruction} [SEP] Search"
            actions = [f"search[{goal.query}]"]
        elif s.page == DONE:
            p = self.site.catalogue.by_asin(s.asin)
            chosen = ", ".join(f"{k}: {v}" for k, v in s.selected) or "none"
            obs = (f"Thank you for shopping with us! [SEP] Purchased [SEP] {p.asin} [SEP] {p.title} [SEP] "
                   f"Options: {chosen} [SEP] Your score (min 0.0, max 1.0) [SEP] {self.reward:.2f}")
            actions = []
        else:
            page = self.site.page(s)
            obs = f"Instruction: [SEP] {goal.instruction} [SEP] {page.body}"
            actions = list(page.actions)
        info = {
            "anchor": s,
            "admissible_actions": actions,
            "expert_action": None if truncated else self.expert_action(),  # the contract: None once done
            "won": self.reward == 1.0,
            "task": goal.instruction,
        }
        if s.page == DONE:
            info["reward_parts"] = self.reward_parts
        return obs, info

    def expert_action(self) -> str | None:
        """Next action of a plan that reaches reward 1 from the current state (None once bought).

        Plan: search the instruction's product words, go to the page showing the first winnable product, open it,
        select the goal's option values, buy. From elsewhere it first walks back: to the item from its description
        or features page if that item is winnable, else to its results page if that page shows a winnable item,
        else to the search page.
        """
        task, s, site = self.task, self.state, self.site
        goal = task.goal
        if s.page == DONE:
            return None
        if s.page == SEARCH:
            return f"search[{goal.query}]"
        if s.page == RESULTS:
            for i in site.results(s):
                if task.winnable(i):
                    return f"click[{site.catalogue.products[i].asin.lower()}]"
            # Page towards the first winnable result when that is no longer than searching again (2 steps + pages).
            distance = task.first_winnable_page - s.page_num
            if s.query == goal.query and abs(distance) <= 2 + task.first_winnable_page:
                return f"click[{NEXT}]" if distance > 0 else f"click[{PREV}]"
            return f"click[{BACK}]"
        index = site.catalogue.index_of[s.asin]
        if not task.winnable(index):  # walk back only when the results page we came from shows a winnable item
            page_has_winner = any(task.winnable(i) for i in site.results(s))
            return f"click[{PREV}]" if page_has_winner else f"click[{BACK}]"
        if s.page in (DESCRIPTION, FEATURES):
            return f"click[{PREV}]"
        chosen = dict(s.selected)
        for name, value in winning_selection(site.catalogue.products[index], goal).items():
            if chosen.get(name) != value:
                return f"click[{value}]"
        return f"click[{BUY}]"
