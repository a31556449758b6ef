"""The canary router over HTTP: a Starlette app for CanaryRouter's routes (serving/canary_router.py)
and a uvicorn server for it on 127.0.0.1 in a background thread."""

from __future__ import annotations

import contextlib
import threading
import time

from shoprank.serving.canary_router import CanaryRouter


def router_app(router: CanaryRouter):
    """The Starlette app serving /search, /feedback, /stats, /traffic and /healthz."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def read_json(request):
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def search(request):
        body = await read_json(request)
        missing = [k for k in ("session_id", "query", "candidates") if body is None or k not in body]
        if missing:
            return JSONResponse({"error": f"expected a JSON object with session_id, query and candidates; missing {missing}"},
                                status_code=400)
        status, payload = await router.search(body)
        return JSONResponse(payload, status_code=status)

    async def feedback(request):
        body = await read_json(request)
        if body is None or "session_id" not in body:
            return JSONResponse({"error": "expected a JSON object with session_id, clicked, purchased"}, status_code=400)
        status, payload = router.feedback(body)
        return JSONResponse(payload, status_code=status)

    async def stats(request):
        return JSONResponse(router.stats())

    async def traffic(request):
        body = await read_json(request) or {}
        try:
            if body.get("promote"):
                router.promote()
            elif body.get("rollback"):
                router.rollback()
            else:
                router.set_percent(float(body["candidate_percent"]))
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": f"expected candidate_percent (0..100), promote or rollback: {exc}"},
                                status_code=400)
        return JSONResponse(router.stats())

    async def healthz(request):
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await router.close()

    return Starlette(routes=[Route("/search", search, methods=["POST"]), Route("/feedback", feedback, methods=["POST"]),
                             Route("/stats", stats), Route("/traffic", traffic, methods=["POST"]),
                             Route("/healthz", healthz)], lifespan=lifespan)


class RouterServer:
    """Serve a CanaryRouter on 127.0.0.1 with uvicorn in a background thread (`with RouterServer(r) as s: s.url`)."""

    def __init__(self, router: CanaryRouter, port: int = 0):
        import uvicorn

        self.router = router
        config = uvicorn.Config(router_app(router), host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="canary-router", daemon=True)
        self.url = ""

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("canary router did not start within 30 s")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)
