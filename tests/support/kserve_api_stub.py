"""A fake Kubernetes API server for InferenceServices: real HTTP on 127.0.0.1, in a thread.

It serves the REST paths the kubernetes client uses for serving.kserve.io/v1beta1
inferenceservices (GET, POST, PATCH with application/merge-patch+json) and plays KServe's
controller after `reconcile_delay_s`: it bumps metadata.generation on every spec change and then
writes status (conditions, observedGeneration, and the traffic split) the way KServe does:
- Serverless: a change to the predictor other than canaryTrafficPercent makes a new revision
  `<name>-predictor-000NN`; with canaryTrafficPercent p and a previously rolled-out revision,
  status.components.predictor.traffic is [prev: 100 - p, latest: p]; without it the latest
  revision takes 100% and becomes the rolled-out one.
- RawDeployment: status.canaryStatuses mirrors spec.canary.
A predictor whose container image is in `failing_images` never becomes ready (Ready=False,
reason RevisionFailed), so timeouts can be tested. `validate(obj) -> list of errors` (optional)
refuses invalid objects with 422, as an API server does with a CRD's schema.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = re.compile(r"^/apis/serving\.kserve\.io/v1beta1/namespaces/(?P<ns>[^/]+)/inferenceservices(?:/(?P<name>[^/?]+))?")


def apply_merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply_merge_patch(out.get(key), value)
    return out


class KServeApiStub:
    """Start with `with KServeApiStub() as stub:`; stub.url is the API server's address."""

    def __init__(self, reconcile_delay_s: float = 0.05, validate=None, failing_images=()):
        self.reconcile_delay_s = reconcile_delay_s
        self.validate = validate
        self.failing_images = set(failing_images)
        self.objects: dict[tuple[str, str], dict] = {}
        self.revisions: dict[tuple[str, str], dict] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, content type)
        self.lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                stub._handle(self, "GET")

            def do_POST(self):
                stub._handle(self, "POST")

            def do_PATCH(self):
                stub._handle(self, "PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        for timer in self._timers:
            timer.cancel()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ HTTP
    def _handle(self, handler, method):
        match = PATH.match(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        self.requests.append((method, handler.path, handler.headers.get("Content-Type")))
        if not match:
            return self._send(handler, 404, _status(404, "NotFound", f"no route {handler.path}"))
        ns, name = match.group("ns"), match.group("name")
        with self.lock:
            if method == "GET" and name:
                obj = self.objects.get((ns, name))
                return self._send(handler, 200, obj) if obj else self._send(handler, 404, _status(404, "NotFound", f'inferenceservices "{name}" not found'))
            if method == "POST" and not name:
                name = body["metadata"]["name"]
                if (ns, name) in self.objects:
                    return self._send(handler, 409, _status(409, "AlreadyExists", f'inferenceservices "{name}" already exists'))
                obj = copy.deepcopy(body)
                obj["metadata"].update(namespace=ns, generation=1, uid=f"uid-{name}")
                obj.pop("status", None)
                return self._store(handler, ns, name, obj, 201)
            if method == "PATCH" and name:
                if handler.headers.get("Content-Type") != "application/merge-patch+json":
                    return self._send(handler, 415, _status(415, "UnsupportedMediaType", handler.headers.get("Content-Type")))
                old = self.objects.get((ns, name))
                if old is None:
                    return self._send(handler, 404, _status(404, "NotFound", f'inferenceservices "{name}" not found'))
                obj = apply_merge_patch(old, body)
                obj["status"] = old.get("status")
                if obj.get("spec") != old.get("spec"):
                    obj["metadata"]["generation"] = old["metadata"]["generation"] + 1
                return self._store(handler, ns, name, obj, 200)
        return self._send(handler, 405, _status(405, "MethodNotAllowed", method))

    def _store(self, handler, ns, name, obj, code):
        if self.validate is not None:
            errors = self.validate({k: v for k, v in obj.items() if k != "status"})
            if errors:
                return self._send(handler, 422, _status(422, "Invalid", "; ".join(errors)))
        self.objects[(ns, name)] = obj
        timer = threading.Timer(self.reconcile_delay_s, self._reconcile, args=(ns, name, obj["metadata"]["generation"]))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
        return self._send(handler, code, obj)

    @staticmethod
    def _send(handler, code, payload):
        data = json.dumps(payload).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    # ------------------------------------------------------------------ the controller
    def _reconcile(self, ns, name, generation):
        with self.lock:
            obj = self.objects.get((ns, name))
            if obj is None or obj["metadata"]["generation"] != generation:
                return
            mode = (obj["metadata"].get("annotations") or {}).get("serving.kserve.io/deploymentMode", "Serverless")
            raw = mode.lower() in ("rawdeployment", "standard")
            status = self._raw_status(obj) if raw else self._serverless_status(ns, name, obj)
            status.update(observedGeneration=generation, url=f"http://{name}.{ns}.example.com",
                          deploymentMode=mode)
            obj["status"] = status

    def _failing(self, predictor) -> bool:
        images = [c.get("image") for c in predictor.get("containers") or []]
        return any(image in self.failing_images for image in images)

    def _serverless_status(self, ns, name, obj):
        state = self.revisions.setdefault((ns, name), {"count": 0, "spec": None, "latest": None, "rolled": None, "prev": None})
        predictor = obj["spec"]["predictor"]
        shape = {k: v for k, v in predictor.items() if k != "canaryTrafficPercent"}
        if self._failing(predictor):
            state["spec"] = shape
            # The failed revision never takes traffic: the last rolled-out one keeps all of it.
            traffic = [{"revisionName": state["rolled"], "percent": 100, "latestRevision": False, "tag": "prev"}] if state["rolled"] else []
            return {"conditions": [_cond("Ready", "False", "RevisionFailed", "container image failed to start"),
                                   _cond("PredictorReady", "False", "RevisionFailed", "")],
                    "components": {"predictor": {"latestRolledoutRevision": state["rolled"], "traffic": traffic}}}
        if shape != state["spec"]:
            state["count"] += 1
            state["spec"] = shape
            state["latest"] = f"{name}-predictor-{state['count']:05d}"
        percent = predictor.get("canaryTrafficPercent")
        if percent is None or state["rolled"] is None or state["rolled"] == state["latest"]:
            if state["rolled"] != state["latest"]:
                state["prev"], state["rolled"] = state["rolled"], state["latest"]
            traffic = [{"revisionName": state["latest"], "percent": 100, "latestRevision": True, "tag": "latest"}]
        else:
            traffic = [{"revisionName": state["rolled"], "percent": 100 - int(percent), "latestRevision": False, "tag": "prev"},
                       {"revisionName": state["latest"], "percent": int(percent), "latestRevision": True, "tag": "latest"}]
        component = {"latestCreatedRevision": state["latest"], "latestReadyRevision": state["latest"],
                     "latestRolledoutRevision": state["rolled"], "traffic": traffic}
        if state["prev"]:
            component["previousRolledoutRevision"] = state["prev"]
        return {"conditions": [_cond("Ready", "True"), _cond("PredictorReady", "True")], "components": {"predictor": component}}

    def _raw_status(self, obj):
        variants = obj["spec"].get("canary") or []
        failing = any(self._failing(v["predictor"]) for v in variants) or self._failing(obj["spec"]["predictor"])
        status = {"conditions": [_cond("Ready", "False", "RevisionFailed", "deployment unavailable") if failing else _cond("Ready", "True")]}
        if variants:
            status["canaryStatuses"] = [{"name": v["predictor"].get("name", f"canary-{i}"), "ready": not failing,
                                         "trafficPercent": int(v["trafficPercent"])} for i, v in enumerate(variants)]
        return status


def _cond(kind, status, reason=None, message=None):
    out = {"type": kind, "status": status, "lastTransitionTime": "2026-01-01T00:00:00Z"}
    if reason:
        out.update(reason=reason, message=message or "")
    return out


def _status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}
