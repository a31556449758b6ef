"""Windows of traffic and the units a drift test compares: one row per search, per distinct query, per request.

A window is what one period of traffic left behind: the interactions table of the data contract
(core/data/schema.py INTERACTIONS; one row per product shown in a search), optionally the
products and queries tables to look up what was shown, and optionally the predictor's request log
(one row per scoring request; columns in REQUEST_LOG_COLUMNS).

Units. Repeated searches of one query are not independent evidence: they share the query's
text, its candidates and much of its clicks, so testing every search would count a popular
query many times and call ordinary weekly noise drift. A test therefore sees each distinct query
once: both windows are first sampled down to the same number of searches (seeded), then one
search per distinct query is kept (the first in the shuffled order, so a random one), and at most
max_units of those. Equal search counts make the two sets of distinct queries comparable even
when one window is much longer than the other. Request-log signals count one unit per request
(the log carries no query text to group by).
"""

from __future__ import annotations

import dataclasses
import logging
import re

import numpy as np

from shoprank.core.common.errors import SchemaError

log = logging.getLogger(__name__)

INTERACTION_COLUMNS = ("ts", "session_id", "query", "product_id", "position", "clicked", "purchased", "model_version")
PRODUCT_COLUMNS = ("product_id", "category", "brand", "price")
# The predictor's request log (one JSON object per request; written by serving, read here).
REQUEST_LOG_COLUMNS = (
    "ts", "model_name", "model_sha256", "request_id", "query_chars", "query_tokens", "has_price_limit", "locale",
    "candidate_count", "scores", "top_product_ids", "latency_ms", "user_hash",
)
REQUEST_COLUMNS_USED = ("ts", "model_sha256", "query_chars", "query_tokens", "has_price_limit", "locale",
                        "candidate_count", "scores")
_SPACE = re.compile(r"\s+")


@dataclasses.dataclass
class Window:
    """One period of traffic. Every frame is optional, but a window needs interactions or requests.

    interactions: contract interactions (at least INTERACTION_COLUMNS).
    products: contract products (at least PRODUCT_COLUMNS), to look up what was shown.
    queries: contract queries (query, locale), to look up a query's locale.
    requests: the request log (at least REQUEST_COLUMNS_USED).
    name: how the page names the window ("reference", "current") and where it came from.
    """

    name: str
    interactions: object = None
    products: object = None
    queries: object = None
    requests: object = None
    source: str = ""

    def __post_init__(self):
        for frame, columns, what in ((self.interactions, INTERACTION_COLUMNS, "interactions"),
                                     (self.products, PRODUCT_COLUMNS, "products"),
                                     (self.queries, ("query", "locale"), "queries"),
                                     (self.requests, REQUEST_COLUMNS_USED, "request log")):
            if frame is None:
                continue
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise SchemaError(f"{self.name} window: {what}: expected columns {list(columns)}, missing {missing} "
                                  f"(it has {list(frame.columns)})")
        if not self.has_interactions and not self.has_requests:
            raise SchemaError(f"{self.name} window: expected interactions or request-log rows, got "
                              f"{_size(self.interactions, 'interactions')} and {_size(self.requests, 'requests')}")

    @property
    def has_interactions(self) -> bool:
        return self.interactions is not None and len(self.interactions) > 0

    @property
    def has_requests(self) -> bool:
        return self.requests is not None and len(self.requests) > 0


def _size(frame, what: str) -> str:
    return f"no {what} table" if frame is None else f"{len(frame)} {what} rows"


def normalise_query(text: str) -> str:
    """Lower case, single spaces, no outer spaces: how repeats of one query are recognised."""
    return _SPACE.sub(" ", str(text)).strip().lower()


def searches(interactions, seed: int):
    """(one row per search, the search_id of every interaction row).

    A search is a session's query; its rows are found by (session_id, query). Columns: search_id
    (0..n-1), query, ts, model_version, first_click (position, NaN without a click), purchased
    (any), shown_product and clicked_product (a random one of the search's shown / clicked
    products; None without a click) and clicked_rank (its position). Random picks derive from `seed`.
    """
    import pandas as pd

    frame = interactions
    session_codes, _ = pd.factorize(frame["session_id"], sort=False)
    query_codes, query_values = pd.factorize(frame["query"], sort=False)
    key, _ = pd.factorize(session_codes.astype(np.int64) * (len(query_values) + 1) + query_codes, sort=False)
    n = int(key.max()) + 1 if len(key) else 0
    position = frame["position"].to_numpy(dtype=np.float64)
    clicked = frame["clicked"].to_numpy(dtype=bool)
    purchased = frame["purchased"].to_numpy(dtype=bool)
    first_row = _first_index(key, np.arange(len(key)), n)
    first_click = np.full(n, np.nan)
    per_search = pd.Series(position[clicked]).groupby(key[clicked]).min()
    first_click[per_search.index.to_numpy()] = per_search.to_numpy()
    any_purchase = np.zeros(n, dtype=bool)
    any_purchase[key[purchased]] = True
    rng = np.random.default_rng([seed, 11])
    shown_row = _first_index(key, rng.permutation(len(key)), n)
    clicked_rows = np.flatnonzero(clicked)
    clicked_row = _first_index(key, clicked_rows[rng.permutation(len(clicked_rows))], n)
    has_click = clicked_row >= 0
    out = pd.DataFrame({
        "search_id": np.arange(n),
        "query": np.asarray(query_values, dtype=object)[query_codes[first_row]],
        "ts": frame["ts"].take(first_row).to_numpy(),
        "model_version": _values(frame["model_version"], first_row),
        "first_click": first_click,
        "purchased": any_purchase,
        "shown_product": _values(frame["product_id"], shown_row),
        "clicked_product": np.where(has_click, _values(frame["product_id"], np.maximum(clicked_row, 0)), None),
        "clicked_rank": np.where(has_click, position[np.maximum(clicked_row, 0)], np.nan),
    })
    return out, key


def _values(column, rows: np.ndarray) -> np.ndarray:
    """column[rows] as Python strings (the column may be categorical: only the rows taken are converted)."""
    return column.take(rows).astype(object).map(str).to_numpy(dtype=object)


def _first_index(key: np.ndarray, order: np.ndarray, n: int) -> np.ndarray:
    """For each key value 0..n-1, the first row of `order` holding it (-1 where none)."""
    first = np.full(n, -1, dtype=np.int64)
    values, at = np.unique(key[order], return_index=True)
    first[values] = order[at]
    return first


def paired_units(reference_searches, current_searches, max_units: int, seed: int):
    """(reference units, current units): both windows sampled to the same number of searches,
    one search per distinct query kept, at most max_units each; a `query_norm` column is added."""
    n = min(len(reference_searches), len(current_searches))
    return (_units(reference_searches, n, max_units, np.random.default_rng([seed, 21])),
            _units(current_searches, n, max_units, np.random.default_rng([seed, 22])))


def _units(frame, n: int, max_units: int, rng: np.random.Generator):
    picked = frame.iloc[rng.permutation(len(frame))[:n]]
    norm = normalised(picked["query"])
    keep = ~norm.duplicated().to_numpy()
    units = picked[keep].iloc[:max_units].copy()
    units["query_norm"] = norm[keep].iloc[:max_units].to_numpy()
    return units.reset_index(drop=True)


def normalised(queries):
    """normalise_query over a Series, each distinct text once."""
    import pandas as pd

    codes, uniques = pd.factorize(queries)
    return pd.Series(np.array([normalise_query(q) for q in uniques], dtype=object)[codes], index=queries.index)


def paired_requests(reference_requests, current_requests, max_units: int, seed: int):
    """Both request logs sampled to the same number of requests, at most max_units each."""
    n = min(len(reference_requests), len(current_requests), max_units)
    return (reference_requests.iloc[np.sort(np.random.default_rng([seed, 31]).permutation(len(reference_requests))[:n])]
            .reset_index(drop=True),
            current_requests.iloc[np.sort(np.random.default_rng([seed, 32]).permutation(len(current_requests))[:n])]
            .reset_index(drop=True))


def window_facts(window: Window, search_table=None) -> dict:
    """What the page says about a window: source, dates, row counts, model versions."""
    import pandas as pd

    facts: dict = {"name": window.name, "source": window.source}
    stamps = []
    if window.has_interactions:
        facts["interactions"] = int(len(window.interactions))
        stamps.append(pd.to_datetime(pd.Series([window.interactions["ts"].min(), window.interactions["ts"].max()]), utc=True))
        versions = window.interactions["model_version"].value_counts()
        versions = versions[versions > 0]
        facts["model_versions"] = {str(k): int(v) for k, v in versions.items()}
    if search_table is not None:
        facts["searches"] = int(len(search_table))
        facts["distinct_queries"] = int(normalised(search_table["query"]).nunique())
    if window.has_requests:
        facts["requests"] = int(len(window.requests))
        stamps.append(pd.to_datetime(pd.Series([window.requests["ts"].min(), window.requests["ts"].max()]), utc=True))
        shas = window.requests["model_sha256"].astype(str).value_counts()
        facts["model_sha256"] = {str(k)[:12]: int(v) for k, v in shas.items()}
    if stamps:
        ts = pd.concat(stamps)
        facts["start"] = ts.min().isoformat()
        facts["end"] = ts.max().isoformat()
    return facts
