"""The drift signals: what is compared between two windows, per unit, and with which default method.

Groups (the page names them so):
    queries   what shoppers ask: length, words, words the reference never saw, price limits, locale,
              and the query text itself through embeddings
    shown     products shown for a query: price, category, brand
    clicked   products clicked for a query: price, category, brand
    model     the model's behaviour: scores of served candidates, the rank clicks land on
    online    ranking quality seen online: CTR@k, reciprocal rank of the first click (MRR), purchases
    requests  the request log's query features and candidate counts

Units: one row per distinct query for signals from the interactions table, one per request for
signals from the request log (core/drift/windows.py says why). Default methods: Kolmogorov-Smirnov
for numbers, the two-proportion z-test for yes/no signals, a chi-square test of homogeneity for
categories (stattests.py), and a classifier two-sample test for query embeddings (embeddings.py).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import numpy as np

from shoprank.core.drift.config import DISTANCE_METHODS, EMBEDDING_METHODS, P_VALUE_METHODS

_NUM_METHODS = frozenset({"ks", "mannw", "t_test", "cramer_von_mises", "anderson", "es", "empirical_mmd",
                          "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger", "ed"})
_CAT_METHODS = frozenset({"z", "chisquare", "chisquare_2sample", "fisher_exact", "g_test", "TVD",
                          "jensenshannon", "psi", "kl_div", "hellinger"})
_WORD = re.compile(r"\w+")
OTHER = "(other)"
RAW = "raw:"  # prefix of a column holding a signal's values before rare ones became OTHER
MIN_COUNT = 5  # a category or brand is compared on its own only with this many reference units
NONE = "(none)"
QUERY_UNITS, REQUEST_UNITS, EMBEDDING_UNITS = "query_units", "request_units", "embedding_units"


@dataclasses.dataclass(frozen=True)
class Signal:
    """One compared quantity. kind: "num", "cat" (categories; yes/no included) or "emb" (embeddings).
    table: the unit table holding it (QUERY_UNITS, REQUEST_UNITS or EMBEDDING_UNITS)."""

    name: str
    group: str
    kind: str
    table: str
    description: str
    default_method: str

    def methods(self) -> frozenset:
        """The methods this signal can be tested with."""
        return {"num": _NUM_METHODS, "cat": _CAT_METHODS, "emb": EMBEDDING_METHODS}[self.kind]

    def is_p_value(self, method: str) -> bool:
        """Whether `method` yields a p-value (drift below the threshold) rather than a distance."""
        return method in P_VALUE_METHODS or (self.kind == "emb" and method == "classifier")


def _signals():
    q, r = QUERY_UNITS, REQUEST_UNITS
    rows = [
        ("queries.chars", "queries", "num", q, "characters in the query", "ks"),
        ("queries.tokens", "queries", "num", q, "words in the query", "ks"),
        ("queries.unseen_token_share", "queries", "num", q, "share of the query's words no other reference query has", "ks"),
        ("queries.price_limit", "queries", "cat", q, 'query names a price limit ("under $50")', "z"),
        ("queries.locale", "queries", "cat", q, "locale of the query (queries table)", "chisquare_2sample"),
        ("queries.category", "queries", "cat", q, "category asked for: the most frequent among the query's results", "chisquare_2sample"),
        ("queries.embedding", "queries", "emb", EMBEDDING_UNITS, "query text, as pretrained encoder embeddings", "classifier"),
        ("shown.price", "shown", "num", q, "price of a product shown", "ks"),
        ("shown.category", "shown", "cat", q, "category of a product shown", "chisquare_2sample"),
        ("shown.brand", "shown", "cat", q, "brand of a product shown", "chisquare_2sample"),
        ("clicked.price", "clicked", "num", q, "price of a product clicked", "ks"),
        ("clicked.category", "clicked", "cat", q, "category of a product clicked", "chisquare_2sample"),
        ("clicked.brand", "clicked", "cat", q, "brand of a product clicked", "chisquare_2sample"),
        ("model.clicked_rank", "model", "num", q, "served rank of a clicked product", "ks"),
        ("online.ctr_at_k", "online", "cat", q, "a click in the top k (CTR@k)", "z"),
        ("online.reciprocal_rank", "online", "num", q, "1 / rank of the first click, 0 without one (MRR)", "ks"),
        ("online.purchase", "online", "cat", q, "a purchase after the search (purchase rate)", "z"),
        ("model.score", "model", "num", r, "score of a served candidate (one per request)", "ks"),
        ("model.top_score", "model", "num", r, "highest score of a request", "ks"),
        ("requests.query_chars", "requests", "num", r, "characters in the query", "ks"),
        ("requests.query_tokens", "requests", "num", r, "model tokens (word pieces) in the query", "ks"),
        ("requests.price_limit", "requests", "cat", r, "query names a price limit", "z"),
        ("requests.locale", "requests", "cat", r, "locale of the request", "chisquare_2sample"),
        ("requests.candidate_count", "requests", "num", r, "candidates per request", "ks"),
    ]
    return {row[0]: Signal(*row) for row in rows}


SIGNALS: dict[str, Signal] = _signals()
assert all(s.default_method in s.methods() for s in SIGNALS.values())
assert all(m in P_VALUE_METHODS | DISTANCE_METHODS for s in SIGNALS.values() if s.kind != "emb" for m in s.methods())


def tokens(query_norm: str) -> list[str]:
    return _WORD.findall(query_norm)


def reference_vocabulary(reference_searches) -> tuple[Counter, set]:
    """(document frequency of each word over the reference's distinct queries, those queries)."""
    from shoprank.core.drift.windows import normalised

    distinct = set(normalised(reference_searches["query"]))
    frequency: Counter = Counter()
    for query in distinct:
        frequency.update(set(tokens(query)))
    return frequency, distinct


def unseen_token_share(query_norm: str, frequency: Counter, distinct: set) -> float:
    """Share of the query's words that no reference query other than itself contains.

    Leaving the query itself out scores a reference query and a current query alike: a query of
    the reference is not its own evidence that its words were seen. NaN for a query without words.
    """
    words = tokens(query_norm)
    if not words:
        return float("nan")
    own = query_norm in distinct
    own_words = set(words) if own else set()
    unseen = sum(1 for w in words if frequency.get(w, 0) - (w in own_words) <= 0)
    return unseen / len(words)


def query_unit_signals(units, products, locales, frequency: Counter, distinct: set, ctr_k: int, query_categories=None):
    """Signal columns (named as in SIGNALS) for query units from windows.paired_units.

    products: DataFrame indexed by product_id with price, category, brand (None = unknown).
    locales: mapping of normalised query -> locale (None = unknown).
    query_categories: mapping of search_id -> the category shown most for that search (None = unknown).
    Categories and brands come raw here; `bucket_categories` trims them for both windows at once.
    """
    import pandas as pd
    from shoprank.core.text.price_fit import price_limit

    query = units["query"].astype(str)
    norm = units["query_norm"]
    first_click = units["first_click"].to_numpy(dtype=float)
    out = pd.DataFrame({
        "queries.chars": query.str.len().astype(float),
        "queries.tokens": norm.map(lambda q: float(len(tokens(q)))),
        "queries.unseen_token_share": norm.map(lambda q: unseen_token_share(q, frequency, distinct)),
        "queries.price_limit": query.map(lambda q: "yes" if price_limit(q) is not None else "no"),
        "queries.locale": norm.map(lambda q: _label(locales.get(q)) if locales is not None else None),
        "queries.category": (units["search_id"].map(query_categories).astype(object) if query_categories is not None
                             else pd.Series([None] * len(units), dtype=object)),
    })
    for prefix, column in (("shown", "shown_product"), ("clicked", "clicked_product")):
        attrs = _product_attributes(units[column], products)
        out[f"{prefix}.price"] = attrs["price"]
        out[f"{prefix}.category"] = attrs["category"]
        out[f"{prefix}.brand"] = attrs["brand"]
    out["model.clicked_rank"] = units["clicked_rank"].to_numpy(dtype=float)
    out["online.ctr_at_k"] = np.where(first_click <= ctr_k, "yes", "no")
    out["online.reciprocal_rank"] = np.where(np.isnan(first_click), 0.0, 1.0 / np.where(np.isnan(first_click), 1, first_click))
    out["online.purchase"] = np.where(units["purchased"].to_numpy(dtype=bool), "yes", "no")
    return out


def _label(value) -> str:
    return NONE if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _product_attributes(product_ids, products):
    """price / category / brand of each product id; all missing without a products table or for an
    unknown id (a clicked column of None stays missing too)."""
    import pandas as pd

    n = len(product_ids)
    if products is None:
        return {"price": np.full(n, np.nan), "category": [None] * n, "brand": [None] * n}
    at = products.index.get_indexer(pd.Index(product_ids.astype(object)))
    found = at >= 0
    safe = np.maximum(at, 0)
    price = np.where(found, pd.to_numeric(products["price"], errors="coerce").to_numpy(dtype=float)[safe], np.nan)
    category = np.where(found, products["category"].to_numpy(dtype=object)[safe], None)
    brand = np.where(found, products["brand"].map(_label).to_numpy(dtype=object)[safe], None)
    return {"price": price, "category": category, "brand": brand}


def cut_category(path, depth: int) -> str:
    """The first `depth` levels of an "A > B > C" category path."""
    return " > ".join(str(path).split(" > ")[:depth])


def modal_categories(impressions, products, depth: int) -> dict:
    """{search id: the category (cut to `depth` levels) shown most often in that search}; ties go
    to the category first in alphabetical order. impressions: columns search (id) and product_id."""
    import pandas as pd

    if products is None or impressions is None or not len(impressions):
        return {}
    at = products.index.get_indexer(pd.Index(impressions["product_id"].astype(object)))
    found = at >= 0
    category = products["category"].to_numpy(dtype=object)[np.maximum(at, 0)][found]
    frame = pd.DataFrame({"search": impressions["search"].to_numpy()[found],
                          "category": [cut_category(c, depth) for c in category]})
    counts = frame.groupby(["search", "category"]).size().reset_index(name="n")
    counts = counts.sort_values(["search", "n", "category"], ascending=[True, False, True])
    first = counts.drop_duplicates("search")
    return dict(zip(first["search"], first["category"]))


def bucket_categories(reference, current, depth: int, top_values: int) -> None:
    """In place: category paths cut to `depth` levels; categories and brands compared one by one
    only when among the reference's `top_values` most frequent and seen at least MIN_COUNT times
    there (so the chi-square table has no near-empty cells); the rest become OTHER in both windows.
    The values before bucketing stay in RAW + column, to name what moved."""
    for column in ("shown.category", "clicked.category"):
        for frame in (reference, current):
            frame[column] = frame[column].map(lambda c: None if c is None else cut_category(c, depth))
    for column in ("queries.category", "shown.category", "clicked.category", "shown.brand", "clicked.brand"):
        for frame in (reference, current):
            frame[RAW + column] = frame[column]
        counts = reference[column].dropna().value_counts()
        keep = set(counts[counts >= MIN_COUNT].index[:top_values])
        for frame in (reference, current):
            frame[column] = frame[column].map(lambda v: v if v is None or v in keep else OTHER)


def request_unit_signals(requests, seed: int):
    """Signal columns for request units: the log's query features, candidate count, and scores
    (one candidate's score per request, picked at random, and the request's highest score)."""
    import pandas as pd

    rng = np.random.default_rng([seed, 41])
    picked, top = [], []
    for scores in requests["scores"]:
        values = np.asarray(scores if scores is not None else [], dtype=float)
        picked.append(float(values[rng.integers(len(values))]) if values.size else np.nan)
        top.append(float(values.max()) if values.size else np.nan)
    return pd.DataFrame({
        "model.score": picked,
        "model.top_score": top,
        "requests.query_chars": pd.to_numeric(requests["query_chars"], errors="coerce").astype(float).to_numpy(),
        "requests.query_tokens": pd.to_numeric(requests["query_tokens"], errors="coerce").astype(float).to_numpy(),
        "requests.price_limit": requests["has_price_limit"].map(lambda v: None if v is None else ("yes" if v else "no")).to_numpy(),
        "requests.locale": requests["locale"].map(_label).to_numpy(),
        "requests.candidate_count": pd.to_numeric(requests["candidate_count"], errors="coerce").astype(float).to_numpy(),
    })
