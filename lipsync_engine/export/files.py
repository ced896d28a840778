"""Fingerprints and atomic writes of exported model files."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from lipsync_engine.engines.options import default_cache_dir


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def module_sha256(model: nn.Module) -> str:
    """Hex sha256 of a module's class, parameter names, dtypes, shapes and values (its weights' identity)."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for name, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename inside directory ``path`` durable (no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success fsync it and os.replace it onto ``target``.

    On an exception the temp file is removed and ``target`` is left as it was. Several writers of one
    target (threads, processes) each write their own temp file; the last rename wins, and a reader
    always opens a complete file.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")  # unique per writer
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
        fsync_dir(target.parent)
    finally:
        temp.unlink(missing_ok=True)


def cache_folder(cache_dir: Path | None, stack: contextlib.ExitStack) -> Path:
    """The folder for exports and plans: ``cache_dir``, else the per-user default_cache_dir(), created
    (owner-only) when missing; when it cannot be created, a temporary folder that ``stack`` removes."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder
    except OSError:
        if cache_dir is not None:
            raise
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lipsync-engines-")))
