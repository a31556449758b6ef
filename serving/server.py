"""The server process: `python -m shoprank.serving.server MODEL_DIR [options]` (what `shoprank
serve` runs, and the InferenceService container's command with MODEL_DIR=/mnt/models).

Loads and checks the model (a folder that does not match its manifest stops start-up with the
file named, exit code 2), then serves KServe v1, v2 and the rerank API on one port.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from shoprank.core.common.errors import ConfigError, ShoprankError
from shoprank.serving.config import RUNTIMES, ServingConfig

log = logging.getLogger("shoprank.serving.server")
DEFAULT_NAME = "shoprank"
DEFAULT_PORT = 8080


def build_parser() -> argparse.ArgumentParser:
    defaults = ServingConfig()
    p = argparse.ArgumentParser(prog="shoprank serve", description="Serve a shoprank model folder with KServe.")
    p.add_argument("model_dir", type=Path, help="Model folder (hf/, model.onnx, model.int8.onnx, manifest.json).")
    p.add_argument("--name", default=DEFAULT_NAME, help="Model name in the routes (/v1/models/<name>:predict).")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port.")
    p.add_argument("--runtime", choices=RUNTIMES, default=defaults.runtime,
                   help="auto: torch bf16/fp16 on a GPU; int8 ONNX on a CPU (torch bf16 if native and faster).")
    p.add_argument("--precision", default=defaults.precision, help="torch only: auto, fp32, bf16 or fp16 (GPU).")
    p.add_argument("--threads", type=int, default=defaults.threads, help="CPU threads for the model; 0 = all cores.")
    p.add_argument("--token-file", type=Path, help="File holding a bearer token every non-health route needs.")
    p.add_argument("--request-log", type=Path, help="Folder for the JSON Lines request log (requests-YYYYMMDD.jsonl).")
    p.add_argument("--cache-entries", type=int, default=defaults.cache_entries, help="Score cache size; 0 = off.")
    p.add_argument("--batch-wait-ms", type=float, default=defaults.batch_wait_ms,
                   help="How long an idle scorer waits to batch requests arriving together.")
    p.add_argument("--max-candidates", type=int, default=defaults.max_candidates, help="Per query; more gets 413.")
    p.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes, help="Larger bodies get 413.")
    return p


def config_from_args(args: argparse.Namespace) -> ServingConfig:
    token = None
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"--token-file: expected a readable file, got {args.token_file} ({exc.strerror})") from None
        if not token:
            raise ConfigError(f"--token-file: expected a token in {args.token_file}, the file is empty")
    return ServingConfig(runtime=args.runtime, precision=args.precision, threads=args.threads, token=token,
                         request_log_dir=str(args.request_log) if args.request_log else None,
                         cache_entries=args.cache_entries, batch_wait_ms=args.batch_wait_ms,
                         max_candidates=args.max_candidates, max_body_bytes=args.max_body_bytes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging()
    try:
        config = config_from_args(args)
        if not args.model_dir.is_dir():
            raise ConfigError(f"expected a model folder at {args.model_dir}, found none")
        from shoprank.serving.predictor import RerankPredictor

        predictor = RerankPredictor(args.name, args.model_dir, config)
        predictor.load()
    except ShoprankError as exc:
        log.error("serve: not starting: %s", exc)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from kserve.model_server import app

    from shoprank.serving.app import RerankServer, install

    server = RerankServer(http_port=args.port)
    for name in ("kserve.trace", "uvicorn.access"):  # one structured line per request replaces them
        logging.getLogger(name).setLevel(logging.WARNING)
    install(app, {args.name: predictor}, config)
    log.info("serve: %s on port %d (v1 /v1/models/%s:predict, v2 /v2/models/%s/infer, rerank /openai/v1/rerank "
             "and /v1/rerank)%s", args.name, args.port, args.name, args.name,
             ", bearer token required" if config.token else "")
    server.start([predictor])
    return 0


def _configure_logging() -> None:
    """shoprank's loggers to stderr at INFO."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger("shoprank")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    root.propagate = False


if __name__ == "__main__":
    sys.exit(main())
