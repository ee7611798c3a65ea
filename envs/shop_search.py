"""BM25 product search for the shop env, like WebShop's Pyserini/Lucene BM25 engine, via the ``bm25s`` library.

The index covers each product's title, attributes and description and is built once per catalogue (cached).
A search returns at most :data:`MAX_RESULTS` product positions, best first, like WebShop's top-50 result lists;
products with zero score (no query word in common) are left out. Results are cached per normalised query,
because rollouts of one task repeat the same searches.
"""
from __future__ import annotations

import functools

import bm25s
import numpy as np

from envs.shop_catalogue import Catalogue, build_catalogue, tokens

MAX_RESULTS = 50
_STOPWORDS = frozenset(
    "a an and are as at be by for from i in is it its me my need of on or than that the this to want with "
    "looking am lower price dollars".split()
)


def search_tokens(text: str) -> list[str]:
    """Index/query tokens: lower-case words minus stopwords (and the instruction boilerplate words)."""
    return [t for t in tokens(text) if t not in _STOPWORDS]


def normalise_query(query: str) -> str:
    """The canonical form of a typed query: lower case, single spaces. Equal forms give equal result pages."""
    return " ".join(query.lower().split())


class SearchEngine:
    """BM25 over one catalogue; ``search(query)`` -> tuple of product positions (best first, <= 50)."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        corpus = [search_tokens(" ".join((p.title, " ".join(p.attributes), p.description)))
                  for p in catalogue.products]
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        self._cache: dict[str, tuple[int, ...]] = {}

    def search(self, query: str) -> tuple[int, ...]:
        query = normalise_query(query)
        hit = self._cache.get(query)
        if hit is not None:
            return hit
        words = search_tokens(query)
        if not words:
            result: tuple[int, ...] = ()
        else:
            scores = self._bm25.get_scores(words)
            # Stable sort: ties keep catalogue order, so results are deterministic.
            order = np.argsort(-scores, kind="stable")[:MAX_RESULTS]
            result = tuple(int(i) for i in order if scores[i] > 0)
        if len(self._cache) > 100_000:  # bound memory under adversarial free-text queries
            self._cache.clear()
        self._cache[query] = result
        return result


@functools.lru_cache(maxsize=8)
def search_engine(catalogue_seed: int = 0) -> SearchEngine:
    """The (cached) search engine over ``build_catalogue(catalogue_seed)``."""
    return SearchEngine(build_catalogue(catalogue_seed))
