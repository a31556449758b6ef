"""Where a search runs: an existing Ray cluster, or a local Ray started on this machine's cores.

Local Ray: no dashboard, worker output not echoed to the driver, its logging at WARNING, and
its temp dir (session logs, object spill, sockets) under the run's output folder. Ray's Unix
socket paths must fit in 107 bytes, so a long output path is reached through a short symlink
in the system temp dir.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from shoprank.core.common.errors import ConfigError
from shoprank.core.tuning.address import check_ray_address, effective_ray_address

log = logging.getLogger(__name__)

# Ray's longest socket path under its temp dir: "/session_YYYY-MM-DD_HH-MM-SS_ffffff_PID/sockets/plasma_store".
_SOCKET_SUFFIX = 64
_AF_UNIX_MAX = 107


@contextlib.contextmanager
def ray_runtime(address: str | None, temp_dir: str | Path, num_cpus: int | None = None):
    """Yield Ray's total resources ({"CPU": .., "GPU": ..}) with Ray running.

    Ray already initialised in this process (a test's shared runtime): used as it is, left running.
    address, or else the RAY_ADDRESS environment variable: connect to that cluster (disconnect after),
    once check_ray_address found a gRPC server there (EndpointError / ConfigError naming the
    address within seconds, where ray.init would retry for minutes).
    Neither: start Ray locally with num_cpus (default: every core) and temp_dir, shut it down after,
    and delete temp_dir unless the block raised (its session logs then help).
    """
    import ray

    if ray.is_initialized():
        yield ray.cluster_resources()
        return
    address = effective_ray_address(address)
    if address:
        log.info("tune: connecting to the Ray cluster at %s", address)
        check_ray_address(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise ConfigError(f"tune: expected a reachable Ray cluster at {address!r}, got: {err}") from err
        try:
            yield ray.cluster_resources()
        finally:
            ray.shutdown()
        return
    with local_temp_dir(temp_dir) as short:
        num_cpus = num_cpus or os.cpu_count() or 1
        log.info("tune: starting a local Ray with %d CPUs (temp dir %s)", num_cpus, temp_dir)
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 _temp_dir=str(short))
        try:
            yield ray.cluster_resources()
        except BaseException:
            ray.shutdown()
            log.info("tune: Ray's session logs are kept in %s", temp_dir)
            raise
        ray.shutdown()
    # Its session logs matter only when something failed.
    shutil.rmtree(temp_dir, ignore_errors=True)


@contextlib.contextmanager
def local_temp_dir(temp_dir: str | Path):
    """temp_dir itself when its socket paths fit, else a short symlink to it (removed after)."""
    temp_dir = Path(temp_dir).resolve()
    temp_dir.mkdir(parents=True, exist_ok=True)
    if len(str(temp_dir)) + _SOCKET_SUFFIX <= _AF_UNIX_MAX:
        yield temp_dir
        return
    digest = hashlib.sha256(str(temp_dir).encode()).hexdigest()[:10]
    link = Path(tempfile.gettempdir()) / f"shoprank-ray-{digest}-{os.getpid()}"
    if len(str(link)) + _SOCKET_SUFFIX > _AF_UNIX_MAX:
        raise ConfigError(f"tune: the system temp dir {tempfile.gettempdir()} is too long for Ray's socket paths "
                          f"(at most {_AF_UNIX_MAX - _SOCKET_SUFFIX - 30} characters); set TMPDIR to a shorter one")
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(temp_dir, target_is_directory=True)
    try:
        yield link
    finally:
        link.unlink(missing_ok=True)
