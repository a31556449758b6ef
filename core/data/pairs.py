"""The pairs table every model stage reads: one row per judged (query, product).

Columns (core/data/schema.py PAIRS): query_id, query, locale, product_id, the product's fields
(title, brand, category, price, attributes, description; all but the title nullable),
product_text (what rankers read), label (0..3) and split. Stages may add `value`, `weight` and
`label_issue` (data valuation) and `score` (a ranker's output). Query features read the
structured fields (core/text/query_features.py); nothing parses product_text back.

`build_pairs` makes it from the contract tables; `write_pairs` and `read_pairs` are the one way
every stage stores and loads it.
"""

from __future__ import annotations

from pathlib import Path

from shoprank.core.clicks.policy import DEFAULT_CLICK_POLICY, judgments_for_policy
from shoprank.core.common.errors import SchemaError
from shoprank.core.data.judgments import resolve_labels
from shoprank.core.data.schema import PAIR_STAGE_COLUMNS, PAIRS, canonical_json
from shoprank.core.data.split import SplitConfig, split_queries
from shoprank.core.text.product_text import product_text

PAIR_COLUMNS = PAIRS.column_names
# Names this contract in a Dataset artifact's metadata (kfp admits only system.* artifact types);
# v1 held product_text alone, v2 the structured fields too.
PAIRS_SCHEMA = "pairs/v2"
PRODUCT_FIELDS = ["title", "brand", "category", "price", "attributes", "description"]


def build_pairs(tables: dict, split_config: SplitConfig = SplitConfig(), clicks_policy: str = DEFAULT_CLICK_POLICY):
    """Join judgments with the query and the product's fields and text, and assign query-level splits.

    clicks_policy picks the judgments: "human", "clicks" (labels from the interactions table) or
    "both" (default; core/clicks/policy.py); click-labelled pairs keep a `confidence` column.
    Several judgments of one pair collapse to one label by the rule in core/data/judgments.py
    (human over clicks, then the lower median). Queries with the same normalised text share a
    split (core/data/split.py).
    """
    import pandas as pd

    judgments, _ = resolve_labels(judgments_for_policy(tables, clicks_policy)[0])
    queries = tables["queries"].reindex(columns=["query_id", "query", "locale"])
    products = tables["products"].reindex(columns=["product_id"] + PRODUCT_FIELDS)
    items = products.assign(
        attributes=products["attributes"].map(canonical_json),
        product_text=[product_text(row) for row in products.to_dict("records")],
    )
    pairs = judgments.merge(queries, on="query_id", how="inner").merge(items, on="product_id", how="inner")
    judged = pairs.drop_duplicates("query_id")
    splits = split_queries(judged["query_id"], split_config, texts=judged["query"])
    pairs["split"] = pairs["query_id"].map(splits)
    pairs["label"] = pairs["label"].astype("int64")
    pairs["price"] = pd.to_numeric(pairs["price"]).astype("float64")
    extra = ["confidence"] if "confidence" in pairs.columns else []
    return pairs[PAIR_COLUMNS + extra].sort_values(["query_id", "product_id"]).reset_index(drop=True)


def read_pairs(source):
    """The pairs table from a Parquet or CSV path (or a DataFrame), checked against the contract.

    Raises SchemaError naming what was expected and what arrived: a missing file or column, a
    label outside 0..3, an unknown split, a weight that is not a finite number >= 0.
    """
    import pandas as pd

    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise SchemaError(f"pairs: expected a Parquet or CSV file at {path}, found none")
        kind = "CSV" if path.suffix == ".csv" else "Parquet"
        try:
            frame = pd.read_csv(path, dtype={"query_id": str, "product_id": str}) if kind == "CSV" \
                else pd.read_parquet(path)
        except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid and pandas' ParserError are ValueErrors
            raise SchemaError(f"pairs: expected a {kind} file at {path} (by its name), could not read it: "
                              f"{str(err)[:200]}") from None
    else:
        frame = source
    missing = [c for c in PAIR_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(f"pairs: expected columns {PAIR_COLUMNS}, missing {missing} (got {list(frame.columns)})")
    _check_values(frame)
    return frame


def write_pairs(frame, path: str | Path) -> Path:
    """Write a pairs table (contract columns first, then the stage columns, then any others) as Parquet."""
    frame = read_pairs(frame)
    stage = [c.name for c in PAIR_STAGE_COLUMNS if c.name in frame.columns]
    others = [c for c in frame.columns if c not in PAIR_COLUMNS and c not in stage]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[PAIR_COLUMNS + stage + others].to_parquet(path, index=False)
    return path


def _check_values(frame) -> None:
    """The checks a pairs table must pass before any stage reads it (types come from build_pairs)."""
    import numpy as np
    import pandas as pd

    label = PAIRS.column("label")
    bad = frame.loc[~frame["label"].isin(range(int(label.min_value), int(label.max_value) + 1)), "label"]
    if len(bad):
        raise SchemaError(f"pairs.label: expected integers {int(label.min_value)}..{int(label.max_value)}, "
                          f"got e.g. {bad.head(3).tolist()}")
    splits = PAIRS.column("split").allowed
    unknown = sorted(set(frame["split"].astype(str)) - set(splits))
    if unknown:
        raise SchemaError(f"pairs.split: expected values in {list(splits)}, got {unknown}")
    if "weight" in frame.columns:
        weights = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(weights) | (weights < 0)
        if bad.any():
            raise SchemaError(f"pairs.weight: expected a finite number >= 0, got e.g. "
                              f"{frame.loc[bad, 'weight'].head(3).tolist()}")
