"""Errors of the daemon and their gRPC status codes.

``ServiceError`` carries the status code a client will see. ``status_for`` maps any exception the
daemon or the engine raises on purpose to (code name, message); the engine's own messages already say
what is wrong and what to do, so they pass through unchanged.
"""
from __future__ import annotations

import errno

from lipsync_engine import errors as engine_errors

DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


class ServiceError(Exception):
    """An error with the gRPC status name the client should get (e.g. "NOT_FOUND")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _disk_full(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return any(word in text for word in ("no space left", "file too large", "disk full", "quota"))


def status_for(exc: BaseException) -> tuple[str, str]:
    """(gRPC status name, message a person can act on) for an exception."""
    from lipsync_daemon.paths import PathRejected

    if isinstance(exc, ServiceError):
        return exc.code, exc.message
    if isinstance(exc, engine_errors.RenderCancelled):
        return "CANCELLED", str(exc)
    if isinstance(exc, PathRejected):
        return "INVALID_ARGUMENT", str(exc)
    if isinstance(exc, (engine_errors.OutputError, OSError)) and _disk_full(exc):
        return "RESOURCE_EXHAUSTED", f"{exc} (disk full or output size limit reached; free space and submit again)"
    if isinstance(exc, engine_errors.OutputError):
        return "FAILED_PRECONDITION", str(exc)
    if isinstance(exc, engine_errors.InputError):
        return "INVALID_ARGUMENT", str(exc)
    if isinstance(exc, engine_errors.ModelError):
        return "FAILED_PRECONDITION", str(exc)
    if isinstance(exc, engine_errors.LipsyncError):
        return "FAILED_PRECONDITION", str(exc)
    if isinstance(exc, OSError):
        return "FAILED_PRECONDITION", f"{exc.strerror or exc}: '{exc.filename}'" if exc.filename else str(exc)
    if isinstance(exc, MemoryError):
        return "RESOURCE_EXHAUSTED", "out of memory while rendering; lower concurrency or the clip's resolution"
    return "INTERNAL", f"unexpected {type(exc).__name__}: {exc} (a bug; please report it with the daemon log)"
