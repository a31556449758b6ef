"""`shoprank serve`: run the KServe predictor on a model folder (the server is serving/server.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from shoprank.pipelines.cli_app import app


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def serve(
    ctx: typer.Context,
    model_dir: Path = typer.Argument(..., help="Model folder (hf/, model.onnx, model.int8.onnx, manifest.json)."),
    name: str = typer.Option("shoprank", help="Model name in the routes (/v1/models/<name>:predict)."),
    port: int = typer.Option(8080, help="HTTP port."),
    runtime: str = typer.Option("auto", help="auto, onnx-int8, onnx or torch."),
    token_file: Optional[Path] = typer.Option(None, help="File with a bearer token every non-health route needs."),
    request_log: Optional[Path] = typer.Option(None, help="Folder for the JSON Lines request log."),
):
    """Serve a model folder: KServe v1, v2 and the rerank API on one port (more options:
    `python -m shoprank.serving.server --help`)."""
    argv = [sys.executable, "-m", "shoprank.serving.server", str(model_dir), "--name", name, "--port", str(port),
            "--runtime", runtime]
    if token_file is not None:
        argv += ["--token-file", str(token_file)]
    if request_log is not None:
        argv += ["--request-log", str(request_log)]
    argv += list(ctx.args)  # further server options pass through
    os.execv(sys.executable, argv)  # the server replaces this process, so signals reach it directly
