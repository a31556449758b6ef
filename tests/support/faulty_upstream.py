"""A model-server stand-in on 127.0.0.1 that fails or stalls on purpose, for canary tests.

It answers KServe v1 predict requests (`POST /v1/models/<name>:predict`) and `/v2/health/ready`,
either by forwarding them to a real model server (`target_url`: a fault-injecting proxy in front of
`shoprank serve`) or by ranking the candidates itself with `rank(query, candidates) -> product ids`.
A seeded share `error_rate` of predict requests gets HTTP 500; every predict waits `delay_ms` first.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np


class FaultyUpstream:
    """`with FaultyUpstream(...) as upstream: upstream.url`."""

    def __init__(self, target_url: str | None = None, rank=None, error_rate: float = 0.0, delay_ms: float = 0.0,
                 seed: int = 0):
        import uvicorn
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        assert (target_url is None) != (rank is None), "give a target_url or a rank function"
        self.target_url, self.rank = target_url, rank
        self.error_rate, self.delay_ms = error_rate, delay_ms
        self.rng = np.random.default_rng(seed)
        self.requests = 0
        self.errors = 0
        self._client = None

        async def predict(request):
            self.requests += 1
            if self.delay_ms:
                await asyncio.sleep(self.delay_ms / 1000.0)
            if self.rng.random() < self.error_rate:
                self.errors += 1
                return JSONResponse({"error": "injected failure"}, status_code=500)
            body = await request.body()
            if self.target_url is not None:
                import httpx

                if self._client is None:
                    self._client = httpx.AsyncClient(timeout=30.0)
                upstream = await self._client.post(self.target_url + request.url.path, content=body,
                                                   headers={"content-type": "application/json"})
                return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")
            payload = await request.json()
            instance = payload["instances"][0]
            ids = self.rank(instance["query"], instance["candidates"])
            return JSONResponse({"predictions": [{"scores": [0.0] * len(ids), "ranked_product_ids": ids}]})

        async def ready(request):
            return JSONResponse({"ready": True})

        app = Starlette(routes=[Route("/v1/models/{name}:predict", predict, methods=["POST"]),
                                Route("/v2/health/ready", ready)])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "faulty upstream did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)
