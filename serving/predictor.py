"""The KServe predictor: a kserve.Model that ranks a query's candidate products.

load() refuses a model folder that does not match its manifest.json (every file's sha256)
before the model reports ready, then loads the runtime (serving/runtime.py). v1 and v2 requests
arrive through KServe's own routes (preprocess -> predict -> postprocess); the rerank route
(serving/app.py) calls rank() directly. All three score through ScoringEngine, which calls
core.ranking.reranker.score_queries, the path evaluation scores with.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from kserve import Model
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from shoprank.core.data.request_log import RequestLogWriter, request_record
from shoprank.core.ranking.artifact import MANIFEST_FILE
from shoprank.core.ranking.hybrid import shipped_blend
from shoprank.core.ranking.score_cache import ScoreCache
from shoprank.core.training.export import sha256_file, verify_manifest
from shoprank.serving.config import ServingConfig
from shoprank.serving.engine import ScoringEngine
from shoprank.serving.requests import RankRequest, parse_v1, parse_v2, ranked

log = logging.getLogger(__name__)
request_log = logging.getLogger("shoprank.serving.requests")
USER_ID_HEADER = "x-user-id"


@dataclass
class _Parsed:
    api: str                      # v1 | v2
    requests: list[RankRequest]
    infer_request: Any = None     # the v2 InferRequest


class RerankPredictor(Model):
    """Serves the model folder model_dir under `name`."""

    def __init__(self, name: str, model_dir: str | Path, config: ServingConfig = ServingConfig()):
        super().__init__(name)
        self.model_dir = Path(model_dir)
        self.config = config
        self.model_sha256 = ""
        self.runtime = None
        self.engine: ScoringEngine | None = None
        self.request_log: RequestLogWriter | None = None

    @property
    def labels(self) -> dict[str, str]:
        return {"model_name": self.name, "model_sha256": self.model_sha256}

    def load(self) -> bool:
        """Check the folder against its manifest (ManifestError names each bad file), load the
        runtime, and only then report ready."""
        from shoprank.serving.runtime import load_runtime

        if self.config.verify_manifest:
            manifest = verify_manifest(self.model_dir)
            log.info("serve: %s matches its manifest (%d files)", self.model_dir, len(manifest.get("files", {})))
        self.model_sha256 = sha256_file(self.model_dir / MANIFEST_FILE)
        self.runtime = load_runtime(self.model_dir, self.config.runtime, self.config.precision, self.config.threads)
        log.info("serve: model %s sha256 %s runtime %s on %s, %d threads, max_length %d; warm-up batch of 50 "
                 "pairs took %s ms", self.name, self.model_sha256[:16], self.runtime.name, self.runtime.device,
                 self.runtime.threads, self.runtime.ranker.max_length, self.runtime.timings_ms)
        cache = ScoreCache(self.model_sha256, self.config.cache_entries) if self.config.cache_entries else None
        blend = shipped_blend(self.model_dir)  # hybrid.json when it ships (core/ranking/hybrid.py), else None
        if blend is not None:
            log.info("serve: the hybrid ships: weights %s, per-query %s", dict(blend.weights), blend.norm)
        self.engine = ScoringEngine(self.runtime.ranker, self.config, self.labels, cache, blend=blend)
        if self.config.request_log_dir:
            self.request_log = RequestLogWriter(self.config.request_log_dir)
        self.ready = True
        return self.ready

    def stop(self):
        if self.engine is not None:
            self.engine.close()
        self.ready = False

    # KServe's v1/v2 path -------------------------------------------------------------------
    async def preprocess(self, payload, headers: dict[str, str] = None) -> _Parsed:
        if isinstance(payload, InferRequest):
            return _Parsed("v2", [parse_v2(payload, self.config)], payload)
        return _Parsed("v1", parse_v1(payload, self.config))

    def validate(self, payload):
        return payload  # preprocess checked every field

    async def predict(self, parsed: _Parsed, headers: dict[str, str] = None, response_headers=None) -> _Parsed:
        await self.rank(parsed.requests, headers or {}, parsed.api)
        return parsed

    async def postprocess(self, parsed: _Parsed, headers: dict[str, str] = None, response_headers=None):
        if parsed.api == "v1":
            return {"predictions": [{"scores": r.scores.tolist(),
                                     "ranked_product_ids": [r.product_ids[i] for i in ranked(r.scores, r.top_n)]}
                                    for r in parsed.requests]}
        request, infer = parsed.requests[0], parsed.infer_request
        order = np.asarray(ranked(request.scores, request.top_n), dtype=np.int64)
        ids = np.asarray([request.product_ids[i] for i in order], dtype=np.object_)
        outputs = [InferOutput("scores", [len(request.scores)], "FP32", np.asarray(request.scores, np.float32)),
                   InferOutput("ranked_product_ids", [len(ids)], "BYTES", ids),
                   InferOutput("ranked_indices", [len(order)], "INT64", order)]
        return InferResponse(response_id=infer.id or _request_id(headers), model_name=self.name,
                             infer_outputs=outputs, use_binary_outputs=infer.use_binary_outputs,
                             requested_outputs=infer.request_outputs)

    def get_input_types(self) -> list[dict]:
        return [{"name": "query", "datatype": "BYTES", "shape": [1]},
                {"name": "candidates", "datatype": "BYTES", "shape": [-1]},
                {"name": "product_ids", "datatype": "BYTES", "shape": [-1]},
                {"name": "top_n", "datatype": "INT64", "shape": [1]}]

    def get_output_types(self) -> list[dict]:
        return [{"name": "scores", "datatype": "FP32", "shape": [-1]},
                {"name": "ranked_product_ids", "datatype": "BYTES", "shape": [-1]},
                {"name": "ranked_indices", "datatype": "INT64", "shape": [-1]}]

    # every route ------------------------------------------------------------------------------
    async def rank(self, requests: list[RankRequest], headers: dict[str, str], api: str) -> list[RankRequest]:
        """Score the requests (fills .scores), then log them: one structured line, and a request log
        record per query when --request-log is on."""
        arrived = _dt.datetime.now(_dt.timezone.utc)
        start = time.perf_counter()
        await self.engine.score(requests)
        latency_ms = (time.perf_counter() - start) * 1000
        request_id = _request_id(headers)
        request_log.info(json.dumps({"event": "ranked", "api": api, "model": self.name, "request_id": request_id,
                                     "queries": len(requests),
                                     "candidates": sum(len(r.candidates) for r in requests),
                                     "latency_ms": round(latency_ms, 2)}))
        if self.request_log is not None:
            user_id = (headers or {}).get(USER_ID_HEADER)
            # on the scorer's thread: the tokenizer is not safe to share between threads
            self.engine.run_in_worker(self._write_request_log, requests, arrived, request_id, latency_ms, user_id)
        return requests

    def _write_request_log(self, requests, arrived, request_id, latency_ms, user_id) -> None:
        try:
            records = [request_record(ts=arrived, model_name=self.name, model_sha256=self.model_sha256,
                                      request_id=request_id, query=r.query,
                                      query_tokens=query_token_count(self.runtime.ranker, r.query), locale=r.locale,
                                      scores=r.scores, product_ids=r.product_ids, latency_ms=latency_ms,
                                      user_id=user_id) for r in requests]
            self.request_log.write(records)
        except Exception:  # noqa: BLE001 - a log failure must not fail the served request
            log.exception("serve: could not write the request log")


def query_token_count(ranker, query: str) -> int:
    """Word-piece tokens of the query alone (no special tokens), with the ranker's tokenizer."""
    tokenizer = ranker.tokenizer
    if hasattr(tokenizer, "encode_batch"):  # tokenizers.Tokenizer (ONNX runtimes)
        return len(tokenizer.encode(query, add_special_tokens=False).ids)
    return len(tokenizer(query, add_special_tokens=False)["input_ids"])


def _request_id(headers: dict[str, str] | None) -> str:
    return (headers or {}).get("x-request-id") or uuid.uuid4().hex
