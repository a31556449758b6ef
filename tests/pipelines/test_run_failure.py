"""A stopped run names its stage and real error; kfp metrics never carry NaN; HTML outputs end in .html."""

import contextlib
import io
import math

import pytest
from kfp import dsl
from kfp.dsl import HTML, Metrics, Output
from rich.console import Console

from shoprank.components.outputs import html_path, log_metrics
from shoprank.pipelines.local_run import run_locally
from shoprank.pipelines.quality_table import print_quality_table
from shoprank.pipelines.run_failure import failure_reason, last_exception


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def nan_metric(metrics: Output[Metrics]):
    metrics.log_metric("bm25_test_mrr", float("nan"))


@dsl.pipeline(name="nan-metric")
def nan_pipeline():
    nan_metric()


def test_a_task_kfp_local_fails_after_success_still_names_its_error(tmp_path):
    # kfp.local runs the task (SUCCESS in the log), then cannot serialise the NaN metric: the log
    # holds no error, so the reason must come from the exception kfp.local raised.
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log_file, contextlib.redirect_stdout(log_file):
        with pytest.raises(Exception) as failed:
            run_locally(nan_pipeline, tmp_path)
    assert "SUCCESS" in log_path.read_text() and "Traceback" not in log_path.read_text()
    reason = failure_reason(log_path, failed.value)
    assert reason.startswith("in stage nan-metric: kfp.local failed the task after it ran: ")
    assert "NaN" in reason


def test_the_last_traceback_of_a_component_is_the_reason(tmp_path):
    log_path = tmp_path / "run.log"
    log_path.write_text(
        "Executing task 'validate-data'\n"
        "    Traceback (most recent call last):\n      File \"x.py\", line 1, in <module>\n        read()\n"
        "    pandas.errors.ParserError: Expected 4 fields in line 14, saw 5\n\n"
        "    The above exception was the direct cause of the following exception:\n\n"
        "    Traceback (most recent call last):\n      File \"stage.py\", line 31, in validate\n"
        "        raise DataValidationError(msg) from exc\n"
        "    shoprank.core.common.errors.DataValidationError: data validation failed: 2 rule(s) broken\n"
        "    - table 'products', column 'price', rule expect_column_values_to_be_finite(): 1 of 9 rows failed\n"
        "    - table 'judgments', column 'label', rule expect_column_values_to_be_between(): 1 of 9 rows failed\n"
        "    \n"
        "12:00:00.000 - ERROR - Task 'validate-data' finished with status FAILURE\n")
    reason = failure_reason(log_path, RuntimeError("Task 'validate-data' finished with status FAILURE"))
    assert reason == ("in stage validate-data: data validation failed: 2 rule(s) broken\n"
                      "- table 'products', column 'price', rule expect_column_values_to_be_finite(): 1 of 9 rows failed\n"
                      "- table 'judgments', column 'label', rule expect_column_values_to_be_between(): 1 of 9 rows failed")
    assert last_exception(log_path.read_text().splitlines()).startswith("DataValidationError: ")


def test_only_finite_numbers_and_text_reach_a_kfp_metrics_artifact(caplog):
    metrics = Metrics(name="metrics", uri="/tmp/unused")
    left_out = log_metrics(metrics, {"ndcg": 0.5, "queries": 12, "mrr": float("nan"), "recall": float("inf"),
                                     "none": None, "method": "knn_shapley", "blessed": True})
    assert metrics.metadata == {"ndcg": 0.5, "queries": 12, "method": "knn_shapley", "blessed": 1.0}
    assert set(left_out) == {"mrr", "recall", "none"} and "mrr=nan" in caplog.text


def test_an_html_output_is_written_as_a_dot_html_file(tmp_path):
    report = HTML(name="report", uri=str(tmp_path / "task" / "report"))
    assert html_path(report) == str(tmp_path / "task" / "report.html") and report.uri.endswith("report.html")
    assert html_path(report) == str(tmp_path / "task" / "report.html")  # idempotent


def test_quality_table_shows_query_counts_and_warns_below_30():
    out = io.StringIO()
    rankers = {"bm25": {"test": {"ndcg@10": 0.8, "mrr": None, "recall@10": None, "queries": 1,
                                 "left_out_no_relevant": 1, "left_out_single_candidate": 2},
                        "validation": {"ndcg@10": 0.7, "mrr": 0.9, "recall@10": 0.6, "queries": 45}}}
    warnings = print_quality_table(Console(file=out, width=200), rankers)
    text = out.getvalue()
    assert "n/a" in text and "2 single-candidate, 1 no-relevant" in text and " 45 " in text
    assert warnings == ["warning: the test split has 1 query that can be ranked; a mean over fewer than 30 moves "
                        "by several points when one query changes: judge more queries"]
    assert not any(math.isnan(v) for m in rankers["bm25"].values() for v in m.values() if isinstance(v, float))
