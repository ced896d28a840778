"""The :authority check on the installed grpcio: where it reads the authority, and that it fails closed.

A bare grpc server on 127.0.0.1 with the daemon's TokenAuthInterceptor and one echo method: real gRPC,
no engine, so these run in a second.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc
import pytest

from lipsync_daemon import auth
from lipsync_daemon.auth import TokenAuthInterceptor, call_authority

TOKEN = "t0ken"
METHOD = "/test.Echo/Echo"


class Echo(grpc.GenericRpcHandler):
    """Answers METHOD with the call's authority as call_authority reads it; keeps what the server saw."""

    def __init__(self) -> None:
        self.metadata_keys: list[set[str]] = []

    def service(self, handler_call_details):
        if handler_call_details.method != METHOD:
            return None

        def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.metadata_keys.append({key for key, _ in context.invocation_metadata()})
            return (call_authority(context) or "").encode()

        return grpc.unary_unary_rpc_method_handler(echo)


class Recorder(grpc.ServerInterceptor):
    """Keeps the public HandlerCallDetails of every call."""

    def __init__(self) -> None:
        self.details: list[grpc.HandlerCallDetails] = []

    def intercept_service(self, continuation, handler_call_details):
        self.details.append(handler_call_details)
        return continuation(handler_call_details)


@pytest.fixture
def server() -> Iterator[tuple[str, Echo, Recorder]]:
    from concurrent import futures

    echo, recorder = Echo(), Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=[recorder, TokenAuthInterceptor(TOKEN)])
    server.add_generic_rpc_handlers([echo])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", echo, recorder
    server.stop(0).wait()


def call(address: str, authority: str | None) -> bytes:
    options = [] if authority is None else [("grpc.default_authority", authority)]
    with grpc.insecure_channel(address, options=options) as channel:
        return channel.unary_unary(METHOD)(b"", metadata=(("authorization", f"Bearer {TOKEN}"),), timeout=10)


def test_grpcio_has_no_public_authority_so_the_private_read_is_needed(server) -> None:
    """If this fails, grpcio now exposes :authority publicly: read it there and drop auth._AUTHORITY_PATH."""
    address, echo, recorder = server
    assert call(address, "localhost:4") == b"localhost:4"  # read exactly as the client sent it
    assert not {":authority", "host", "authority"} & echo.metadata_keys[-1], (grpc.__version__, echo.metadata_keys)
    details = recorder.details[-1]
    assert details.method == METHOD
    public = {name for name in dir(details) if not name.startswith("_")}
    assert not {"host", "authority"} & public, (grpc.__version__, public)
    assert not hasattr(grpc.ServicerContext, "authority"), grpc.__version__


def test_loopback_authority_is_accepted_and_another_refused(server) -> None:
    address, _, _ = server
    port = address.rsplit(":", 1)[1]
    assert call(address, None) == address.encode()  # the channel's own target
    assert call(address, f"localhost:{port}") == f"localhost:{port}".encode()
    with pytest.raises(grpc.RpcError) as info:
        call(address, "evil.example:443")
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "names host 'evil.example'" in info.value.details()


def test_an_unreadable_authority_fails_closed_and_is_logged(server, monkeypatch, caplog) -> None:
    """A grpcio release that moves its private call details: every TCP call is refused, with a log line."""
    address, _, _ = server
    monkeypatch.setattr(auth, "_AUTHORITY_PATH", ("_rpc_event", "call_details", "moved_host"))
    with caplog.at_level(logging.ERROR, logger="lipsync_daemon.auth"), pytest.raises(grpc.RpcError) as info:
        call(address, "localhost")
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "does not expose the call's :authority" in info.value.details()
    record = next(r for r in caplog.records if r.name == "lipsync_daemon.auth")
    assert "TCP calls are refused" in record.getMessage() and record.attribute == "_rpc_event.call_details.moved_host"
