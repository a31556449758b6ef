"""tune_cli's errors are one line naming the field or file (the traceback with --verbose), and 0 trials is "off".

No test here starts Ray: each error is raised before it, and 0 trials never starts it.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from shoprank.components.params import train_config
from shoprank.core.common.errors import ConfigError
from shoprank.trainer import tune_cli
from support.tiny_model import toy_pairs

LR_SPACE = {"lr": {"type": "loguniform", "low": 1e-4, "high": 1e-3}}


@pytest.fixture
def pairs_path(tmp_path):
    path = tmp_path / "valued.parquet"
    toy_pairs(n_queries=8, per_query=4, validation_queries=2).to_parquet(path, index=False)
    return path


def _fails(argv, caplog, code=2) -> logging.LogRecord:
    """Run tune_cli.main, expect SystemExit(code); return its one error record."""
    with caplog.at_level(logging.INFO), pytest.raises(SystemExit) as exit_info:
        tune_cli.main(argv)
    assert exit_info.value.code == code
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    return errors[0]


@pytest.mark.parametrize("base, message", [
    ({"lr": "x"}, "ConfigError: --config-json base: lr must be a finite number, got 'x'"),
    ({"epochs": 2.5}, "ConfigError: --config-json base: epochs must be int, got 2.5"),
    ({"price_limits": "yes"}, "ConfigError: --config-json base: price_limits must be bool, got 'yes'"),
    ({"max_length": "64"}, "ConfigError: --config-json base: max_length must be int or None, got '64'"),
    ({"learning_rate": 1e-4}, "ConfigError: --config-json base: unknown TrainConfig fields ['learning_rate']"),
    ({"lr": -1.0}, "ConfigError: --config-json base: need lr > 0"),
    ([1, 2], "ConfigError: --config-json base: expected an object of TrainConfig fields, got [1, 2]"),
])
def test_a_wrongly_typed_base_is_one_line_naming_the_field(base, message, pairs_path, tmp_path, caplog):
    record = _fails(["--pairs", str(pairs_path), "--out", str(tmp_path / "out"),
                     "--config-json", json.dumps({"base": base})], caplog)
    assert record.getMessage().startswith(message) and record.exc_info is None


def test_a_missing_or_non_parquet_pairs_file_is_one_line_naming_it(tmp_path, caplog):
    record = _fails(["--pairs", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "out")], caplog)
    assert record.getMessage() == f"SchemaError: pairs: expected a Parquet or CSV file at {tmp_path / 'nope.parquet'}, " \
                                  "found none"
    caplog.clear()
    text = tmp_path / "pairs.parquet"
    text.write_text("query_id,product_id\nq1,p1\n")
    record = _fails(["--pairs", str(text), "--out", str(tmp_path / "out")], caplog)
    assert record.getMessage().startswith(f"SchemaError: pairs: expected a Parquet file at {text} (by its name), "
                                          "could not read it: ") and record.exc_info is None


def test_verbose_logs_the_traceback_too(tmp_path, caplog):
    record = _fails(["--pairs", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "out"), "--verbose"], caplog)
    assert record.exc_info is not None and "SchemaError: pairs: expected a Parquet or CSV file" in record.getMessage()


def test_from_a_shell_the_error_is_one_line_and_verbose_adds_the_traceback(tmp_path):
    command = [sys.executable, "-m", "shoprank.trainer.tune_cli", "--pairs", str(tmp_path / "x.parquet"), "--out",
               str(tmp_path / "out"), "--config-json", '{"base": {"lr": "x"}}']
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    assert quiet.stderr.strip().splitlines()[-1].endswith(
        "ConfigError: --config-json base: lr must be a finite number, got 'x'")
    loud = subprocess.run(command + ["--verbose"], capture_output=True, text=True, timeout=120)
    assert loud.returncode == 2 and "Traceback (most recent call last)" in loud.stderr


def test_an_address_where_no_ray_listens_fails_within_seconds(pairs_path, tmp_path, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    record = _fails(["--pairs", str(pairs_path), "--out", str(tmp_path / "out"), "--ray-address", address,
                     "--config-json", json.dumps({"space": LR_SPACE, "base": {"distill_teacher": None}})], caplog)
    assert time.monotonic() - started < 20
    assert record.getMessage().startswith(f"EndpointError: tune: ray address {address!r}: expected the Ray GCS "
                                          "listening on port")


def test_zero_trials_turns_tuning_off_as_in_the_component(pairs_path, tmp_path, capsys):
    import ray

    out = tmp_path / "out"
    metrics = tune_cli.main(["--pairs", str(pairs_path), "--out", str(out),
                             "--config-json", json.dumps({"settings": {"trials": 0}, "base": {"epochs": 2}})])
    assert metrics == {"trials_run": 0} and json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == metrics
    assert json.loads((out / "metrics.json").read_text()) == metrics and not ray.is_initialized()
    best = (out / "best_config.json").read_text()
    assert json.loads(best) == {}
    # The train component takes it as its overrides_json and keeps its own config.
    assert train_config(overrides_json=best, epochs=2) == train_config(epochs=2)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "tuned_pairs.parquet"), pd.read_parquet(pairs_path))
    assert "Tuning was off (0 trials)" in (out / "report.html").read_text()


@pytest.mark.parametrize("settings, message", [
    ({"trials": -1}, "--config-json settings: trials must be 0 (tuning off) or >= 1, got -1"),
    ({"trials": 0, "minutes": 0}, "tune: minutes must be > 0"),  # off, but the other settings are still checked
    ({"trials": "0"}, "tune: trials must be int, got '0'"),
])
def test_trials_below_one_other_than_zero_are_refused(settings, message):
    with pytest.raises(ConfigError) as err:
        tune_cli.check_config({"settings": settings})
    assert message in str(err.value)
