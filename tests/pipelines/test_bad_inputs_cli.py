"""Bad arguments and bad data through the real `shoprank` CLI (a subprocess, as a user runs it):
the message is on the console, a traceback is not (only with --verbose), the exit code is 1,
and a run stops where it should (before the first stage, or at validate)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from support.tiny_data import tiny_tables, write_tables
from test_bad_inputs import EMAIL, _cell, _drop

SHOPRANK = [sys.executable, "-m", "shoprank.pipelines.cli"]


def _cli(args, cwd, timeout=600):
    result = subprocess.run(SHOPRANK + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def _no_traceback(output: str) -> None:
    assert "Traceback (most recent call last)" not in output
    assert "─ Traceback" not in output  # rich's boxed traceback


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ARGUMENT_CASES = {
    "sample: label noise out of range": (["sample", "OUT", "--label-noise", "1.5"], r"expected 0 <= label_noise < 1, got 1\.5"),
    "sample: unknown format": (["sample", "OUT", "--format", "xlsx"], r"--format: expected 'parquet' or 'csv', got 'xlsx'"),
    "compile: unknown pipeline": (["compile", "--pipeline", "nope", "-o", "OUT/p.yaml"],
                                  r"expected a pipeline name in \[.*'shoprank-train-and-deploy'\], got 'nope'"),
    "submit: unreachable host": (["submit", "--host", "http://127.0.0.1:PORT", "--data-uri", "s3://b/shop/"],
                                 r"could not submit to the Kubeflow Pipelines API at http://127\.0\.0\.1:PORT: .*refused"),
    "run: unknown methods": (["run", "--data", "OUT", "--out", "OUT/run", "--value-method", "knn", "--train-loss",
                              "lambdamart", "--baselines", "bm25,bm26"],
                             r"options refused before the first stage:\n- --value-method.*got 'knn'\n- --train-\*: loss "
                             r"must be one of.*got 'lambdamart'\n- --baselines:.*unknown \['bm26'\]"),
    "run: gate options out of range": (["run", "--data", "OUT", "--out", "OUT/run", "--gate-margin", "2",
                                        "--gate-min-queries", "0"],
                                       r"options refused before the first stage:\n- --min-ndcg / --min-gain-over-champion"
                                       r" / --gate-\*: gate margin: expected a number in \(-1, 1\), got 2\.0"),
    "run: unknown clicks policy": (["run", "--data", "OUT", "--out", "OUT/run", "--clicks", "all"],
                                   r"clicks policy: expected one of \['human', 'clicks', 'both'\], got 'all'"),
    "run: a tuning budget of 0 minutes": (["run", "--data", "OUT", "--out", "OUT/run", "--tune-minutes", "0"],
                                          r"- --tune-trials / --tune-minutes: tune: minutes must be > 0 \(the time "
                                          r"budget\), got 0\.0"),
}


@pytest.mark.parametrize("name", sorted(ARGUMENT_CASES))
def test_bad_arguments_print_the_message_not_a_traceback(name, tmp_path):
    args, pattern = ARGUMENT_CASES[name]
    port = str(_closed_port())
    args = [a.replace("OUT", str(tmp_path)).replace("PORT", port) for a in args]
    code, output = _cli(args, tmp_path, timeout=180)
    assert code == 1, output
    assert re.search(pattern.replace("PORT", port), output), output
    _no_traceback(output)
    assert not (tmp_path / "run" / "artifacts").exists()  # `run` stopped before the first stage


def test_verbose_shows_the_traceback(tmp_path):
    code, output = _cli(["--verbose", "compile", "--pipeline", "nope"], tmp_path, timeout=180)
    assert code == 1 and "Traceback (most recent call last)" in output and "ConfigError" in output


RUN_CASES = {
    # data, the console's message, and the stages the summary lists
    "missing column": (_drop("products", "title"), {}, r"run stopped in stage validate-data: .*table 'products'.*"
                       r"missing \['title'\]"),
    "semicolon-separated CSV": ("semicolons", {"products": "csv"}, r"run stopped in stage validate-data: .*table "
                                r"'products': expected comma-separated columns in products\.csv.*separated by semicolons"),
    "raw e-mail in user_id": (_cell("interactions", "user_id", 1, EMAIL), {},
                              r"table 'interactions', column 'user_id', rule expect_column_values_to_match_regex.*"
                              r"rows \[1\] \(values of this hashed column are not shown\)"),
}


@pytest.mark.parametrize("name", sorted(RUN_CASES))
def test_bad_data_stops_shoprank_run_at_validate_with_its_message(name, tmp_path):
    edit, formats, pattern = RUN_CASES[name]
    tables = tiny_tables()
    if callable(edit):
        edit(tables)
    data = write_tables(tables, tmp_path / "data", formats=formats)
    if edit == "semicolons":
        tables["products"].to_csv(data / "products.csv", sep=";", index=False)
    code, output = _cli(["run", "--data", str(data), "--out", str(tmp_path / "out"), "--baselines", "bm25"], tmp_path)
    assert code == 1, output
    assert re.search(pattern, output, flags=re.S), output
    _no_traceback(output)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert list(summary["stages"]) == ["validate-data"] and summary["stages"]["validate-data"]["failed"]
    report = Path(summary["stages"]["validate-data"]["artifacts"]["report.html"])
    assert report.name == "report.html" and "FAILED" in report.read_text()
    log = (tmp_path / "out" / "run.log").read_text()
    assert EMAIL not in output + log + report.read_text()



def test_the_verdict_says_not_blessed_once(monkeypatch):
    import io

    from rich.console import Console

    from shoprank.pipelines import run_command

    out = io.StringIO()
    monkeypatch.setattr(run_command, "console", Console(file=out, width=300))
    run_command._print_summary({"run_dir": None, "seconds": 1.0, "stages": {}, "rankers": {}, "log": "run.log",
                                "verdict": {"blessed": False, "reason": "not blessed: ndcg@10 0.79 >= floor 0.99 (FAIL)"}})
    assert "NOT BLESSED: ndcg@10 0.79 >= floor 0.99 (FAIL)" in out.getvalue()
    assert "not blessed" not in out.getvalue()
