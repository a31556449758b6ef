"""The tune component refuses a dead ray_address or a space the model cannot hold in seconds, before the
distillation teacher or Ray start, and writes no outputs."""

from __future__ import annotations

import json
import socket
import time

import pytest
from kfp.dsl import HTML, Artifact, Dataset, Metrics

from shoprank.components.tune.component import tune_hyperparameters
from shoprank.core.common.errors import ConfigError, EndpointError
from support.tiny_model import toy_pairs


@pytest.fixture
def run(tmp_path):
    pairs = tmp_path / "valued.parquet"
    toy_pairs(n_queries=8, per_query=4, validation_queries=2).assign(value=0.0, weight=1.0).to_parquet(pairs)
    outputs = {"best_config": Artifact(uri=str(tmp_path / "best.json")),
               "tuned_pairs": Dataset(uri=str(tmp_path / "tuned.parquet")),
               "search": Artifact(uri=str(tmp_path / "search")), "metrics": Metrics(uri=str(tmp_path / "m.json")),
               "report": HTML(uri=str(tmp_path / "report.html"))}

    def call(**params):
        started = time.monotonic()
        with pytest.raises((ConfigError, EndpointError)) as err:
            tune_hyperparameters.python_func(pairs=Dataset(uri=str(pairs)), trials=2, minutes=1, **outputs, **params)
        assert time.monotonic() - started < 20
        assert not (tmp_path / "best.json").exists() and not (tmp_path / "search").exists()
        return err.value

    return call


def test_a_dead_ray_address_fails_in_seconds_naming_it(run):
    import ray

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    error = run(ray_address=address)
    assert isinstance(error, EndpointError) and f"ray address {address!r}: expected the Ray GCS" in str(error)
    assert not ray.is_initialized()


def test_more_frozen_layers_than_the_model_has_fail_before_any_trial(run):
    error = run(space_json=json.dumps({"frozen_layers": {"type": "choice", "values": [0, 20]}}))
    assert isinstance(error, ConfigError)
    assert "frozen_layers=20 is more than the model at" in str(error) and "(at most 7:" in str(error)
