"""A `shoprank serve` model server as a child process on 127.0.0.1: start, wait until ready, stop."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

from shoprank.core.common.errors import ShoprankError

log = logging.getLogger(__name__)
READY_PATH = "/v2/health/ready"


class ServeError(ShoprankError, RuntimeError):
    """A model server process did not start or became unready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    """`shoprank serve MODEL_DIR --name NAME --port PORT [extra args]`, its output in log_path.

    Use as a context manager; `url` is http://127.0.0.1:PORT once ready. ready_timeout_s: how
    long start-up (model load, warm-up) may take.
    """

    def __init__(self, model_dir: str | Path, name: str, log_path: str | Path, port: int | None = None,
                 extra_args: tuple = (), ready_timeout_s: float = 180.0):
        self.model_dir, self.name = Path(model_dir), name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.command = [sys.executable, "-m", "shoprank.pipelines.cli", "serve", str(self.model_dir), "--name", name,
                        "--port", str(self.port), *map(str, extra_args)]
        self.ready_timeout_s = ready_timeout_s
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "ServeProcess":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Launch and wait until ready."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting (launch several, then wait_ready on each)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        log.info("starting %s: %s", self.name, " ".join(self.command))
        self.process = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT)
        self._launched = time.monotonic()

    def wait_ready(self) -> None:
        """Poll the readiness route until 200; raises ServeError when the process exits or the time runs out."""
        import httpx

        deadline = self._launched + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.close()
                raise ServeError(f"model server {self.name} exited with code {self.process.returncode} before it was "
                                 f"ready; its log ({self.log_path}) ends:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + READY_PATH, timeout=2.0).status_code == 200:
                    log.info("%s ready at %s", self.name, self.url)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise ServeError(f"model server {self.name} was not ready at {self.url}{READY_PATH} within "
                         f"{self.ready_timeout_s:g} s; its log ({self.log_path}) ends:\n{self.log_tail()}")

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after grace_s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if not self._log.closed:
            self._log.close()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
