"""The training-pair table every model stage reads: one row per judged (query, product).

Columns: query_id, query, product_id, product_text, label (0..3), split. Stages may add
`value` and `weight` (data valuation) and `score` (a ranker's output).
"""

from __future__ import annotations

from shoprank.core.data.judgments import resolve_labels
from shoprank.core.data.split import SplitConfig, split_queries
from shoprank.core.text.product_text import product_text

PAIR_COLUMNS = ["query_id", "query", "product_id", "product_text", "label", "split"]


def build_pairs(tables: dict, split_config: SplitConfig = SplitConfig()):
    """Join judgments with query text and product text, and assign query-level splits.

    Several judgments of one pair collapse to one label by the rule in core/data/judgments.py
    (human over clicks, then the lower median). Queries with the same normalised text share a
    split (core/data/split.py).
    """
    import pandas as pd

    judgments, _ = resolve_labels(tables["judgments"])
    queries = tables["queries"][["query_id", "query"]]
    products = tables["products"]
    texts = pd.DataFrame(
        {
            "product_id": products["product_id"].values,
            "product_text": [product_text(row) for row in products.to_dict("records")],
        }
    )
    pairs = judgments.merge(queries, on="query_id", how="inner").merge(texts, on="product_id", how="inner")
    judged = pairs.drop_duplicates("query_id")
    splits = split_queries(judged["query_id"], split_config, texts=judged["query"])
    pairs["split"] = pairs["query_id"].map(splits)
    pairs["label"] = pairs["label"].astype("int64")
    return pairs[PAIR_COLUMNS].sort_values(["query_id", "product_id"]).reset_index(drop=True)
