"""The training-pair table every model stage reads: one row per judged (query, product).

Columns: query_id, query, product_id, product_text, label (0..3), split. Stages may add
`value` and `weight` (data valuation) and `score` (a ranker's output).
"""

from __future__ import annotations

from shoprank.core.data.split import SplitConfig, split_queries
from shoprank.core.text.product_text import product_text

PAIR_COLUMNS = ["query_id", "query", "product_id", "product_text", "label", "split"]


def build_pairs(tables: dict, split_config: SplitConfig = SplitConfig()):
    """Join judgments with query text and product text, and assign query-level splits.

    Several judgments of one pair (e.g. human and clicks) collapse to the human label when
    present, else the highest click label.
    """
    import pandas as pd

    judgments = tables["judgments"].copy()
    judgments["_human"] = (judgments["source"] == "human").astype(int)
    judgments = (
        judgments.sort_values(["query_id", "product_id", "_human", "label"])
        .drop_duplicates(["query_id", "product_id"], keep="last")
        .drop(columns="_human")
    )
    queries = tables["queries"][["query_id", "query"]]
    products = tables["products"]
    texts = pd.DataFrame(
        {
            "product_id": products["product_id"].values,
            "product_text": [product_text(row) for row in products.to_dict("records")],
        }
    )
    pairs = judgments.merge(queries, on="query_id", how="inner").merge(texts, on="product_id", how="inner")
    splits = split_queries(pairs["query_id"].unique(), split_config)
    pairs["split"] = pairs["query_id"].map(splits)
    pairs["label"] = pairs["label"].astype("int64")
    return pairs[PAIR_COLUMNS].sort_values(["query_id", "product_id"]).reset_index(drop=True)
