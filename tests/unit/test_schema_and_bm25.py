import pandas as pd
import pytest

from shoprank.core.ranking.bm25 import bm25_scores
from shoprank.core.common.errors import SchemaError
from shoprank.core.data.schema import TABLES, coerce, read_table, read_tables


def test_contracts_have_the_designed_columns():
    assert TABLES["products"].column_names == ["product_id", "title", "description", "brand", "category", "price", "attributes"]
    assert TABLES["queries"].column_names == ["query_id", "query", "locale"]
    assert TABLES["judgments"].column_names == ["query_id", "product_id", "label", "source"]
    assert TABLES["interactions"].column_names == [
        "event_id", "ts", "session_id", "user_id", "query", "product_id", "position", "clicked", "purchased", "model_version"]


def test_csv_and_parquet_load_the_same(small_sample, tmp_path):
    small_sample.write(tmp_path / "pq")
    small_sample.write(tmp_path / "csv", fmt="csv")
    a = {n: coerce(f, n) for n, f in read_tables(tmp_path / "pq").items()}
    b = {n: coerce(f, n) for n, f in read_tables(tmp_path / "csv").items()}
    for name in ("products", "queries", "judgments"):
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=False)


def test_missing_column_and_missing_table_are_named(tmp_path, small_sample):
    small_sample.tables["queries"].drop(columns=["query"]).to_csv(tmp_path / "queries.csv", index=False)
    with pytest.raises(SchemaError, match=r"table 'queries'.*missing \['query'\]"):
        read_table(tmp_path / "queries.csv", "queries")
    with pytest.raises(SchemaError, match="expected products.parquet or products.csv"):
        read_tables(tmp_path)


def test_unparseable_numbers_stay_visible_for_validation(tmp_path, small_sample):
    frame = small_sample.tables["products"].copy()
    frame["price"] = frame["price"].astype(object)
    frame.loc[3, "price"] = "twelve"
    frame.to_csv(tmp_path / "products.csv", index=False)
    loaded = read_table(tmp_path / "products.csv", "products")
    assert loaded.loc[3, "price"] == "twelve" and isinstance(loaded.loc[4, "price"], float)


def test_bm25_prefers_the_lexical_match():
    pairs = pd.DataFrame({
        "query": ["red cotton t-shirt"] * 3,
        "product_text": ["Red Cotton T-Shirt by Acme", "Blue denim jeans", "Stainless steel frying pan"],
    })
    scores = bm25_scores(pairs)
    assert scores[0] > scores[1] and scores[0] > scores[2] and scores[2] == 0
