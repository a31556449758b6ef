"""A bounded LRU cache of pair scores, for head queries that arrive again and again.

Keyed by (model sha256, query, product text) as the model reads them (after the pair format
adds its notes), so a hit returns what the same model would compute for the same tokens. Keys
are 16-byte BLAKE2b digests, so an entry costs about 150 bytes whatever the text length.
Thread-safe.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

DEFAULT_CACHE_ENTRIES = 200_000


class ScoreCache:
    """LRU map from pairs to float32 scores, at most max_entries (0 = a cache that holds nothing)."""

    def __init__(self, model_sha256: str, max_entries: int = DEFAULT_CACHE_ENTRIES):
        if max_entries < 0:
            raise ValueError(f"max_entries must be >= 0, got {max_entries}")
        self.model_sha256 = model_sha256
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _key(self, query: str, text: str) -> bytes:
        payload = f"{self.model_sha256}\x00{query}\x00{text}".encode("utf-8", "surrogatepass")
        return hashlib.blake2b(payload, digest_size=16).digest()

    def lookup(self, queries: Sequence[str], texts: Sequence[str], count: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(scores, missing): float32 scores with the cached ones filled in (NaN elsewhere) and the
        int indices of the pairs the cache does not hold. count=False leaves hits and misses as
        they were (a look that will be repeated)."""
        scores = np.full(len(texts), np.nan, dtype=np.float32)
        missing = []
        with self._lock:
            for i, (query, text) in enumerate(zip(queries, texts)):
                key = self._key(query, text)
                value = self._entries.get(key)
                if value is None:
                    missing.append(i)
                else:
                    self._entries.move_to_end(key)
                    scores[i] = value
            if count:
                self.hits += len(texts) - len(missing)
                self.misses += len(missing)
        return scores, np.asarray(missing, dtype=np.int64)

    def count_hits(self, hits: int) -> None:
        with self._lock:
            self.hits += hits

    def store(self, queries: Sequence[str], texts: Sequence[str], scores: Sequence[float]) -> None:
        if self.max_entries == 0:
            return
        with self._lock:
            for query, text, score in zip(queries, texts, scores):
                key = self._key(query, text)
                self._entries[key] = float(score)
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    @property
    def hit_rate(self) -> float:
        """Share of looked-up pairs found (0 before any lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0
