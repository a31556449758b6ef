"""Real files, real mistakes: each case is a tiny valid shop (tests/support/tiny_data.py) with one edit,
and the verdict it must get: accepted (it passes validate and prepare) or refused at validate
with a message naming the table, column and rule. The same mistakes on the console, through the
real CLI, are in test_bad_inputs_cli.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Callable

import pandas as pd
import pytest

from shoprank.core.common.errors import DataValidationError
from shoprank.core.data.split import SplitConfig, assign_split, split_queries
from shoprank.core.stages.baseline import evaluate_bm25
from shoprank.core.stages.prepare import prepare_pairs
from shoprank.validation.readiness import DataRequirements
from shoprank.validation.stage import validate_data_dir
from support.tiny_data import tiny_tables, write_tables

EMAIL = "alice.shopper@example.com"


@dataclasses.dataclass(frozen=True)
class Case:
    """One edit to the tiny shop and the verdict it must get."""

    edit: Callable[[dict], None]
    verdict: str  # "accepted" or "refused at validate"
    message: tuple[str, ...] = ()  # regexes the refusal must match (table, column, rule, rows)
    check: Callable[[dict], None] | None = None  # more assertions on an accepted case
    formats: dict | None = None  # table -> "csv" (default Parquet)
    method: str = "knn_shapley"


def _cell(table, column, row, value):
    def edit(tables):
        frame = tables[table].copy()
        frame[column] = frame[column].astype(object)
        frame.at[row, column] = value
        tables[table] = frame
    return edit


def _labels(dtype, values=None):
    def edit(tables):
        labels = tables["judgments"]["label"] if values is None else values(tables["judgments"]["label"])
        tables["judgments"] = tables["judgments"].assign(label=labels.astype(dtype))
    return edit


def _drop(table, *columns):
    def edit(tables):
        tables[table] = tables[table].drop(columns=list(columns))
    return edit


def _test_queries(tables) -> set:
    queries = tables["queries"]
    splits = split_queries(queries["query_id"], SplitConfig(), texts=queries["query"])
    return {qid for qid, split in splits.items() if split == "test"}


def _no_relevant_in_test(tables):
    judgments = tables["judgments"].copy()
    in_test = judgments["query_id"].isin(_test_queries(tables))
    judgments.loc[in_test & (judgments["label"] >= 2), "label"] = 1
    tables["judgments"] = judgments


def _conflicting_raters(tables):
    judgments = tables["judgments"]
    first = judgments[judgments["label"] == 3].head(4)  # four pairs get a second and third human label
    extra = pd.concat([first.assign(label=0), first.assign(label=2)])
    tables["judgments"] = pd.concat([judgments, extra], ignore_index=True)


# A second id for query Q000's search whose own hash puts it in another split than Q000's.
DUPLICATE_ID = next(f"Q{i}" for i in range(900, 1000) if assign_split(f"Q{i}") != assign_split("Q000"))


def _same_text_two_ids(tables):
    queries = tables["queries"].copy()
    queries.loc[len(queries)] = {"query_id": DUPLICATE_ID, "query": "  RED Mug 0 ", "locale": "en-US"}
    tables["queries"] = queries
    judgments = tables["judgments"]
    copy = judgments[judgments["query_id"] == "Q000"].assign(query_id=DUPLICATE_ID)
    tables["judgments"] = pd.concat([judgments, copy], ignore_index=True)


def _only_train_queries(tables):
    queries = tables["queries"]
    splits = split_queries(queries["query_id"], SplitConfig(), texts=queries["query"])
    tables["queries"] = queries[queries["query_id"].map(splits) == "train"].head(6)
    tables["judgments"] = tables["judgments"][tables["judgments"]["query_id"].isin(tables["queries"]["query_id"])]


def _one_complement_row(tables):
    judgments = tables["judgments"].copy()
    ones = judgments.index[judgments["label"] == 1]
    judgments.loc[ones[1:], "label"] = 0  # a single row labelled 1 is left, in the train split
    if judgments.loc[ones[0], "query_id"] in _test_queries(tables):
        raise AssertionError("the tiny shop's first complement row moved to the test split")
    tables["judgments"] = judgments


def _ids_as_numbers(tables):
    number = lambda s: s.str[1:].astype("int64")  # noqa: E731  ("P007" -> 7)
    tables["products"] = tables["products"].assign(product_id=number(tables["products"]["product_id"]))
    tables["queries"] = tables["queries"].assign(query_id=number(tables["queries"]["query_id"]))
    tables["judgments"] = tables["judgments"].assign(query_id=number(tables["judgments"]["query_id"]),
                                                     product_id=number(tables["judgments"]["product_id"]))
    tables["interactions"] = tables["interactions"].assign(product_id=number(tables["interactions"]["product_id"]))


def _label_dtype_is_int(ctx):
    assert str(ctx["validated"]["judgments"]["label"].dtype) == "int64"
    assert sorted(ctx["pairs"]["label"].unique()) == [0, 1, 2, 3]


def _metrics_defined(ctx):
    bm25 = evaluate_bm25(ctx["pairs_path"])
    assert all(math.isfinite(v) for v in bm25.values()), bm25
    return bm25


def _binary_checks(ctx):
    bm25 = _metrics_defined(ctx)
    assert bm25["bm25_test_queries_with_relevant"] > 0 and "bm25_test_mrr" in bm25


def _no_relevant_checks(ctx):
    bm25 = _metrics_defined(ctx)
    assert "bm25_test_mrr" not in bm25 and bm25["bm25_test_left_out_no_relevant"] == bm25["bm25_test_queries"]
    assert "bm25_test_ndcg@10" in bm25


def _ts_in_utc(ctx):
    ts = ctx["validated"]["interactions"]["ts"]
    assert str(ts.dt.tz) == "UTC" and ts.notna().all()
    assert ts.iloc[3] == pd.Timestamp("2026-03-01T08:03:00Z")  # 10:03+02:00
    assert ts.iloc[4] == pd.Timestamp("2026-03-01T10:04:00Z")  # no offset: read as UTC


def _query_text_kept(ctx):
    queries = ctx["validated"]["queries"].set_index("query_id")["query"]
    assert queries["Q002"] == "NA" and queries["Q003"] == "null" and queries["Q004"] == "None"


def _attributes_read(ctx):
    attributes = ctx["validated"]["products"].set_index("product_id")["attributes"]
    assert json.loads(attributes["P004"]) == {"color": "red", "size": "M"}


def _nullable_absent(ctx):
    products = ctx["validated"]["products"]
    assert products["brand"].isna().all() and products["attributes"].isna().all()
    assert ctx["pairs"]["product_text"].str.len().min() > 0


def _one_split_per_text(ctx):
    splits = ctx["pairs"].drop_duplicates("query_id").set_index("query_id")["split"]
    assert splits["Q000"] == splits[DUPLICATE_ID] == assign_split("Q000")  # not DUPLICATE_ID's own split
    assert ctx["prepare"]["queries_sharing_text"] == 2
    assert "expect_column_values_to_be_unique_after_normalising" in ctx["log"] and DUPLICATE_ID in ctx["log"]


def _median_rule(ctx):
    assert ctx["prepare"]["conflicting_pairs"] == 4
    pairs, judgments = ctx["pairs"], ctx["tables"]["judgments"]
    conflicted = judgments.groupby(["query_id", "product_id"]).filter(lambda g: len(g) == 3)
    for (qid, pid), _ in conflicted.groupby(["query_id", "product_id"]):
        label = pairs[(pairs["query_id"] == qid) & (pairs["product_id"] == pid)]["label"].item()
        assert label == 2  # labels 3, 0, 2: lower median 2 (not the highest, 3)


def _ids_read_as_text(ctx):
    assert ctx["validated"]["products"]["product_id"].iloc[7] == "7"
    assert len(ctx["pairs"]) == 200


TABLE_AND_RULE = r"table '{}', column '{}', rule {}"

CASES = {
    # 1. binary labels; a test split where no query has a relevant product: metrics defined, never NaN
    "binary 0/1 labels": Case(_labels("int64", lambda s: (s >= 2).astype(int)), "accepted", check=_binary_checks),
    "test split without a relevant product": Case(_no_relevant_in_test, "accepted", check=_no_relevant_checks),
    # 2. passed validation, then crashed: now refused at validate, naming the row
    "attributes not strict JSON": Case(_cell("products", "attributes", 4, "{color: red}"), "refused at validate", (
        TABLE_AND_RULE.format("products", "attributes", "expect_column_values_to_be_json_objects"),
        r"1 of 60 rows failed", r"'row': 4", r"\{color: red\}")),
    "attributes a JSON list": Case(_cell("products", "attributes", 5, "[1, 2]"), "refused at validate", (
        TABLE_AND_RULE.format("products", "attributes", "expect_column_values_to_be_json_objects"), r"'row': 5")),
    "timestamps with and without offset": Case(
        lambda t: [_cell("interactions", "ts", row, ts)(t) for row, ts in ((3, "2026-03-01T10:03:00+02:00"),
                                                                            (4, "2026-03-01T10:04:00"))],
        "accepted", check=_ts_in_utc, formats={"interactions": "csv"}),
    "unparseable timestamp": Case(_cell("interactions", "ts", 6, "01/03/2026 10:06"), "refused at validate", (
        TABLE_AND_RULE.format("interactions", "ts", "expect_column_values_to_be_iso8601_timestamps"),
        r"1 of 40 rows failed", r"'row': 6")),
    # 3. valid data that was refused
    "JSON object over several lines in a CSV cell": Case(
        _cell("products", "attributes", 4, '{\n  "color": "red",\n  "size": "M"\n}'), "accepted",
        check=_attributes_read, formats={"products": "csv"}),
    "labels written 3.0 in CSV": Case(_labels("float64"), "accepted", check=_label_dtype_is_int,
                                      formats={"judgments": "csv"}),
    **{f"labels stored as {dtype}": Case(_labels(dtype), "accepted", check=_label_dtype_is_int)
       for dtype in ("float64", "uint8", "Int64", "Int32", "Int8")},
    "label 2.5": Case(_cell("judgments", "label", 3, 2.5), "refused at validate", (
        TABLE_AND_RULE.format("judgments", "label", "expect_column_values_to_be_in_type_list"),
        r"1 of 200 rows failed", r"'label': 2.5")),
    "query texts a CSV reader would null": Case(
        lambda t: [_cell("queries", "query", row, text)(t) for row, text in ((2, "NA"), (3, "null"), (4, "None"))],
        "accepted", check=_query_text_kept, formats={"queries": "csv"}),
    "catalogue without nullable columns": Case(_drop("products", "brand", "attributes"), "accepted",
                                               check=_nullable_absent, formats={"products": "csv"}),
    "ids stored as numbers": Case(_ids_as_numbers, "accepted", check=_ids_read_as_text),
    "CSV saved with a byte-order mark": Case(lambda t: None, "accepted", check=_label_dtype_is_int,
                                             formats={"judgments": "csv-bom", "products": "csv-bom"}),
    # 4. refused before the rules could run
    "missing required column": Case(_drop("products", "title"), "refused at validate", (
        r"table 'products'", r"missing \['title'\]", r"only nullable columns may be left out")),
    # 5. too small for the chosen methods
    "one label-1 row for confident learning": Case(_one_complement_row, "refused at validate", (
        r"data set too small", r"confident_learning needs at least 2 training rows of every label",
        r"add 1 more train-split row\(s\) labelled 1"), method="confident_learning"),
    "no query left for a test split": Case(_only_train_queries, "refused at validate", (
        r"data set too small", r"test split: 0 queries that can be ranked", r"the evaluation needs at least 1: "
        r"add about 1 more judged query with 2\+ differently labelled candidates \(7 in all give 1 there on average\)",
        r"validation split: 0 pairs; value method knn_shapley")),
    # 6. silent wrong answers made visible
    "same query text under two ids": Case(_same_text_two_ids, "accepted", check=_one_split_per_text),
    "conflicting human labels": Case(_conflicting_raters, "accepted", check=_median_rule),
    "price inf": Case(_cell("products", "price", 5, float("inf")), "refused at validate", (
        TABLE_AND_RULE.format("products", "price", "expect_column_values_to_be_finite"), r"'price': 'inf'")),
    "price inf in CSV": Case(_cell("products", "price", 5, "inf"), "refused at validate", (
        TABLE_AND_RULE.format("products", "price", "expect_column_values_to_be_finite"),),
        formats={"products": "csv"}),
    # 7. privacy: the row and the rule, never the value
    "raw e-mail in user_id": Case(_cell("interactions", "user_id", 1, EMAIL), "refused at validate", (
        TABLE_AND_RULE.format("interactions", "user_id", "expect_column_values_to_match_regex"),
        r"e\.g\. rows \[1\] \(values of this hashed column are not shown\)")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_bad_or_unusual_input_is_accepted_or_refused_at_validate(name, tmp_path, caplog):
    case = CASES[name]
    tables = tiny_tables()
    case.edit(tables)
    data = write_tables(tables, tmp_path / "data", formats=case.formats)
    report = tmp_path / "report.html"
    requirements = DataRequirements(value_method=case.method)
    caplog.set_level("INFO")
    if case.verdict == "refused at validate":
        with pytest.raises(DataValidationError) as refused:
            validate_data_dir(data, tmp_path / "validated", report, requirements)
        for pattern in case.message:
            assert re.search(pattern, str(refused.value)), (pattern, str(refused.value))
        assert report.exists() and not (tmp_path / "validated").exists()  # the data stops here
        assert EMAIL not in str(refused.value) + report.read_text() + caplog.text
        return
    assert case.verdict == "accepted"
    validate_data_dir(data, tmp_path / "validated", report, requirements)
    prepared = prepare_pairs(tmp_path / "validated", tmp_path / "pairs.parquet")
    validated = {p.stem: pd.read_parquet(p) for p in (tmp_path / "validated").glob("*.parquet")}
    ctx = {"validated": validated, "pairs": pd.read_parquet(tmp_path / "pairs.parquet"), "prepare": prepared,
           "pairs_path": tmp_path / "pairs.parquet", "tables": tables, "log": caplog.text}
    assert "PASSED" in report.read_text()
    if case.check:
        case.check(ctx)


def test_binary_labels_through_train_and_evaluate_give_finite_metrics(tmp_path, caplog):
    """0/1 labels once failed the run only after training (a NaN MRR in evaluate's metrics): the
    train and evaluate components on them, with a tiny model trained 2 steps."""
    from kfp.dsl import HTML, Artifact, Dataset, Metrics, Model

    from shoprank.components.evaluate.component import evaluate_reranker
    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.stages.train import run_train_stage
    from shoprank.core.training.config import TrainConfig
    from support.tiny_model import tiny_model_dir

    tables = tiny_tables()
    _labels("int64", lambda s: (s >= 2).astype(int))(tables)
    build_pairs(tables).to_parquet(tmp_path / "pairs.parquet", index=False)
    caplog.set_level("INFO")
    config = TrainConfig(init_model_dir=str(tiny_model_dir(tmp_path / "init")), max_steps=2, batch_size=16,
                         max_length=48, log_every=100)
    run_train_stage(tmp_path / "pairs.parquet", tmp_path / "model", config, quantize=False)
    # the first step logs a line with an ETA, long before log_every steps
    assert re.search(r"train: step 1/2 .*ETA \dm\d\ds", caplog.text)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "model" / "hf").iterdir()}
    assert modes["model.safetensors"] == modes["config.json"] and modes["model.safetensors"] & 0o044 == 0o044
    assert json.loads((tmp_path / "model" / "manifest.json").read_text())["training_config"]["max_length"] == 48

    metrics, report = Metrics(uri=str(tmp_path / "out" / "metrics")), HTML(uri=str(tmp_path / "out" / "report"))
    evaluate_reranker.python_func(pairs=Dataset(uri=str(tmp_path / "pairs.parquet")),
                                  model=Model(uri=str(tmp_path / "model")), metrics=metrics, report=report,
                                  evaluation=Artifact(uri=str(tmp_path / "out" / "evaluation")), baselines="bm25",
                                  min_ndcg=0.99)
    values = metrics.metadata
    assert all(math.isfinite(v) for v in values.values()), values
    for ranker in ("model", "bm25"):
        assert values[f"{ranker}_test_queries_with_relevant"] == 6 and 0 < values[f"{ranker}_test_mrr"] <= 1
    assert (tmp_path / "out" / "report.html").exists() and report.uri.endswith("report.html")
    evaluation = json.loads((tmp_path / "out" / "evaluation").read_text())
    assert evaluation["relevant_label"] == 1 and evaluation["blessed"] is False
