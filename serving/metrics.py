"""Prometheus metrics of the predictor, on the registry KServe's /metrics serves.

Every series carries model_name and model_sha256 (sha256 of the model's manifest.json).
shoprank_requests_total (label code) and shoprank_request_duration_seconds are the names the
canary alerts read (serving/monitoring.py); keep them in step.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LABELS = ("model_name", "model_sha256")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram("shoprank_request_duration_seconds",
                            "Request latency from arrival to response, by API (v1, v2, rerank).",
                            (*LABELS, "api"), buckets=_LATENCY_BUCKETS)
REQUESTS = Counter("shoprank_requests", "Requests to a model route, by API and HTTP status code.",
                   (*LABELS, "api", "code"))
CANDIDATES = Histogram("shoprank_candidates_per_request", "Candidates per query scored.", LABELS,
                       buckets=(1, 5, 10, 20, 50, 100, 200, 500, 1000))
BATCH_REQUESTS = Histogram("shoprank_batch_requests", "Queries scored together in one pass of the scorer.", LABELS,
                           buckets=(1, 2, 4, 8, 16, 32, 64, 128))
BATCH_PAIRS = Histogram("shoprank_batch_pairs", "Pairs run through the model in one pass (after the cache).", LABELS,
                        buckets=(0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096))
CACHE_LOOKUPS = Counter("shoprank_cache_lookups", "Score cache lookups of pairs, by result (hit or miss).",
                        (*LABELS, "result"))
CACHE_HIT_RATE = Gauge("shoprank_cache_hit_rate", "Share of pair lookups the score cache answered since start.",
                       LABELS)
ERRORS = Counter("shoprank_errors", "Requests answered with an error, by kind.", (*LABELS, "kind"))

# Status codes without a typed kind of ours (FastAPI validation, KServe's own errors).
STATUS_KINDS = {400: "invalid_input", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
                413: "too_large", 422: "invalid_field", 503: "not_ready"}


def status_kind(status: int) -> str:
    return STATUS_KINDS.get(status, "internal" if status >= 500 else f"http_{status}")
