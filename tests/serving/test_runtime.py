"""Runtime choice: int8 ONNX never on a GPU; torch there in bf16/fp16 with the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from shoprank.core.ranking.reranker import Reranker, score_candidates
from shoprank.serving.runtime import load_runtime
from support.server_process import candidates


def test_cpu_auto_runtime_is_timed_and_scores_like_fp32(served_model_dir):
    loaded = load_runtime(served_model_dir, "auto", threads=1)
    assert loaded.device in ("cpu", "cuda") and loaded.name in loaded.timings_ms
    if loaded.device == "cpu":
        assert loaded.name in ("onnx-int8", "torch-bf16") and "onnx-int8" in loaded.timings_ms
    assert loaded.ranker.max_length == 32  # the length the model was trained with
    scores = score_candidates(loaded.ranker, "red shoe", candidates(8))
    assert scores.shape == (8,) and np.isfinite(scores).all()


def test_explicit_onnx_runtime_does_not_import_torch(served_model_dir):
    import subprocess
    import sys

    from support.server_process import server_env

    code = ("import sys; from shoprank.serving.runtime import load_runtime; "
            f"r = load_runtime({str(served_model_dir)!r}, 'onnx-int8', threads=1); "
            "print(r.name, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=server_env(), timeout=300)
    assert out.stdout.split() == ["onnx-int8", "False"], out.stderr[-2000:]


@pytest.mark.gpu
def test_gpu_auto_runtime_is_torch_half_precision(served_model_dir):
    loaded = load_runtime(served_model_dir, "auto")
    assert loaded.device == "cuda" and loaded.name in ("torch-bf16", "torch-fp16")
    reference = Reranker.load(served_model_dir, device="cpu", precision="fp32")
    got = score_candidates(loaded.ranker, "red shoe", candidates(40))
    want = score_candidates(reference, "red shoe", candidates(40))
    np.testing.assert_allclose(got, want, atol=0.05)
