"""The train component end to end via python_func on a tiny pairs file."""

import json

import numpy as np
import pytest
from kfp.dsl import Dataset, Metrics, Model

from shoprank.components.train.component import train_reranker
from shoprank.core.common.errors import ConfigError
from shoprank.core.training.export import verify_manifest
from shoprank.core.ranking.reranker import OnnxReranker, Reranker
from support.tiny_model import tiny_model_dir, toy_pairs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    pairs = root / "pairs.parquet"
    toy_pairs(n_queries=10).assign(weight=1.0).to_parquet(pairs, index=False)
    return pairs, str(tiny_model_dir(root / "tiny"))


def test_train_component_writes_model_folder_and_metrics(tmp_path, inputs):
    pairs, tiny = inputs
    model = Model(uri=str(tmp_path / "model"))
    metrics = Metrics(uri=str(tmp_path / "metrics.json"))
    train_reranker.python_func(pairs=Dataset(uri=str(pairs)), model=model, metrics=metrics, epochs=2,
                               batch_size=8, max_length=16, lr=1e-3, init_model_dir=tiny,
                               overrides_json=json.dumps({"num_threads": 1}))
    folder = tmp_path / "model"
    for name in ("hf/config.json", "hf/model.safetensors", "hf/tokenizer.json", "model.onnx", "model.int8.onnx",
                 "manifest.json"):
        assert (folder / name).exists(), name
    manifest = verify_manifest(folder)
    assert manifest["training_config"]["epochs"] == 2 and manifest["training_config"]["max_pairs"] is None
    assert len(manifest["data_fingerprint"]) == 64
    assert metrics.metadata["steps"] > 0 and 0 <= metrics.metadata["validation_ndcg@10"] <= 1
    assert model.metadata["framework"] == "transformers+onnx"
    # The folder is what evaluate and the server read: torch and ONNX load it and agree.
    pairs = [{"query": "red shoe", "title": "red shoe", "brand": "acme"},
             {"query": "blue hat under $20", "title": "green lamp", "brand": "acme", "price": 12.0}]
    np.testing.assert_allclose(OnnxReranker.load(folder).score(pairs),
                               Reranker.load(folder, precision="fp32").score(pairs), atol=1e-4)


def test_train_component_rejects_bad_parameters(tmp_path, inputs):
    pairs, tiny = inputs
    with pytest.raises(ConfigError, match="loss must be one of"):
        train_reranker.python_func(pairs=Dataset(uri=str(pairs)), model=Model(uri=str(tmp_path / "m")),
                                   metrics=Metrics(uri=str(tmp_path / "x.json")), loss="hinge", init_model_dir=tiny)


def test_component_defaults_match_train_config():
    import inspect

    from shoprank.core.training.config import TrainConfig

    defaults = TrainConfig()
    params = inspect.signature(train_reranker.python_func).parameters
    shared = [name for name in params if hasattr(defaults, name)]
    assert len(shared) >= 15
    for name in shared:
        expected = getattr(defaults, name)
        if expected is None:  # kfp parameters have no None: 0 / "" stand for "no budget" / "default"
            assert params[name].default in (0, ""), name
        else:
            assert params[name].default == expected, name
