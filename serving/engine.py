"""The scorer behind every route: requests that arrive together are scored in one pass, off the
event loop.

One worker thread runs the model; the event loop only queues requests and awaits their
futures, so health checks and new requests are answered while a long request scores. While
the worker is busy, new requests queue up; when it is free it takes every queued request (up
to max_batch_pairs pairs) and scores them together through core.ranking.reranker.score_prepared
(the scoring step of score_queries, which score_candidates and evaluation call),
the same function evaluation uses, with their pairs batched by token length. An idle worker waits
batch_wait_ms for company before it starts. A pass that fails is retried one request at a
time, so one bad request cannot fail its neighbours. With the score cache on, a request's pairs
are formatted and looked up on arrival, and a request the cache answers whole (a head query)
returns at once instead of queueing behind passes that run the model.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from shoprank.core.ranking.reranker import blend_scores, candidate_pairs, score_prepared
from shoprank.core.ranking.score_cache import ScoreCache
from shoprank.serving import metrics
from shoprank.serving.config import ServingConfig
from shoprank.serving.requests import RankRequest

log = logging.getLogger(__name__)


class ScoringEngine:
    def __init__(self, ranker, config: ServingConfig, labels: dict[str, str], cache: ScoreCache | None = None,
                 blend=None):
        self.ranker = ranker
        # The folder's shipped hybrid blend (core/ranking/hybrid.py), applied to each request after the
        # model's scores (cached or not); None serves the model's scores as they are.
        self.blend = blend
        self.config = config
        self.labels = labels
        self.cache = cache
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shoprank-scorer")
        self._queue: list[tuple[list[RankRequest], list | None, asyncio.Future]] = []
        self._running = False

    async def score(self, requests: list[RankRequest]) -> list[RankRequest]:
        """Fill each request's scores (float32, input order); returns the same list."""
        prepared = self._prepare(requests) if self.cache is not None else None
        if prepared is not None and self._answer_from_cache(requests, prepared):
            return requests
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((requests, prepared, future))
        if not self._running:
            self._running = True
            loop.create_task(self._drain())
        await future
        return requests

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self.config.batch_wait_ms:
                await asyncio.sleep(self.config.batch_wait_ms / 1000)
            while self._queue:
                taken, pairs = [], 0
                while self._queue and (not taken or pairs + _pairs(self._queue[0][0]) <= self.config.max_batch_pairs):
                    item = self._queue.pop(0)
                    taken.append(item)
                    pairs += _pairs(item[0])
                flat = [request for requests, _, _ in taken for request in requests]
                flat_prepared = None
                if all(prepared is not None for _, prepared, _ in taken):
                    flat_prepared = [p for _, prepared, _ in taken for p in prepared]
                try:
                    await loop.run_in_executor(self._executor, self._score_pass, flat, flat_prepared)
                    for _, _, future in taken:
                        if not future.done():
                            future.set_result(None)
                except Exception:  # noqa: BLE001 - retried one request at a time below
                    log.exception("scorer: a pass of %d requests failed; retrying one at a time", len(taken))
                    for requests, _, future in taken:
                        try:
                            await loop.run_in_executor(self._executor, self._score_pass, requests, None)
                            if not future.done():
                                future.set_result(None)
                        except Exception as exc:  # noqa: BLE001 - the caller's future carries it
                            if not future.done():
                                future.set_exception(exc)
        finally:
            self._running = False
            if self._queue:  # arrived after the last check
                self._running = True
                loop.create_task(self._drain())

    def _pairs(self, requests: Sequence[RankRequest]) -> list:
        """Each request's (queries, texts) in the model's pair format, with its locale and shopper history."""
        return [candidate_pairs(self.ranker, r.query, r.candidates, locale=r.locale, history=r.history)
                for r in requests]

    def _prepare(self, requests: Sequence[RankRequest]) -> list | None:
        try:
            return self._pairs(requests)
        except Exception:  # noqa: BLE001 - the worker prepares again and isolates the failure
            return None

    def _answer_from_cache(self, requests: Sequence[RankRequest], prepared: list) -> bool:
        if self.blend is not None and self.blend.runs_network:
            return False  # the zero-shot encoder / MS MARCO run on the scorer's thread, never on the event loop
        found = [self.cache.lookup(qs, ts, count=False) for qs, ts in prepared]
        if any(len(missing) for _, missing in found):
            return False
        for request, (scores, _) in zip(requests, found):
            request.scores = blend_scores(self.blend, request.query, request.candidates, scores)
            metrics.CANDIDATES.labels(**self.labels).observe(len(scores))
        hits = sum(len(scores) for scores, _ in found)
        self.cache.count_hits(hits)
        metrics.CACHE_LOOKUPS.labels(**self.labels, result="hit").inc(hits)
        metrics.CACHE_HIT_RATE.labels(**self.labels).set(self.cache.hit_rate)
        return True

    def _score_pass(self, requests: Sequence[RankRequest], prepared: list | None) -> None:
        hits_before = self.cache.hits if self.cache else 0
        misses_before = self.cache.misses if self.cache else 0
        if prepared is None:
            prepared = self._pairs(requests)
        results = score_prepared(self.ranker, prepared, cache=self.cache, batch_size=self.config.batch_size,
                                 max_tokens=self.config.max_batch_tokens)
        for request, scores in zip(requests, results):
            request.scores = blend_scores(self.blend, request.query, request.candidates, scores)
            metrics.CANDIDATES.labels(**self.labels).observe(len(scores))
        metrics.BATCH_REQUESTS.labels(**self.labels).observe(len(requests))
        if self.cache is not None:
            hits, misses = self.cache.hits - hits_before, self.cache.misses - misses_before
            metrics.CACHE_LOOKUPS.labels(**self.labels, result="hit").inc(hits)
            metrics.CACHE_LOOKUPS.labels(**self.labels, result="miss").inc(misses)
            metrics.CACHE_HIT_RATE.labels(**self.labels).set(self.cache.hit_rate)
            metrics.BATCH_PAIRS.labels(**self.labels).observe(misses)
        else:
            metrics.BATCH_PAIRS.labels(**self.labels).observe(sum(len(r.candidates) for r in requests))

    def run_in_worker(self, fn, *args):
        """Run fn on the scorer's thread (for work that shares the model, e.g. token counts)."""
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _pairs(requests: Sequence[RankRequest]) -> int:
    return sum(len(r.candidates) for r in requests)
