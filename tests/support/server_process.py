"""A real server process for tests: `python -m shoprank.serving.server` on a free 127.0.0.1 port,
and request bodies the serving tests share."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env() -> dict:
    env = dict(os.environ)
    shoprank_parent = str(Path(__import__("shoprank").__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([shoprank_parent, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


class ServerProcess:
    """`python -m shoprank.serving.server MODEL_DIR ...` on a free port, stopped on exit."""

    def __init__(self, model_dir: Path, *args: str, name: str = "shoprank", log_path: Path | None = None):
        self.port = free_port()
        self.name = name
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shoprank.serving.server", str(model_dir), "--name", name,
             "--port", str(self.port), "--threads", "1", *args],
            stdout=self._log, stderr=subprocess.STDOUT, env=server_env())

    def wait_ready(self, timeout: float = 120.0) -> "ServerProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/v2/models/{self.name}/ready", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout} s: {self.output()[-2000:]}")

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not subprocess.DEVNULL:
            self._log.close()



def candidates(n: int = 4, prefix: str = "") -> list[dict]:
    items = [{"product_id": "p-shoe", "title": "red shoe", "brand": "acme", "price": 20.0},
             {"product_id": "p-hat", "title": "blue hat", "category": "Clothing > Hats", "price": 15},
             {"product_id": "p-lamp", "title": "green lamp", "attributes": {"color": "green"}},
             {"product_id": "p-mug", "title": "black mug", "description": "a mug for coffee", "price": None}]
    out = [dict(item) for item in items]
    while len(out) < n:
        k = len(out)
        out.append({"product_id": f"p-{k}", "title": f"item {k} " + "word " * (k % 7), "price": float(k)})
    for item in out:
        item["title"] = prefix + item["title"]
    return out[:n]
