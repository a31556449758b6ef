"""A Ray cluster address, checked in well under a minute before `ray.init` is given it.

`ray.init(address="host:port")` on an address where no Ray listens does not fail: Ray 2.x retries
its GCS connection (RAY_NUM_REDIS_GET_RETRIES = 20 attempts; one attempt took 36 s with Ray 2.60
here), so a wrong `--ray-address` costs many minutes before any error. check_ray_address answers in milliseconds (at most `timeout_s` per step for a host that drops
packets): a TCP connect to the address; the HTTP/2 connection preface (RFC 9113, section 3.4)
that every gRPC server answers with a SETTINGS frame (a web server there, often the dashboard,
port 8265, which `ray job submit` takes but `ray.init` does not, answers HTTP/1 and is named as
such); then one gRPC call of a method only Ray serves there: the GCS's GetClusterId (host:port,
port 6379 by default) or the Ray Client server's ClusterInfo PING (ray://host:port, port 10001). A
gRPC server or HTTP/2 proxy that is not Ray answers UNIMPLEMENTED.

"auto" and "local" are Ray's own words (the cluster this machine's Ray started, or a new local
one) and are passed to Ray unchecked, except that, as in ray.init, RAY_ADDRESS stands for a
missing address or "auto" (effective_ray_address); any address is passed unchecked when
RAY_USE_TLS is on (the handshake is then TLS first).
"""

from __future__ import annotations

import logging
import os
import socket
import time

from shoprank.core.common.errors import ConfigError, EndpointError

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0   # per step (connect, handshake); a refused port answers at once
GCS_PORT = 6379         # Ray's default GCS port (`ray start --head --port`)
CLIENT_PORT = 10001     # Ray's default Ray Client server port
RAY_OWN_WORDS = ("auto", "local")

GCS_METHOD = "/ray.rpc.NodeInfoGcsService/GetClusterId"   # ray/core/generated/gcs_service_pb2_grpc.py
CLIENT_METHOD = "/ray.rpc.RayletDriver/ClusterInfo"       # ray/core/generated/ray_client_pb2_grpc.py
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # length 0, type SETTINGS, no flags, stream 0
_SETTINGS_TYPE = 0x04
_EXPECTED = (f"a Ray GCS address host:port (default port {GCS_PORT}) or a Ray Client address "
             f"ray://host:port (default port {CLIENT_PORT})")


def effective_ray_address(address: str | None) -> str | None:
    """The address ray.init will use: RAY_ADDRESS when address is None, "" or "auto" and the
    variable is set (Ray's own rule, ray/_private/worker.py init), else address."""
    env = os.environ.get("RAY_ADDRESS") or None
    return env if env and (not address or address == "auto") else (address or None)


def parse_ray_address(address: str) -> tuple[str, int, bool] | None:
    """(host, port, is_ray_client) of a Ray address, or None for "auto" / "local".

    Raises ConfigError naming the address for anything else than host[:port] or ray://host[:port]
    (an http:// address is the dashboard's, which ray.init cannot connect to).
    """
    text = str(address).strip()
    if text in RAY_OWN_WORDS:
        return None
    client = text.startswith("ray://")
    rest = text[len("ray://"):] if client else text
    if "://" in rest:
        scheme = rest.split("://", 1)[0]
        hint = " (http is the dashboard's address, for `ray job submit`, not for ray.init)" \
            if scheme in ("http", "https") else ""
        raise ConfigError(f"tune: ray address {text!r}: expected {_EXPECTED}, got a {scheme}:// address{hint}")
    host, sep, port_text = rest.rstrip("/").rpartition(":")
    if not sep:
        host, port_text = rest.rstrip("/"), str(CLIENT_PORT if client else GCS_PORT)
    host = host.strip("[]")  # [::1]:6379
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"tune: ray address {text!r}: expected {_EXPECTED}, got no host or no port in 1..65535")
    return host, int(port_text), client


def check_ray_address(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Return when Ray's GCS (or, for ray://, its Ray Client server) answers at `address`.

    Raises ConfigError for an address that is not one (parse_ray_address), and EndpointError
    naming the address and what was expected when nothing listens there, the host is unknown or
    silent for timeout_s seconds, what answers is not a gRPC (HTTP/2) server, or it does not
    serve Ray's method.
    """
    parsed = parse_ray_address(address)
    if parsed is None:
        return
    host, port, client = parsed
    what = "Ray Client server" if client else "Ray GCS"
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        log.info("tune: RAY_USE_TLS is on; %s at %s is left to ray.init to check", what, address)
        return
    started = time.monotonic()
    try:
        conn = socket.create_connection((host, port), timeout=timeout_s)
    except socket.gaierror as err:
        raise EndpointError(f"tune: ray address {address!r}: expected the {what} there, but host {host!r} is "
                            f"unknown ({err.strerror})") from None
    except (socket.timeout, TimeoutError):
        raise EndpointError(f"tune: ray address {address!r}: expected the {what} there, got no answer to a "
                            f"connect within {timeout_s:g} s (host down or port filtered?)") from None
    except OSError as err:
        raise EndpointError(f"tune: ray address {address!r}: expected the {what} listening on port {port}, got "
                            f"{err.strerror or err} (is the Ray cluster up, and is this its address?)") from None
    answer = b""
    with conn:
        try:
            conn.sendall(_PREFACE + _EMPTY_SETTINGS)
            answer = _read_frame_header(conn)
            if len(answer) == 9 and answer[3] != _SETTINGS_TYPE:
                conn.settimeout(0.2)
                answer += conn.recv(40)  # a little more of what answered, for the message
        except OSError:  # silent for timeout_s, or reset by a server that refuses HTTP/2
            pass
    if len(answer) < 9 or answer[3] != _SETTINGS_TYPE:
        seen = repr(answer) if answer else f"no HTTP/2 answer within {timeout_s:g} s (or the connection closed)"
        web = answer.startswith(b"HTTP/") or b"<html" in answer.lower() or b"<!doctype" in answer.lower()
        hint = " (a web server: the dashboard? ray.init needs the GCS port, 6379 by default)" if web else ""
        raise EndpointError(f"tune: ray address {address!r}: expected the {what} (a gRPC server), got {seen}{hint}")
    _check_ray_service(address, host, port, client, what, timeout_s)
    log.info("tune: the %s answers at %s (%.0f ms)", what, address, 1000 * (time.monotonic() - started))


def _check_ray_service(address: str, host: str, port: int, client: bool, what: str, timeout_s: float) -> None:
    """EndpointError unless the gRPC server at host:port serves Ray's method: the GCS's
    NodeInfoGcsService/GetClusterId (what ray.init's GcsClient asks first), or the Ray Client
    server's RayletDriver/ClusterInfo (PING). Any answer but UNIMPLEMENTED (how gRPC reports an unknown
    service, and how it maps an HTTP/2 proxy's 404) means the method is there."""
    import grpc

    method = CLIENT_METHOD if client else GCS_METHOD
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    proxy = os.environ.get("RAY_grpc_enable_http_proxy", "0").lower() in ("1", "true")  # as Ray's own channels
    with grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", int(proxy))]) as channel:
        try:
            channel.unary_unary(method)(_request(client), timeout=timeout_s)
        except grpc.RpcError as err:
            code = err.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                raise EndpointError(f"tune: ray address {address!r}: expected the {what}, got a gRPC (HTTP/2) server "
                                    f"that does not serve {method} (UNIMPLEMENTED: {err.details()})") from None
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise EndpointError(f"tune: ray address {address!r}: expected the {what} to answer {method} within "
                                    f"{timeout_s:g} s, got {code.name}: {err.details()}") from None


def _request(client: bool) -> bytes:
    """The serialised request: an empty GetClusterIdRequest, or the Ray Client's own first call,
    ClusterInfo PING (which the client server's proxy answers itself, starting nothing)."""
    if not client:
        return b""
    from ray.core.generated import ray_client_pb2

    return ray_client_pb2.ClusterInfoRequest(type=ray_client_pb2.ClusterInfoType.PING).SerializeToString()


def _read_frame_header(conn: socket.socket) -> bytes:
    """The first 9 bytes the server sends (an HTTP/2 frame header), fewer if it closes first."""
    data = b""
    while len(data) < 9:
        chunk = conn.recv(9 - len(data))
        if not chunk:
            break
        data += chunk
    return data
