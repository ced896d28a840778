"""Bearer-token auth: the token file (0600, made at first start) and the server interceptor.

Every call but the standard health service must carry ``authorization: Bearer <token>`` metadata.
The comparison is constant-time. The token file is refused if other users can read it.
"""
from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

import grpc

HEALTH_PREFIX = "/grpc.health.v1.Health/"


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


def _deny(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    def abort(request_or_iterator, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(abort)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(abort)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(abort)
    return grpc.unary_unary_rpc_method_handler(abort)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Rejects every call but health without the right bearer token, with UNAUTHENTICATED."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(HEALTH_PREFIX):
            return handler
        value = dict(handler_call_details.invocation_metadata or ()).get("authorization")
        if value is None:
            return _deny(handler, "no token: pass the daemon's token (the file 'token' in its data folder) "
                                  "as 'authorization: Bearer <token>'")
        if not hmac.compare_digest(value.encode() if isinstance(value, str) else value, self._expected):
            return _deny(handler, "wrong token: use the current token from the daemon's data folder")
        return handler
