"""What the predictor adds to KServe's REST server: the rerank route, bearer-token auth, a body
size limit, metrics and error answers, and a dataplane that answers 400 to undecodable v2 bodies.

The rerank route. The installed KServe (0.21) puts OpenAI-compatible routes, rerank among them,
under /openai/v1/ (KSERVE_OPENAI_ROUTE_PREFIX), but only for models that subclass its
OpenAIEncoderModel, whose request and response types are vLLM's: without vLLM installed the
server logs "OpenAI endpoints not registered" and a custom model cannot serve them. So this
module registers its own handler at the same path, /openai/v1/rerank, and at /v1/rerank, the
path Cohere, Jina and infinity clients call.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import re
import time
import uuid

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from kserve import ModelServer
from kserve.errors import ModelNotFound, ModelNotReady
from kserve.protocol.dataplane import DataPlane

from shoprank.serving import metrics
from shoprank.serving.config import ServingConfig
from shoprank.serving.errors import FieldError, MalformedBody, RequestError
from shoprank.serving.requests import parse_rerank, ranked

log = logging.getLogger(__name__)

OPENAI_PREFIX = "/" + os.environ.get("KSERVE_OPENAI_ROUTE_PREFIX", "/openai").strip("/")
RERANK_PATHS = (f"{OPENAI_PREFIX}/v1/rerank".replace("//", "/"), "/v1/rerank")
# Health and readiness stay open when a token is set (probes and load balancers send none).
_OPEN_PATHS = re.compile(r"^(/|/metrics|/v2/health/(live|ready)|/v1/models/[^/:]+|/v2/models/[^/]+/ready)$")


def api_of(path: str) -> str | None:
    if path in RERANK_PATHS:
        return "rerank"
    if path.startswith("/v1/models/") and path.endswith(":predict"):
        return "v1"
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        return "v2"
    return None


class GuardedDataPlane(DataPlane):
    """KServe's dataplane, but a body it cannot decode (a v2 binary request without "inputs", a
    tensor whose data does not fit its shape) is the caller's mistake: 400, not 500."""

    def decode(self, body, headers, *args, **kwargs):
        try:
            return super().decode(body, headers, *args, **kwargs)
        except RequestError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            if isinstance(exc, ValueError) and type(exc).__module__.startswith("kserve"):
                raise  # InvalidInput: KServe's own 400
            raise MalformedBody("body", f"expected a v2 inference request, could not decode it "
                                        f"({type(exc).__name__}: {exc})") from None


class RerankServer(ModelServer):
    """kserve.ModelServer on one HTTP port, no gRPC, with GuardedDataPlane."""

    def __init__(self, http_port: int):
        super().__init__(http_port=http_port, enable_grpc=False, enable_latency_logging=False, workers=1)
        self.dataplane = GuardedDataPlane(model_registry=self.registered_models)


class GuardMiddleware:
    """Pure ASGI: bearer-token auth (constant-time compare), the body size limit, and per request
    the latency histogram and the errors counter."""

    def __init__(self, app, config: ServingConfig, labels):
        self.app = app
        self.config = config
        self.labels = labels  # callable: the served model's metric labels
        self.token = config.token.encode() if config.token else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        scope.setdefault("state", {})
        status = {"code": 500}

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        path = scope["path"]
        try:
            headers = dict(scope["headers"])
            if self.token is not None and not _OPEN_PATHS.match(path) and not self._authorised(headers):
                scope["state"]["error_kind"] = "unauthorized"
                return await _respond(send_status, 401, {"error": "expected an Authorization: Bearer <token> "
                                                                  "header with the server's token"},
                                      [(b"www-authenticate", b"Bearer")])
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.config.max_body_bytes:
                scope["state"]["error_kind"] = "body_too_large"
                return await _respond(send_status, 413, {"error": f"body: expected at most "
                                                                  f"{self.config.max_body_bytes} bytes, got {int(length)}"})
            if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
                receive = await self._bounded_body(receive, scope, send_status)
                if receive is None:
                    return
            await self.app(scope, receive, send_status)
        finally:
            labels = self.labels()
            api = api_of(path)
            if api is not None:
                metrics.REQUEST_SECONDS.labels(**labels, api=api).observe(time.perf_counter() - start)
                metrics.REQUESTS.labels(**labels, api=api, code=str(status["code"])).inc()
            if status["code"] >= 400:
                kind = scope["state"].get("error_kind") or metrics.status_kind(status["code"])
                metrics.ERRORS.labels(**labels, kind=kind).inc()

    def _authorised(self, headers) -> bool:
        value = headers.get(b"authorization", b"")
        scheme, _, token = value.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.token)

    async def _bounded_body(self, receive, scope, send):
        """Read a body without Content-Length (chunked) up to the limit; None after answering 413."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.config.max_body_bytes:
                scope["state"]["error_kind"] = "body_too_large"
                await _respond(send, 413, {"error": f"body: expected at most {self.config.max_body_bytes} bytes"})
                return None
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay


async def _respond(send, status: int, content: dict, headers=()) -> None:
    body = orjson.dumps(content)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


async def request_error_handler(request: Request, exc: RequestError) -> JSONResponse:
    request.state.error_kind = exc.kind
    log.info("request refused (%d %s): %s", exc.status, exc.kind, exc)
    if api_of(request.url.path) == "rerank":
        content = {"error": {"message": str(exc), "type": type(exc).__name__, "param": exc.field,
                             "code": int(exc.status)}}
    else:
        content = {"error": str(exc)}
    return JSONResponse(status_code=int(exc.status), content=content)


def install(app: FastAPI, predictors: dict, config: ServingConfig) -> None:
    """Add the rerank routes, the guard middleware and the error handler to KServe's app.
    predictors: name -> RerankPredictor (the first one answers requests that name no model)."""
    default = next(iter(predictors.values()))

    async def rerank(request: Request):
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise MalformedBody("body", f"expected a JSON object, could not parse it ({exc})") from None
        try:
            query, return_documents, model = parse_rerank(payload, config)
        except FieldError as exc:
            exc.status = 422  # as FastAPI-based rerank servers answer a schema mistake
            raise
        predictor = predictors.get(model) if model else default
        if predictor is None:
            raise ModelNotFound(model)
        if not predictor.ready:
            raise ModelNotReady(predictor.name)
        headers = {k.lower(): v for k, v in request.headers.items()}
        await predictor.rank([query], headers, "rerank")
        documents = payload["documents"]
        results = []
        for index in ranked(query.scores, query.top_n):
            item = {"index": index, "relevance_score": _sigmoid(float(query.scores[index]))}
            if return_documents:
                doc = documents[index]
                item["document"] = {"text": doc} if isinstance(doc, str) else doc
            results.append(item)
        return Response(orjson.dumps({"id": headers.get("x-request-id") or uuid.uuid4().hex,
                                      "model": predictor.name, "results": results}), media_type="application/json")

    for path in RERANK_PATHS:
        app.add_api_route(path, rerank, methods=["POST"], response_model=None, tags=["rerank"])
    app.add_exception_handler(RequestError, request_error_handler)
    app.add_middleware(GuardMiddleware, config=config, labels=lambda: default.labels)


def _sigmoid(x: float) -> float:
    """The relevance score of the rerank API: the logit squashed to (0, 1), order kept."""
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))

