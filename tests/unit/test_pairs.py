"""The pairs contract: what build_pairs writes, and what read_pairs / write_pairs accept."""

import numpy as np
import pandas as pd
import pytest

from shoprank.core.common.errors import SchemaError
from shoprank.core.data.pairs import PAIR_COLUMNS, read_pairs, write_pairs
from shoprank.core.data.schema import PAIR_STAGE_COLUMNS, PAIRS, PRODUCTS
from shoprank.core.text.product_text import product_text


def test_build_pairs_keeps_the_structured_fields(small_sample, small_pairs):
    assert list(small_pairs.columns) == PAIR_COLUMNS
    products = small_sample.tables["products"].set_index("product_id")
    row = small_pairs.iloc[0]
    product = products.loc[row["product_id"]]
    assert (row["title"], row["brand"], row["category"], row["price"]) == (
        product["title"], product["brand"], product["category"], product["price"])
    assert row["attributes"].startswith("{") and row["product_text"] == product_text(product.to_dict())
    queries = small_sample.tables["queries"].set_index("query_id")
    assert (small_pairs["locale"].fillna("-") == queries.loc[small_pairs["query_id"], "locale"].fillna("-").values).all()


def test_the_contract_shares_its_product_columns_with_the_products_table():
    for name in ("title", "brand", "category", "price", "attributes", "description"):
        assert PAIRS.column(name) == PRODUCTS.column(name)
    assert PRODUCTS.column("price").nullable and PRODUCTS.column("category").nullable
    assert {c.name for c in PAIR_STAGE_COLUMNS} == {"value", "weight", "label_issue", "score"}


def test_write_then_read_round_trips_with_stage_columns_after_the_contract(tmp_path, small_pairs):
    scored = small_pairs.assign(extra=1, weight=1.0, value=np.nan)
    path = write_pairs(scored, tmp_path / "out" / "pairs.parquet")
    back = read_pairs(path)
    assert list(back.columns) == PAIR_COLUMNS + ["value", "weight", "extra"]
    pd.testing.assert_frame_equal(back[PAIR_COLUMNS], small_pairs)
    small_pairs.to_csv(tmp_path / "pairs.csv", index=False)
    assert read_pairs(tmp_path / "pairs.csv")["query_id"].tolist() == small_pairs["query_id"].tolist()


@pytest.mark.parametrize("change, message", [
    (lambda p: p.drop(columns=["title", "locale"]), r"missing \['locale', 'title'\]"),
    (lambda p: p.assign(label=7), r"pairs.label: expected integers 0..3, got e.g. \[7, 7, 7\]"),
    (lambda p: p.assign(split="holdout"), r"pairs.split: expected values in \['train', 'validation', 'test'\], "
                                          r"got \['holdout'\]"),
    (lambda p: p.assign(weight=-1.0), r"pairs.weight: expected a finite number >= 0"),
    (lambda p: p.assign(weight=np.nan), r"pairs.weight: expected a finite number >= 0"),
])
def test_read_pairs_names_what_was_expected_and_what_arrived(small_pairs, change, message):
    with pytest.raises(SchemaError, match=message):
        read_pairs(change(small_pairs))


def test_a_missing_file_is_a_schema_error(tmp_path):
    with pytest.raises(SchemaError, match="expected a Parquet or CSV file at"):
        read_pairs(tmp_path / "nothing.parquet")
