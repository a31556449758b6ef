"""The unit tables of a drift check, built from two windows: what each test sees, side by side.

    tables = unit_tables(reference, current, config)
    tables.frames[QUERY_UNITS] -> (reference signal columns, current signal columns)

Query units come from the interactions (one per distinct query, windows.py), request units from
the request log, embedding units are the query texts to encode. A table missing from one or both
windows is recorded with the reason, which the verdict shows as "not enough data" or "unavailable".
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shoprank.core.common.errors import SchemaError
from shoprank.core.drift import signals as sig
from shoprank.core.drift.config import DriftConfig
from shoprank.core.drift.embeddings import sample_queries
from shoprank.core.drift.verdict import NOT_ENOUGH, UNAVAILABLE
from shoprank.core.drift.windows import Window, normalise_query, paired_requests, paired_units, searches, window_facts


@dataclasses.dataclass
class UnitTables:
    """frames: {table: (reference, current)}. missing: {table or "products" / "queries": (status, reason)}.
    sample: units per window and table. facts: per-window facts. impressions: (reference, current)
    rows of the sampled searches for Evidently's ranking metrics. online: quality per model version."""

    frames: dict
    missing: dict
    sample: dict
    facts: dict
    impressions: tuple | None = None
    online: dict | None = None


def unit_tables(reference: Window, current: Window, config: DriftConfig) -> UnitTables:
    """Every unit table the two windows allow. Raises SchemaError when they share none."""
    tables = UnitTables(frames={}, missing={}, sample={}, facts={})
    ref_searches = searches(reference.interactions, config.seed) if reference.has_interactions else None
    cur_searches = searches(current.interactions, config.seed) if current.has_interactions else None
    tables.facts = {"reference": window_facts(reference, ref_searches and ref_searches[0]),
                    "current": window_facts(current, cur_searches and cur_searches[0])}
    if ref_searches is not None and cur_searches is not None:
        _query_tables(tables, reference, current, ref_searches, cur_searches, config)
    else:
        tables.missing[sig.QUERY_UNITS] = _one_sided("interactions", reference.has_interactions, current.has_interactions)
        tables.missing[sig.EMBEDDING_UNITS] = tables.missing[sig.QUERY_UNITS]
    if reference.has_requests and current.has_requests:
        ref_req, cur_req = paired_requests(reference.requests, current.requests, config.max_units, config.seed)
        tables.frames[sig.REQUEST_UNITS] = (sig.request_unit_signals(ref_req, config.seed),
                                            sig.request_unit_signals(cur_req, config.seed + 1))
        tables.sample[sig.REQUEST_UNITS] = {"reference": len(ref_req), "current": len(cur_req)}
    else:
        tables.missing[sig.REQUEST_UNITS] = _one_sided("request log", reference.has_requests, current.has_requests)
    if not tables.frames:
        raise SchemaError("the windows share no data to compare: the reference has "
                          f"{_holdings(reference)}, the current window has {_holdings(current)}; "
                          "expected interactions in both, or a request log in both")
    return tables


def _query_tables(tables: UnitTables, reference: Window, current: Window, ref_searches, cur_searches,
                  config: DriftConfig) -> None:
    (ref_table, ref_rows), (cur_table, cur_rows) = ref_searches, cur_searches
    ref_units, cur_units = paired_units(ref_table, cur_table, config.max_units, config.seed)
    frequency, distinct = sig.reference_vocabulary(ref_table)
    tables.impressions = (_impressions(reference.interactions, ref_rows, ref_units),
                          _impressions(current.interactions, cur_rows, cur_units))
    frames = []
    for window, other, units, impressions in ((reference, current, ref_units, tables.impressions[0]),
                                              (current, reference, cur_units, tables.impressions[1])):
        products = _product_index(window.products if window.products is not None else other.products)
        queries = window.queries if window.queries is not None else other.queries
        categories = sig.modal_categories(impressions, products, config.category_depth)
        frames.append(sig.query_unit_signals(units, products, _locales(queries), frequency, distinct,
                                             config.ctr_k, categories))
    sig.bucket_categories(frames[0], frames[1], config.category_depth, config.top_values)
    tables.frames[sig.QUERY_UNITS] = tuple(frames)
    tables.sample[sig.QUERY_UNITS] = {"searches_sampled_per_window": int(min(len(ref_table), len(cur_table))),
                                      "reference": len(ref_units), "current": len(cur_units)}
    if reference.products is None and current.products is None:
        tables.missing["products"] = (UNAVAILABLE, "no products table in either window")
    if reference.queries is None and current.queries is None:
        tables.missing["queries"] = (UNAVAILABLE, "no queries table in either window")
    texts = (sample_queries(ref_units, config.embedding_max_queries, config.seed, 0),
             sample_queries(cur_units, config.embedding_max_queries, config.seed, 1))
    tables.frames[sig.EMBEDDING_UNITS] = texts
    tables.sample[sig.EMBEDDING_UNITS] = {"reference": len(texts[0]), "current": len(texts[1])}
    tables.online = {"by_model_version": _online_by_version(ref_units, cur_units, config.ctr_k)}


def _holdings(window: Window) -> str:
    held = [what for what, has in (("interactions", window.has_interactions), ("a request log", window.has_requests)) if has]
    return " and ".join(held) or "nothing"


def _one_sided(what: str, in_reference: bool, in_current: bool) -> tuple[str, str]:
    """(status, reason) for a unit table that is not in both windows."""
    if not in_reference and not in_current:
        return UNAVAILABLE, f"no {what} in either window"
    return NOT_ENOUGH, f"the {'current' if in_reference else 'reference'} window has no {what}"


def _product_index(products):
    if products is None:
        return None
    return products.drop_duplicates("product_id").set_index("product_id")[["price", "category", "brand"]]


def _locales(queries):
    if queries is None:
        return None
    return dict(zip(queries["query"].map(normalise_query), queries["locale"]))


def _impressions(interactions, row_search: np.ndarray, units):
    """The interaction rows of the unit searches, in the columns Evidently's ranking metrics read."""
    import pandas as pd

    mask = np.isin(row_search, units["search_id"].to_numpy())
    rows = interactions[mask]
    return pd.DataFrame({
        "search": row_search[mask],
        "product_id": rows["product_id"].astype(str).to_numpy(),
        "position": rows["position"].to_numpy(dtype=np.int64),
        "clicked": rows["clicked"].to_numpy(dtype=bool).astype(int),
    })


def _online_by_version(ref_units, cur_units, k: int) -> dict:
    """Per model version and window: searches (units), CTR@k, MRR of clicks, purchase rate."""
    out: dict = {}
    for window, units in (("reference", ref_units), ("current", cur_units)):
        first = units["first_click"].to_numpy(dtype=float)
        reciprocal = np.where(np.isnan(first), 0.0, 1.0 / np.where(np.isnan(first), 1.0, first))
        for version, index in units.groupby(units["model_version"].astype(str)).indices.items():
            out.setdefault(version, {})[window] = {
                "searches": int(len(index)),
                "ctr_at_k": float(np.mean(first[index] <= k)),
                "mrr": float(np.mean(reciprocal[index])),
                "purchase_rate": float(units["purchased"].to_numpy(dtype=bool)[index].mean()),
            }
    return out
