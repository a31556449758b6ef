"""Export: ONNX parity with torch, int8 ranking quality, manifest integrity."""

import json

import numpy as np
import pytest

from shoprank.core.training.export import ManifestError, export_model_dir, verify_manifest
from shoprank.core.evaluation.metrics import rank_metrics
from shoprank.core.text.price_fit import LIMIT_VERDICTS
from shoprank.core.text.pair_format import PairFormat
from shoprank.core.text.query_features import format_pairs
from shoprank.core.ranking.reranker import OnnxReranker, Reranker
from support.tiny_model import toy_pairs
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train


@pytest.fixture(scope="module")
def pairs():
    return toy_pairs(n_queries=40, validation_queries=10)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, pairs):
    """The packaged MiniLM fine-tuned until it ranks the toy pairs well (a random head would not)."""
    folder = tmp_path_factory.mktemp("model")
    config = TrainConfig(max_length=16, batch_size=24, epochs=3, lr=1e-4, num_threads=2, checkpoint_every=0)
    result = train(pairs, folder / "hf", config)
    export_model_dir(folder, config.to_dict(), result["data_fingerprint"], {"validation_ndcg@10": 0.5})
    return folder


def _score(ranker, frame):
    return ranker.score(frame, batch_size=32)


def test_onnx_fp32_matches_torch(model_dir, pairs):
    # Half the queries name a price limit, a quarter ask for "cheap" and a fifth misspell the colour
    # ("redd"), so both runtimes must write the same price verdicts and spelling notes.
    limited, cheap, misspelt = pairs.index % 2 == 0, pairs.index % 4 == 1, pairs.index % 5 == 2
    query = (pairs["query"].where(~limited, pairs["query"] + " under $20").where(~cheap, "cheap " + pairs["query"])
             .where(~misspelt, pairs["query"].str.replace(r"^(\w+)", lambda m: m.group(1) + m.group(1)[-1], regex=True)))
    frame = pairs.assign(query=query, category="Home > Room " + (pairs.index % 3).astype(str),
                         price=(pairs.index % 40) + 0.99)
    # 48 tokens rather than the trained 16, so the verdict after the price is not truncated away.
    torch_ranker = Reranker.load(model_dir, max_length=48, precision="fp32")  # ONNX fp32 reproduces fp32
    onnx_ranker = OnnxReranker.load(model_dir, max_length=48)
    assert torch_ranker.pair_format == onnx_ranker.pair_format == PairFormat.latest()  # from config.json
    torch_scores = _score(torch_ranker, frame)
    onnx_scores = _score(onnx_ranker, frame)
    assert torch_scores.dtype == onnx_scores.dtype == np.float32
    assert np.std(torch_scores) > 1e-3  # scores that actually vary
    np.testing.assert_allclose(onnx_scores, torch_scores, atol=1e-4, rtol=0)
    noted = np.array(format_pairs(frame, PairFormat(spelling_notes=1))[0]) != frame["query"]
    assert noted[misspelt].sum() >= 3 and not noted[~misspelt].any()
    onnx_ranker.pair_format = PairFormat(PairFormat.latest().price_verdicts, 0)
    without_notes = _score(onnx_ranker, frame)
    assert np.abs(without_notes - onnx_scores)[noted].min() > 1e-5  # the spelling notes were read
    onnx_ranker.pair_format = PairFormat(LIMIT_VERDICTS, 0)
    limits_only = _score(onnx_ranker, frame)
    assert np.abs(limits_only - without_notes)[cheap].max() > 1e-4  # the "cheap" verdicts were read
    onnx_ranker.pair_format = PairFormat()
    assert np.abs(_score(onnx_ranker, frame) - limits_only)[limited].max() > 1e-4  # the limit verdicts were read


def test_int8_keeps_ndcg_within_a_hundredth(model_dir, pairs):
    frame = pairs.copy()
    frame["fp32"] = _score(OnnxReranker.load(model_dir), frame)
    frame["int8"] = _score(OnnxReranker.load(model_dir, quantized=True), frame)
    fp32, int8 = rank_metrics(frame, "fp32")["ndcg@10"], rank_metrics(frame, "int8")["ndcg@10"]
    assert fp32 > 0.9
    assert abs(int8 - fp32) <= 0.01
    assert (model_dir / "model.int8.onnx").stat().st_size < 0.5 * (model_dir / "model.onnx").stat().st_size


def test_manifest_lists_every_file_and_catches_tampering(model_dir, tmp_path):
    import shutil

    manifest = verify_manifest(model_dir)
    assert {"hf/model.safetensors", "hf/config.json", "model.onnx", "model.int8.onnx"} <= set(manifest["files"])
    assert manifest["training_config"]["max_length"] == 16 and manifest["metrics"] == {"validation_ndcg@10": 0.5}
    assert len(manifest["data_fingerprint"]) == 64 and manifest["created_at"]

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    verify_manifest(copy)
    config = copy / "hf" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "hidden_dropout_prob": 0.5}))
    with pytest.raises(ManifestError, match="hf/config.json: sha256 expected"):
        verify_manifest(copy)
    (copy / "extra.bin").write_bytes(b"x")
    (copy / "model.onnx").unlink()
    with pytest.raises(ManifestError, match="missing file model.onnx.*unlisted file extra.bin"):
        verify_manifest(copy)
