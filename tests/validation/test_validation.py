"""Each kind of broken input is rejected with a message naming table, column, rule and rows."""

import json
import shutil

import pandas as pd
import pytest

from shoprank.core.common.errors import DataValidationError
from shoprank.core.data.schema import TABLES
from shoprank.validation.runner import SUITES_DIR, load_suite
from shoprank.validation.stage import validate_data_dir


def _broken_copy(src, dst, table, mutate, fmt="parquet"):
    shutil.copytree(src, dst)
    frame = pd.read_parquet(dst / f"{table}.parquet")
    frame = mutate(frame)
    if fmt == "csv":
        (dst / f"{table}.parquet").unlink()
        frame.to_csv(dst / f"{table}.csv", index=False)
    else:
        frame.to_parquet(dst / f"{table}.parquet", index=False)
    return dst


def _set(column, row, value):
    def mutate(frame):
        frame = frame.copy()
        if value is not None and not isinstance(value, type(frame[column].iloc[0])):
            frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return mutate


def _duplicate_id(frame):
    frame = frame.copy()
    frame.loc[4, "product_id"] = frame.loc[9, "product_id"]
    return frame


BROKEN = {
    "null title": ("products", _set("title", 2, None), "parquet",
                   r"table 'products', column 'title', rule expect_column_values_to_not_be_null.*1 of \d+ rows failed"),
    "duplicate product ids": ("products", _duplicate_id, "parquet",
                              r"table 'products', column 'product_id', rule expect_column_values_to_be_unique.*2 of \d+ rows failed"),
    "negative price": ("products", _set("price", 6, -4.5), "parquet",
                       r"column 'price', rule expect_column_values_to_be_between\(min_value=0\): 1 of \d+ rows.*'price': -4.5"),
    "label out of range": ("judgments", _set("label", 11, 7), "parquet",
                           r"table 'judgments', column 'label', rule expect_column_values_to_be_between\(min_value=0, max_value=3\).*'label': 7"),
    "dangling product id": ("judgments", _set("product_id", 3, "P-NOT-THERE"), "parquet",
                            r"column 'product_id', rule expect_column_values_to_be_in_set\(value_set=\"products.product_id\"\).*P-NOT-THERE"),
    "dangling query id": ("judgments", _set("query_id", 3, "Q-NOT-THERE"), "parquet",
                          r"column 'query_id', rule expect_column_values_to_be_in_set\(value_set=\"queries.query_id\"\).*Q-NOT-THERE"),
    "wrong type in csv": ("products", _set("price", 8, "twelve dollars"), "csv",
                          r"column 'price', rule expect_column_values_to_be_in_type_list.*1 of \d+ rows.*twelve dollars"),
    "unknown judgment source": ("judgments", _set("source", 0, "guess"), "parquet",
                                r"column 'source', rule expect_column_values_to_be_in_set.*'guess'"),
    # the refusal names the row, never the value of a column meant to hold hashes
    "raw user id": ("interactions", _set("user_id", 1, "alice@example.com"), "parquet",
                    r"column 'user_id', rule expect_column_values_to_match_regex.*1 of \d+ rows failed, e.g. rows \[1\] "
                    r"\(values of this hashed column are not shown\)$"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_input_is_rejected_with_a_precise_message(case, small_data_dir, tmp_path):
    table, mutate, fmt, pattern = BROKEN[case]
    data = _broken_copy(small_data_dir, tmp_path / "data", table, mutate, fmt)
    report = tmp_path / "report.html"
    with pytest.raises(DataValidationError, match=pattern) as caught:
        validate_data_dir(data, tmp_path / "validated", report)
    assert "FAILED" in report.read_text()  # the report is written either way
    assert "alice@example.com" not in str(caught.value) + report.read_text()
    assert not (tmp_path / "validated").exists()  # nothing passes on


def test_too_few_rows_breaks_the_row_count_floor(small_data_dir, tmp_path):
    data = _broken_copy(small_data_dir, tmp_path / "data", "queries", lambda f: f.head(3))
    with pytest.raises(DataValidationError, match=r"table 'queries', rule expect_table_row_count_to_be_between\(min_value=5\): observed 3"):
        validate_data_dir(data, tmp_path / "validated", tmp_path / "report.html")


def test_missing_column_fails_closed_with_report(small_data_dir, tmp_path):
    data = _broken_copy(small_data_dir, tmp_path / "data", "products", lambda f: f.drop(columns=["title"]))
    with pytest.raises(DataValidationError, match=r"table 'products'.*missing \['title'\]"):
        validate_data_dir(data, tmp_path / "validated", tmp_path / "report.html")
    assert "before the rules could run" in (tmp_path / "report.html").read_text()


def test_valid_data_passes_and_is_written_typed(small_data_dir, tmp_path):
    metrics = validate_data_dir(small_data_dir, tmp_path / "validated", tmp_path / "report.html")
    assert metrics["rows_products"] == 300 and metrics["rules"] >= 30
    judgments = pd.read_parquet(tmp_path / "validated" / "judgments.parquet")
    assert str(judgments["label"].dtype) == "int64"
    assert "PASSED" in (tmp_path / "report.html").read_text()


def test_every_contract_column_is_covered_by_its_suite():
    for name, table in TABLES.items():
        suite = load_suite(name)
        covered = {e["kwargs"].get("column") for e in suite["expectations"]}
        required = {c.name for c in table.columns if not c.nullable or c.kind == "json"}
        assert required <= covered, f"{name}: no rule for {sorted(required - covered)}"
        for column in (c for c in table.columns if c.unique):
            assert {"type": "expect_column_values_to_be_unique", "kwargs": {"column": column.name}} in suite["expectations"]
    assert sorted(p.stem for p in SUITES_DIR.glob("*.json")) == sorted(TABLES)
    json.loads((SUITES_DIR / "judgments.json").read_text())
