"""The predictor's request log: one JSON object per served request, in daily JSON Lines files.

    DIR/requests-YYYYMMDD.jsonl   (UTC date of the request)

Written by the server (serving/), read by drift monitoring (core/drift/). A record holds what
drift needs about a request and nothing that identifies a shopper or repeats what they typed:
the query's length in characters and tokens, never its text; the caller's user id only as a
sha256 hex digest. Columns (REQUEST_LOG_COLUMNS):

    ts               ISO-8601 UTC time the request arrived
    model_name       the served model's name
    model_sha256     sha256 of the model's manifest.json (which lists every file's sha256)
    request_id       the caller's x-request-id, or one the server made
    query_chars      int, characters in the query
    query_tokens     int, word-piece tokens of the query alone (no special tokens)
    has_price_limit  bool, the query names a price limit ("under $50"; core/text/price_fit.py)
    locale           str or null, as the request gave it
    candidate_count  int
    scores           list of float, input order
    top_product_ids  list of str, best first, at most 10
    latency_ms       float, arrival to response
    user_hash        sha256 hex of the caller's user id, or null
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Sequence

from shoprank.core.common.errors import SchemaError

REQUEST_LOG_COLUMNS = ("ts", "model_name", "model_sha256", "request_id", "query_chars", "query_tokens",
                       "has_price_limit", "locale", "candidate_count", "scores", "top_product_ids", "latency_ms",
                       "user_hash")
TOP_IDS = 10
FILE_PATTERN = "requests-*.jsonl"


def hash_user_id(user_id: str | None) -> str | None:
    """sha256 hex digest of a user id (None stays None): the log never holds the raw id."""
    return None if user_id is None else hashlib.sha256(str(user_id).encode("utf-8")).hexdigest()


def request_record(*, ts: _dt.datetime, model_name: str, model_sha256: str, request_id: str, query: str,
                   query_tokens: int, locale: str | None, scores: Sequence[float], product_ids: Sequence[str],
                   latency_ms: float, user_id: str | None = None) -> dict[str, Any]:
    """One log record (keys REQUEST_LOG_COLUMNS). The query is reduced to its length and whether it
    names a price limit; user_id is hashed; top_product_ids are the 10 best by score (ties keep
    input order)."""
    from shoprank.core.text.price_fit import price_limit

    scores = [float(s) for s in scores]
    if len(scores) != len(product_ids):
        raise SchemaError(f"request log: expected one score per product id, got {len(scores)} scores "
                          f"and {len(product_ids)} ids")
    best = sorted(range(len(scores)), key=lambda i: -scores[i])[:TOP_IDS]
    return {
        "ts": ts.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "model_name": model_name,
        "model_sha256": model_sha256,
        "request_id": request_id,
        "query_chars": len(query),
        "query_tokens": int(query_tokens),
        "has_price_limit": price_limit(query) is not None,
        "locale": locale,
        "candidate_count": len(scores),
        "scores": scores,
        "top_product_ids": [str(product_ids[i]) for i in best],
        "latency_ms": round(float(latency_ms), 3),
        "user_hash": hash_user_id(user_id),
    }


def log_path(log_dir: str | Path, ts: _dt.datetime) -> Path:
    return Path(log_dir) / f"requests-{ts.astimezone(_dt.timezone.utc):%Y%m%d}.jsonl"


class RequestLogWriter:
    """Appends records to the day's file; one line per record, flushed at once. Thread-safe."""

    def __init__(self, log_dir: str | Path):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, records: Sequence[dict]) -> None:
        by_file: dict[Path, list[str]] = {}
        for record in records:
            ts = _dt.datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
            by_file.setdefault(log_path(self.log_dir, ts), []).append(json.dumps(record, separators=(",", ":")))
        with self._lock:
            for path, lines in by_file.items():
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write("\n".join(lines) + "\n")


def read_request_log(log_dir: str | Path):
    """Every record under log_dir (all requests-*.jsonl files, oldest day first) as a pandas
    DataFrame with columns REQUEST_LOG_COLUMNS (empty, with those columns, when there are none);
    ts is parsed to UTC timestamps. Raises SchemaError naming the file and line of a record that
    is not JSON or lacks a column."""
    import pandas as pd

    rows = []
    for path in sorted(Path(log_dir).glob(FILE_PATTERN)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SchemaError(f"request log {path.name} line {number}: expected a JSON object, got "
                                  f"{line[:80]!r} ({exc.msg})") from None
            missing = [c for c in REQUEST_LOG_COLUMNS if c not in record]
            if missing:
                raise SchemaError(f"request log {path.name} line {number}: expected columns "
                                  f"{list(REQUEST_LOG_COLUMNS)}, missing {missing}")
            rows.append({c: record[c] for c in REQUEST_LOG_COLUMNS})
    frame = pd.DataFrame(rows, columns=list(REQUEST_LOG_COLUMNS))
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame
