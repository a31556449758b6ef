"""A tiny trained model folder and a real server process on 127.0.0.1, shared by the serving tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.server_process import TOKEN, ServerProcess
from support.tiny_model import tiny_model_dir, toy_pairs


@pytest.fixture(scope="session")
def served_model_dir(tmp_path_factory) -> Path:
    """A model folder as `shoprank run` writes it (hf/, ONNX, int8 ONNX, manifest), from a tiny
    BERT trained a few steps on toy pairs."""
    from shoprank.core.stages.train import run_train_stage
    from shoprank.core.training.config import TrainConfig

    root = tmp_path_factory.mktemp("served-model")
    pairs = root / "pairs.parquet"
    toy_pairs(n_queries=10).assign(weight=1.0).to_parquet(pairs, index=False)
    config = TrainConfig(init_model_dir=str(tiny_model_dir(root / "tiny")), epochs=1, batch_size=8, max_length=32,
                         lr=1e-3, num_threads=1, max_steps=4)
    run_train_stage(pairs, root / "model", config)
    return root / "model"


@pytest.fixture(scope="session")
def token_server(served_model_dir, tmp_path_factory):
    """The model served in torch fp32 (scores comparable with Reranker.score), with a bearer token,
    the request log and the score cache on."""
    root = tmp_path_factory.mktemp("token-server")
    (root / "token").write_text(TOKEN + "\n")
    server = ServerProcess(served_model_dir, "--runtime", "torch", "--precision", "fp32",
                           "--token-file", str(root / "token"), "--request-log", str(root / "requests"),
                           log_path=root / "server.log")
    server.request_log_dir = root / "requests"
    try:
        yield server.wait_ready()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def int8_server(served_model_dir, tmp_path_factory):
    """The default CPU runtime (int8 ONNX) with the cache off and a small body limit."""
    root = tmp_path_factory.mktemp("int8-server")
    server = ServerProcess(served_model_dir, "--runtime", "onnx-int8", "--cache-entries", "0",
                           "--max-body-bytes", "200000", log_path=root / "server.log")
    try:
        yield server.wait_ready()
    finally:
        server.stop()
