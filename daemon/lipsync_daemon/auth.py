"""Bearer-token auth and the :authority check: the token file (0600, made at first start) and the interceptor.

Every call but the standard health service must carry ``authorization: Bearer <token>`` metadata.
The comparison is constant-time. The token file is refused if other users can read it.
Against DNS rebinding (a web page whose host name resolves to 127.0.0.1), a call that came over TCP must
name a loopback host (localhost, 127.0.0.0/8, [::1]) or an allowed host in its ``:authority``, else it
ends PERMISSION_DENIED. Calls over the Unix socket carry the socket path as authority and are not checked.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
import stat
from pathlib import Path

import grpc

HEALTH_PREFIX = "/grpc.health.v1.Health/"
log = logging.getLogger(__name__)


class TokenFileError(PermissionError):
    """The token file is unsafe or unreadable; the message says how to fix it."""


def load_or_create_token(path: Path) -> str:
    """The daemon's token from ``path``; a new 256-bit token is written there (mode 0600) if it is absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token(path)
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
        f.flush()
        os.fsync(f.fileno())
    return token


def read_token(path: Path) -> str:
    """Read a token file, refusing one that group or others may read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise TokenFileError(f"cannot read the daemon token at '{path}': {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenFileError(f"token file '{path}' is readable by other users (mode {oct(mode & 0o777)}); run chmod 600 on it")
    if not text:
        raise TokenFileError(f"token file '{path}' is empty; delete it and restart the daemon to make a new one")
    return text


def authority_host(authority: str) -> str:
    """The host part of an ``:authority`` ("host:port", "[v6]:port", "host"), lower case, no trailing dot."""
    if authority.startswith("["):
        host = authority[1:].split("]", 1)[0]
    else:
        host = authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
    return host.lower().rstrip(".")


def is_loopback_host(host: str) -> bool:
    """True for "localhost" and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# grpcio (1.85) has no public accessor for a call's :authority on the server: it is not in
# invocation_metadata() (gRPC core strips pseudo-headers), nor in HandlerCallDetails (method and metadata
# only); the C++ API has ServerContext::ExperimentalGetAuthority, Python asks for it in grpc/grpc#38906.
# The server keeps it in its private call details, read here and nowhere else; tests/daemon/test_auth.py
# pins that this works on the installed grpcio and that the check fails closed when it does not.
_AUTHORITY_PATH = ("_rpc_event", "call_details", "host")


def call_authority(context: grpc.ServicerContext) -> str | None:
    """The call's ``:authority`` from grpcio's private call details; None (logged) if a release moved it."""
    value = context
    for name in _AUTHORITY_PATH:
        value = getattr(value, name, None)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    log.error("cannot read the call's :authority, so TCP calls are refused: this grpcio release moved its "
              "private call details; connect through the daemon's unix socket, or install a grpcio release "
              "the daemon supports", extra={"grpcio": grpc.__version__, "attribute": ".".join(_AUTHORITY_PATH)})
    return None


def _wrap(handler: grpc.RpcMethodHandler, guard=None, deny: tuple[grpc.StatusCode, str] | None = None):
    """``handler`` with ``guard(context)`` run before its behaviour, or one that only aborts with ``deny``."""
    behaviour = (handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream)

    def guarded(request_or_iterator, context):
        if deny is not None:
            context.abort(*deny)
        guard(context)
        return behaviour(request_or_iterator, context)

    codecs = {"request_deserializer": handler.request_deserializer,
              "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(guarded, **codecs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(guarded, **codecs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(guarded, **codecs)
    return grpc.unary_unary_rpc_method_handler(guarded, **codecs)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Every call but health needs the bearer token (else UNAUTHENTICATED) and, over TCP, an ``:authority``
    naming a loopback host or one of ``allowed_hosts`` (else PERMISSION_DENIED)."""

    def __init__(self, token: str, allowed_hosts: tuple[str, ...] = ()) -> None:
        self._expected = f"Bearer {token}".encode()
        self._allowed_hosts = frozenset(authority_host(h) for h in allowed_hosts)

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(HEALTH_PREFIX):
            return handler
        value = dict(handler_call_details.invocation_metadata or ()).get("authorization")
        if value is None:
            return _wrap(handler, deny=(grpc.StatusCode.UNAUTHENTICATED,
                                        "no token: pass the daemon's token (the file 'token' in its data folder) "
                                        "as 'authorization: Bearer <token>'"))
        if not hmac.compare_digest(value.encode() if isinstance(value, str) else value, self._expected):
            return _wrap(handler, deny=(grpc.StatusCode.UNAUTHENTICATED,
                                        "wrong token: use the current token from the daemon's data folder"))
        return _wrap(handler, guard=self._check_authority)

    def _check_authority(self, context: grpc.ServicerContext) -> None:
        if context.peer().startswith("unix:"):
            return
        authority = call_authority(context)
        if authority is None:
            context.abort(grpc.StatusCode.PERMISSION_DENIED,
                          "this grpcio release does not expose the call's :authority, so the daemon cannot "
                          "check it over TCP; connect through the daemon's unix socket")
        host = authority_host(authority)
        if not (is_loopback_host(host) or host in self._allowed_hosts):
            context.abort(grpc.StatusCode.PERMISSION_DENIED,
                          f"the call names host '{host}' (its :authority), which is not this machine's "
                          "loopback or a configured allowed host; connect to localhost / 127.0.0.1, or add "
                          "the name to the daemon's allowed_hosts (--allow-host)")
