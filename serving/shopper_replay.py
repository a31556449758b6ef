"""Simulated shoppers replayed against the canary router over HTTP: search, then click feedback.

Worker threads take session numbers in order from a shared counter; each session POSTs the
shopper's query and candidates to /search, lets the shopper react to the page it got
(core/canary/shoppers.py) and POSTs the clicks and purchases to /feedback. A search that does not
come back 200 is a failed shopper request, counted with its status.
"""

from __future__ import annotations

import collections
import logging
import threading

from shoprank.core.canary.shoppers import SimulatedShoppers
from shoprank.core.common.progress import ProgressLog

log = logging.getLogger(__name__)


class ShopperReplay:
    """Replays sessions 0, 1, 2, ... until `limit` or stop(); `completed` counts finished sessions."""

    def __init__(self, router_url: str, shoppers: SimulatedShoppers, limit: int, concurrency: int = 4,
                 timeout_s: float = 30.0):
        self.router_url, self.shoppers, self.limit = router_url, shoppers, limit
        self.concurrency, self.timeout_s = concurrency, timeout_s
        self.lock = threading.Lock()
        self.next_index = 0
        self.completed = 0
        self.failures: collections.Counter = collections.Counter()  # status (or exception name) -> count
        self.arms: collections.Counter = collections.Counter()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, name=f"shopper-{i}", daemon=True) for i in range(concurrency)]
        self._progress = ProgressLog(log, "canary shoppers", limit, "sessions")

    def start(self) -> "ShopperReplay":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def extend(self, extra: int) -> None:
        """Allow `extra` more sessions after those replayed so far (the limit becomes completed + extra)."""
        with self.lock:
            self.limit = self.next_index + extra

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def finished(self) -> bool:
        with self.lock:
            return self.completed >= self.limit or self._stop.is_set()

    def _take(self) -> int | None:
        with self.lock:
            if self._stop.is_set() or self.next_index >= self.limit:
                return None
            self.next_index += 1
            return self.next_index - 1

    def _work(self) -> None:
        import httpx

        with httpx.Client(timeout=self.timeout_s) as client:
            while (index := self._take()) is not None:
                session = self.shoppers.session(index)
                body = {"session_id": session.session_id, "query": session.query, "locale": session.locale,
                        "user_hash": session.user_hash, "candidates": self.shoppers.candidates(session)}
                ok, outcome = False, "?"
                try:
                    response = client.post(self.router_url + "/search", json=body)
                    if response.status_code == 200:
                        page = response.json()
                        reaction = self.shoppers.react(session, page["product_ids"])
                        shown = page["product_ids"]
                        client.post(self.router_url + "/feedback", json={
                            "session_id": session.session_id,
                            "clicked": [p for p, c in zip(shown, reaction.clicked) if c],
                            "purchased": [p for p, b in zip(shown, reaction.purchased) if b]})
                        ok, outcome = True, page.get("arm", "?")
                    else:
                        outcome = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                with self.lock:
                    self.completed += 1
                    (self.arms if ok else self.failures)[outcome] += 1
                self._progress.advance(1)
