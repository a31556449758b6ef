"""A Ray cluster address is checked in seconds, against real local servers, before ray.init retries it for minutes.

The real Ray GCS passes the same check in tests/components/test_tune.py (which starts Ray anyway).
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shoprank.core.common.errors import ConfigError, EndpointError
from shoprank.core.tuning.address import CLIENT_METHOD, GCS_METHOD, check_ray_address, parse_ray_address


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("address, parsed", [
    ("10.0.0.5:6380", ("10.0.0.5", 6380, False)),
    ("ray-head", ("ray-head", 6379, False)),
    ("ray://ray-head:10002", ("ray-head", 10002, True)),
    ("ray://ray-head", ("ray-head", 10001, True)),
    ("[::1]:6379", ("::1", 6379, False)),
    ("auto", None),
    ("local", None),
])
def test_addresses_parse_as_ray_reads_them(address, parsed):
    assert parse_ray_address(address) == parsed


@pytest.mark.parametrize("address, message", [
    ("http://ray-head:8265", "got a http:// address (http is the dashboard's address"),
    ("ray-head:port", "got no host or no port in 1..65535"),
    ("ray-head:70000", "got no host or no port"),
    (":6379", "got no host"),
])
def test_a_malformed_address_is_a_config_error_naming_it(address, message):
    with pytest.raises(ConfigError) as err:
        parse_ray_address(address)
    assert repr(address) in str(err.value) and message in str(err.value)
    assert "expected a Ray GCS address host:port (default port 6379)" in str(err.value)


@pytest.mark.parametrize("scheme, what", [("", "Ray GCS"), ("ray://", "Ray Client server")])
def test_an_unused_port_fails_at_once_naming_the_address(scheme, what):
    address = f"{scheme}127.0.0.1:{_unused_port()}"
    started = time.monotonic()
    with pytest.raises(EndpointError) as err:
        check_ray_address(address)
    assert time.monotonic() - started < 2
    assert f"ray address {address!r}: expected the {what} listening on port" in str(err.value)
    assert "is the Ray cluster up" in str(err.value)


def test_an_http_server_there_is_named_as_one(tmp_path):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        with pytest.raises(EndpointError) as err:
            check_ray_address(address, timeout_s=5)
        assert "expected the Ray GCS (a gRPC server), got b'" in str(err.value)
        assert "(a web server: the dashboard? ray.init needs the GCS port" in str(err.value)
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_that_accepts_but_never_answers_fails_after_the_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel accepts the connection; nobody ever reads or writes
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(EndpointError, match=r"got no HTTP/2 answer within 0.5 s"):
            check_ray_address(address, timeout_s=0.5)
        assert 0.4 < time.monotonic() - started < 3


@pytest.fixture
def grpc_server():
    """A real gRPC server on 127.0.0.1 serving the methods named in `methods` (each answers an empty message)."""
    import grpc

    methods: set = set()

    class Stub(grpc.GenericRpcHandler):
        def service(self, details):
            if details.method in methods:
                return grpc.unary_unary_rpc_method_handler(lambda request, context: b"")
            return None  # gRPC answers UNIMPLEMENTED

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[Stub()])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, methods
    server.stop(None)


def test_a_grpc_server_that_is_not_ray_is_named_as_one(grpc_server):
    port, _ = grpc_server
    with pytest.raises(EndpointError) as err:
        check_ray_address(f"127.0.0.1:{port}")
    assert "expected the Ray GCS, got a gRPC (HTTP/2) server that does not serve " \
           "/ray.rpc.NodeInfoGcsService/GetClusterId (UNIMPLEMENTED" in str(err.value)


def test_a_server_answering_rays_method_passes(grpc_server, caplog):
    port, methods = grpc_server
    methods.update({GCS_METHOD, CLIENT_METHOD})
    with caplog.at_level("INFO", logger="shoprank.core.tuning.address"):
        check_ray_address(f"127.0.0.1:{port}")
        check_ray_address(f"ray://127.0.0.1:{port}")
    assert f"the Ray GCS answers at 127.0.0.1:{port}" in caplog.text
    assert f"the Ray Client server answers at ray://127.0.0.1:{port}" in caplog.text


def test_auto_and_local_are_left_to_ray():
    check_ray_address("auto")
    check_ray_address("local")


def test_ray_runtime_refuses_a_dead_address_before_ray_init(tmp_path):
    import ray

    from shoprank.core.tuning.runtime import ray_runtime

    assert not ray.is_initialized()  # (a Ray already running in this process would be used as it is)
    address = f"127.0.0.1:{_unused_port()}"
    started = time.monotonic()
    with pytest.raises(EndpointError, match=address):
        with ray_runtime(address, tmp_path / "ray-tmp"):
            pass
    assert time.monotonic() - started < 20 and not ray.is_initialized()


def test_ray_address_stands_for_auto_or_none_as_in_ray_init(monkeypatch):
    from shoprank.core.tuning.address import effective_ray_address

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert (effective_ray_address(None), effective_ray_address("auto"), effective_ray_address("h:1")) == \
        (None, "auto", "h:1")
    address = f"127.0.0.1:{_unused_port()}"
    monkeypatch.setenv("RAY_ADDRESS", address)
    assert (effective_ray_address(None), effective_ray_address("auto"), effective_ray_address("h:1")) == \
        (address, address, "h:1")
    with pytest.raises(EndpointError, match=address):  # `--ray-address auto` in a RayJob probes RAY_ADDRESS
        check_ray_address(effective_ray_address("auto"))
