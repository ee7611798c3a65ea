"""A seeded, procedurally generated product catalogue: the offline stand-in for WebShop's scraped Amazon products.

WebShop (Yao et al. 2022, arXiv 2207.01206) serves 1.18M real products from five categories (beauty, food,
fashion, furniture, electronics), each with a title, a breadcrumb ``product_category``, the search ``query`` it
was scraped under (its product type), a list of attributes, selectable options (size, colour, flavour, ...),
a price, a description and bullet-point features. This module builds products with exactly those fields from
hand-written vocabularies, so the environment needs no download. Same seed -> same catalogue, and
:func:`build_catalogue` caches catalogues at module level, so constructing many environments is cheap.
"""
from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field

from envs.shop_categories import ALL_ATTRIBUTES, CATEGORIES, CategorySpec, ProductType


@dataclass(frozen=True)
class Product:
    """One product page. Field names follow WebShop's product records (``query``/``product_category``/...)."""

    asin: str  # Amazon-style id shown on result pages, e.g. "B07K3J9QXM"
    title: str
    brand: str
    product_type: str  # WebShop's ``query``: the search the product was scraped under, e.g. "protein bar"
    category: str  # one of CATEGORY_NAMES
    product_category: str  # breadcrumb, e.g. "Grocery & Gourmet Food › Snacks › Protein Bars"
    attributes: tuple[str, ...]
    options: tuple[tuple[str, tuple[str, ...]], ...]  # ((option name, (values...)), ...), values lower case
    price: float
    description: str
    features: tuple[str, ...]

    @property
    def option_values(self) -> dict[str, str]:
        """Value -> option name; values are unique within a product, so a click names one option."""
        return {v: name for name, values in self.options for v in values}


@dataclass(frozen=True)
class Catalogue:
    seed: int
    products: tuple[Product, ...]
    index_of: dict[str, int] = field(repr=False)  # asin -> position in ``products``

    def __len__(self) -> int:
        return len(self.products)

    def by_asin(self, asin: str) -> Product:
        return self.products[self.index_of[asin]]


PRODUCTS_PER_TYPE = 28  # 5 categories x 9 types x 28 = 1,260 products

# Filler text carries no attribute phrase; it makes descriptions read like product copy and gives BM25 noise.
_DESCRIPTION_FILLER = (
    "Designed for everyday use and made to a high standard.",
    "Our team tests every batch before it ships.",
    "A customer favourite, now in a refreshed design.",
    "Backed by our satisfaction promise.",
    "Thoughtfully made with care for the details.",
    "Great as a gift or a treat for yourself.",
)
_FEATURE_BLURBS = (
    "made for daily use", "a customer favourite", "tested for quality", "thoughtful design",
    "great value", "backed by our promise",
)
_ASIN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (letters/digits). Shared by search indexing, queries and the type reward."""
    return _TOKEN.findall(text.lower())


def _title_case(text: str) -> str:
    return " ".join(w if w[:1].isdigit() else w[:1].upper() + w[1:] for w in text.split())


def _make_product(rng: random.Random, asin: str, cat: CategorySpec, ptype: ProductType, brand: str,
                  descriptor: str) -> Product:
    attributes = tuple(rng.sample(ptype.attributes or cat.attributes, rng.randint(2, 4)))
    options = []
    for name, pool in ptype.options.items():
        keep = sorted(rng.sample(range(len(pool)), rng.randint(2, len(pool))))
        options.append((name, tuple(pool[i] for i in keep)))
    lo, hi = ptype.price_range
    price = round(rng.randint(int(lo), int(hi)) + rng.choice((0.99, 0.49, 0.95, 0.0)), 2)
    # Like many Amazon titles, some titles repeat one attribute (WebShop's reward also reads titles).
    title = f"{brand} {descriptor} {_title_case(ptype.name)}"
    if rng.random() < 0.5:
        title += f", {_title_case(attributes[0])}"
    first_values = ", ".join(values[0] for _, values in options)
    title += f", {first_values.title()}" if rng.random() < 0.3 else ""
    attribute_sentence = " and ".join(attributes[:2]).capitalize()
    description = (
        f"{title}. {attribute_sentence}, this {ptype.name} from {brand} is a reliable pick. "
        f"{rng.choice(_DESCRIPTION_FILLER)} "
        + " ".join(f"Available {name}: {', '.join(values)}." for name, values in options)
    )
    features = tuple(f"{a.upper()}: {rng.choice(_FEATURE_BLURBS)}" for a in attributes) + (
        f"{descriptor.upper()} {ptype.name.upper()} by {brand}",
    )
    return Product(
        asin=asin, title=title, brand=brand, product_type=ptype.name, category=cat.name,
        product_category=f"{cat.root} › {ptype.subcategory} › {_title_case(ptype.name)}",
        attributes=attributes, options=tuple(options), price=price, description=description, features=features,
    )


def product_text(p: Product) -> str:
    """Lower-cased title + bullet points + description: where WebShop's reward looks for unlisted attributes."""
    return " ".join((p.title, " ".join(p.features), p.description)).lower()


def _check_product(p: Product) -> None:
    """Invariants the reward and the action parser rely on; a vocabulary edit that breaks one fails loudly."""
    text = product_text(p)
    for a in ALL_ATTRIBUTES:
        if a in text and a not in p.attributes:
            raise ValueError(f"catalogue: product {p.asin} text mentions attribute {a!r} it does not have")
    values = [v for _, vs in p.options for v in vs]
    if len(values) != len(set(values)):
        raise ValueError(f"catalogue: product {p.asin} repeats an option value across options: {values}")
    reserved = {"back to search", "< prev", "next >", "description", "features", "buy now", p.asin.lower()}
    if reserved & set(values):
        raise ValueError(f"catalogue: product {p.asin} has an option value that is also a button name")


@functools.lru_cache(maxsize=8)
def build_catalogue(seed: int = 0) -> Catalogue:
    """The catalogue for ``seed``: deterministic, built once per process and seed (about 0.1 s)."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"catalogue seed must be an int, got {seed!r}")
    rng = random.Random(seed)
    products: list[Product] = []
    asins: set[str] = set()
    for cat in CATEGORIES:
        for ptype in cat.types:
            combos = [(b, d) for b in cat.brands for d in ptype.descriptors]
            for brand, descriptor in rng.sample(combos, PRODUCTS_PER_TYPE):
                asin = "B0" + "".join(rng.choice(_ASIN_CHARS) for _ in range(8))
                while asin in asins:
                    asin = "B0" + "".join(rng.choice(_ASIN_CHARS) for _ in range(8))
                asins.add(asin)
                product = _make_product(rng, asin, cat, ptype, brand, descriptor)
                _check_product(product)
                products.append(product)
    return Catalogue(seed=seed, products=tuple(products), index_of={p.asin: i for i, p in enumerate(products)})
