"""The local canary router: one search endpoint in front of a stable and a candidate
`shoprank serve`, splitting or interleaving traffic, with click feedback and per-version stats
(the logic; serving/router_server.py serves it over HTTP on 127.0.0.1).

Routes (JSON):
- POST /search {session_id, query, candidates: [product records], locale?, user_hash?} ->
  {session_id, product_ids (the page, best first), arm: "stable" | "candidate" | "interleaved"}.
  A share `candidate_percent` of sessions (by a hash of the session id, or of user_hash in a
  split) goes to the candidate: in "split" mode the candidate alone ranks it; in "interleave"
  mode both rank it and the page is their team-draft merge (core/canary/interleaving.py). When
  a version fails (non-200, timeout, refused connection) the failure counts against it and the
  other version's page is served, so a shopper sees an error only when both fail (502).
- POST /feedback {session_id, clicked: [product ids], purchased: [product ids]}: attributes the
  session: a split session to the version that served it, an interleaved one to the team whose
  results got more clicks (a tie credits neither).
- GET /stats: per version, requests / errors / latency quantiles in the current step and
  sessions / click_sessions / purchase_sessions / interleaving_wins since the start.
Upstream calls are KServe v1 predict requests (`/v1/models/<name>:predict`, instances with
query and candidates); their `ranked_product_ids` make the page. Traffic changes (set_percent,
promote, rollback) are atomic; requests in flight finish on the versions they started with.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import logging
import threading
import time

import numpy as np

from shoprank.core.canary.decision import VersionStats, latency_quantiles
from shoprank.core.canary.interleaving import A, B, Interleaved, team_draft
from shoprank.core.common.errors import ConfigError

log = logging.getLogger(__name__)

STABLE, CANDIDATE, INTERLEAVED = "stable", "candidate", "interleaved"
MODES = ("interleave", "split")
PAGE_SIZE = 10
MAX_REMEMBERED_SESSIONS = 200_000


@dataclasses.dataclass
class Upstream:
    """A model server: base URL (http://127.0.0.1:PORT) and the model name it serves."""

    name: str
    url: str
    model: str


@dataclasses.dataclass
class _Counters:
    requests: int = 0
    errors: int = 0
    latencies: list = dataclasses.field(default_factory=list)
    sessions: int = 0
    click_sessions: int = 0
    purchase_sessions: int = 0
    wins: int = 0


def _share(key: str) -> float:
    """A stable position in [0, 100) for a key (sessions or users keep their arm across restarts)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") % 10_000 / 100.0


class CanaryRouter:
    """The router's state and logic (serving/router_server.py: `router_app` wraps it in a Starlette
    app, `RouterServer` serves it)."""

    def __init__(self, stable: Upstream, candidate: Upstream, mode: str = "interleave", candidate_percent: float = 0.0,
                 timeout_s: float = 5.0, page_size: int = PAGE_SIZE, seed: int = 0):
        if mode not in MODES:
            raise ConfigError(f"canary router: expected mode in {MODES}, got {mode!r}")
        self.upstreams = {STABLE: stable, CANDIDATE: candidate}
        self.mode = mode
        self.timeout_s = timeout_s
        self.page_size = page_size
        self.seed = seed
        self.lock = threading.Lock()
        self.percent = 0.0
        self.promoted = False
        self.counters = {STABLE: _Counters(), CANDIDATE: _Counters()}
        self.sessions: collections.OrderedDict = collections.OrderedDict()
        self.shopper_failures = 0
        self.set_percent(candidate_percent)
        self._client = None

    # ------------------------------------------------------------------ traffic
    def set_percent(self, percent: float) -> None:
        """The candidate's share of sessions (0..100); starts a new step (the SLO window resets)."""
        if not 0 <= percent <= 100:
            raise ConfigError(f"canary router: expected a candidate percent from 0 to 100, got {percent}")
        with self.lock:
            self.percent = float(percent)
            for counters in self.counters.values():
                counters.requests, counters.errors, counters.latencies = 0, 0, []
        log.info("router: candidate at %g%% (%s)", percent, self.mode)

    def promote(self) -> None:
        """The candidate alone serves every session."""
        with self.lock:
            self.promoted = True
        self.set_percent(100.0)

    def rollback(self) -> None:
        """The stable version alone serves every session."""
        with self.lock:
            self.promoted = False
        self.set_percent(0.0)

    def route(self, session_id: str, user_hash: str | None) -> str:
        """Which arm a new session takes under the current traffic."""
        with self.lock:
            percent, promoted = self.percent, self.promoted
        if promoted:
            return CANDIDATE
        key = user_hash if (self.mode == "split" and user_hash) else session_id
        if _share(key) >= percent:
            return STABLE
        return CANDIDATE if self.mode == "split" else INTERLEAVED

    # ------------------------------------------------------------------ requests
    async def _rank(self, version: str, body: dict, request_id: str) -> list[str] | None:
        """The version's ranked product ids, or None after counting a failure against it."""
        import httpx

        upstream = self.upstreams[version]
        payload = {"instances": [{k: body[k] for k in ("query", "candidates", "locale") if body.get(k) is not None}]}
        headers = {"x-request-id": request_id}
        if body.get("user_hash"):
            headers["x-user-id"] = body["user_hash"]
        started = time.perf_counter()
        ids = None
        try:
            response = await self._client.post(f"{upstream.url}/v1/models/{upstream.model}:predict", json=payload,
                                               headers=headers, timeout=self.timeout_s)
            if response.status_code == 200:
                ids = [str(p) for p in response.json()["predictions"][0]["ranked_product_ids"]]
            else:
                log.debug("router: %s answered %d: %s", version, response.status_code, response.text[:200])
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            log.debug("router: %s failed: %s", version, exc)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        with self.lock:
            counters = self.counters[version]
            counters.requests += 1
            counters.errors += ids is None
            counters.latencies.append(elapsed_ms)
        return ids

    async def search(self, body: dict) -> tuple[int, dict]:
        """(HTTP status, JSON body) for a shopper's search."""
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        session_id = str(body["session_id"])
        arm = self.route(session_id, body.get("user_hash"))
        page, served, teams = None, arm, None
        if arm == INTERLEAVED:
            stable_ids, candidate_ids = await asyncio.gather(self._rank(STABLE, body, session_id + "-s"),
                                                             self._rank(CANDIDATE, body, session_id + "-c"))
            if stable_ids is not None and candidate_ids is not None:
                rng = np.random.default_rng([self.seed, int(_share(session_id) * 100)])
                merged = team_draft(candidate_ids, stable_ids, rng, self.page_size)  # team A = candidate
                page, teams = list(merged.items), merged.teams
            else:
                served = STABLE if stable_ids is not None else CANDIDATE
                page = stable_ids if stable_ids is not None else candidate_ids
        else:
            page = await self._rank(arm, body, session_id)
            if page is None:  # fall back to the other version
                served = STABLE if arm == CANDIDATE else CANDIDATE
                page = await self._rank(served, body, session_id + "-fallback")
        if page is None:
            with self.lock:
                self.shopper_failures += 1
            return 502, {"error": "no model version answered", "session_id": session_id}
        page = page[: self.page_size]
        with self.lock:
            self.sessions[session_id] = (served, page, teams)
            while len(self.sessions) > MAX_REMEMBERED_SESSIONS:
                self.sessions.popitem(last=False)
        return 200, {"session_id": session_id, "product_ids": page, "arm": served}

    def feedback(self, body: dict) -> tuple[int, dict]:
        """Attribute a session's clicks and purchases."""
        session_id = str(body.get("session_id"))
        with self.lock:
            entry = self.sessions.pop(session_id, None)
        if entry is None:
            return 404, {"error": f"expected a session this router served, got {session_id!r}"}
        served, page, teams = entry
        clicked, purchased = set(map(str, body.get("clicked") or [])), set(map(str, body.get("purchased") or []))
        flags = [p in clicked for p in page]
        with self.lock:
            if teams is not None:
                winner = Interleaved(tuple(page), teams).winner(flags)
                self.counters[CANDIDATE].sessions += 1
                if winner == A:
                    self.counters[CANDIDATE].wins += 1
                elif winner == B:
                    self.counters[STABLE].wins += 1
                return 200, {"attributed": {A: CANDIDATE, B: STABLE}.get(winner, "tie")}
            counters = self.counters[served]
            counters.sessions += 1
            counters.click_sessions += any(flags)
            counters.purchase_sessions += any(p in purchased for p in page)
        return 200, {"attributed": served}

    # ------------------------------------------------------------------ evidence
    def version_stats(self) -> tuple[VersionStats, VersionStats]:
        """(stable, candidate) as the decision reads them."""
        with self.lock:
            percent = 100.0 if self.promoted else self.percent
            snapshot = {k: dataclasses.replace(v, latencies=list(v.latencies)) for k, v in self.counters.items()}
        out = []
        for version, share in ((STABLE, 100.0 - percent), (CANDIDATE, percent)):
            c = snapshot[version]
            out.append(VersionStats(self.upstreams[version].name, share, requests=c.requests, errors=c.errors,
                                    **latency_quantiles(c.latencies), sessions=c.sessions, click_sessions=c.click_sessions,
                                    purchase_sessions=c.purchase_sessions, interleaving_wins=c.wins))
        return out[0], out[1]

    def stats(self) -> dict:
        stable, candidate = self.version_stats()
        return {"mode": self.mode, "candidate_percent": candidate.traffic_percent, "promoted": self.promoted,
                "shopper_failures": self.shopper_failures,
                "versions": {STABLE: dataclasses.asdict(stable), CANDIDATE: dataclasses.asdict(candidate)}}

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
