"""Session pairs: one row per shown result of each search session, with the shopper's history, for
training a personalised reranker and for evaluating rankers on held-out sessions.

A session's rows share a group id `<query_id>@<session_id>`, so a listwise loss and the metrics
rank one result page at a time. Labels come from what that shopper did: 3 bought, 2 clicked,
0 neither. A click is evidence wherever it happened; a skip only where the shopper looked, so a
row without a click weighs its rank's examination probability (the PBM fit,
core/clicks/propensity.py: Joachims et al. 2017 weight clicks by inverse propensity; weighting
skips by propensity is the same idea for negatives). Splits follow the query's split, so a test
query's sessions are never trained on.

Evaluation (`session_metrics`): NDCG@10 and MRR of the bought and of the clicked products of each
held-out session among the results it showed, averaged over the sessions with at least one,
separately for shoppers with a history before the session and without one.
"""

from __future__ import annotations

import numpy as np

from shoprank.core.clicks.labels import query_key
from shoprank.core.clicks.propensity import PropensityFit
from shoprank.core.data.pairs import PAIR_COLUMNS, PRODUCT_FIELDS
from shoprank.core.data.schema import canonical_json
from shoprank.core.evaluation.metrics import per_query_metrics
from shoprank.core.text.product_text import product_text

SESSION_COLUMNS = ["session_id", "base_query_id", "position", "clicked", "purchased", "history", "has_history"]
GROUPS = ("history", "nohistory")


def session_pairs(tables: dict, histories, splits: dict, fit: PropensityFit):
    """The pairs contract's columns plus weight and SESSION_COLUMNS, one row per shown result.

    tables: contract tables (products, queries, interactions); histories: session_histories();
    splits: query_id -> split (as build_pairs assigned them); fit: the PBM fit. Sessions whose
    query text is not in the queries table are left out.
    """
    events = tables["interactions"]
    queries = tables["queries"].assign(query_key=query_key(tables["queries"]["query"])).drop_duplicates("query_key")
    products = tables["products"].reindex(columns=["product_id"] + PRODUCT_FIELDS)
    products = products.assign(attributes=products["attributes"].map(canonical_json))
    frame = events.assign(query_key=query_key(events["query"])).drop(columns="query").merge(
        queries[["query_key", "query_id", "query", "locale"]], on="query_key", how="inner")
    frame = frame.merge(products, on="product_id", how="inner").merge(
        histories[["session_id", "history"]], on="session_id", how="left")
    frame["history"] = frame["history"].fillna("")
    frame["has_history"] = frame["history"] != ""
    frame["base_query_id"] = frame["query_id"].astype(str)
    frame["query_id"] = frame["base_query_id"] + "@" + frame["session_id"].astype(str)
    frame["split"] = frame["base_query_id"].map(splits)
    frame = frame[frame["split"].notna()].copy()
    clicked, purchased = frame["clicked"].astype(bool).to_numpy(), frame["purchased"].astype(bool).to_numpy()
    frame["label"] = np.where(purchased, 3, np.where(clicked, 2, 0)).astype("int64")
    frame["weight"] = np.where(clicked, 1.0, fit.propensity(frame["position"].to_numpy()))
    frame["product_text"] = [product_text(row) for row in frame[PRODUCT_FIELDS].to_dict("records")]
    frame["price"] = frame["price"].astype("float64")
    columns = PAIR_COLUMNS + ["weight"] + SESSION_COLUMNS
    return frame[columns].sort_values(["query_id", "position"]).reset_index(drop=True)


def session_metrics(frame, score_column: str = "score", k: int = 10) -> dict:
    """{"<outcome>_<group>": {"ndcg@10", "mrr", "sessions"}} for outcome bought / clicked and group
    history / nohistory / all. frame: session_pairs rows with a score column."""
    out: dict = {}
    has_history = frame.groupby("query_id", sort=True)["has_history"].first().astype(bool)
    for outcome, column in (("bought", "purchased"), ("clicked", "clicked")):
        # Sessions with no positive, or only positives, have nothing to rank: left out (core/evaluation/metrics.py).
        ranked = frame[["query_id", score_column]].assign(label=frame[column].astype(bool).astype("int64"))
        per_session = per_query_metrics(ranked, score_column, k=k, relevant=1).set_index("query_id")
        per_session = per_session[per_session["left_out"] == ""]
        history = has_history.reindex(per_session.index)
        for group in GROUPS + ("all",):
            chosen = per_session if group == "all" else per_session[history == (group == "history")]
            out[f"{outcome}_{group}"] = {
                "ndcg@10": float(chosen[f"ndcg@{k}"].mean()) if len(chosen) else float("nan"),
                "mrr": float(chosen["mrr"].mean()) if len(chosen) else float("nan"),
                "sessions": int(len(chosen))}
    return out
