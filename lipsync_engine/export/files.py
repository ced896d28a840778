"""Fingerprints and atomic writes of exported model files, and the engine cache's housekeeping."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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


# The engine cache's limits: after each new export or plan, entries not used for CACHE_MAX_AGE_S go, then
# the least recently used while the folder's entries hold more than CACHE_MAX_BYTES.
CACHE_MAX_AGE_S = 30 * 86400
CACHE_MAX_BYTES = 8 << 30
CACHE_GRACE_S = 3600  # an entry used this recently is never removed: another process may be opening it


def mark_used(path: Path) -> None:
    """Record a use of a cache file in its access time; its mtime (when it was written) is kept."""
    with contextlib.suppress(OSError):
        os.utime(path, ns=(time.time_ns(), Path(path).stat().st_mtime_ns))


@dataclass
class _Entry:
    files: list[Path]
    last_used: float  # seconds since the epoch: the latest access or write of any of its files
    size: int


def prune_cache(
    folder: Path,
    keep: Path,
    *,
    max_age_s: float = CACHE_MAX_AGE_S,
    max_bytes: int = CACHE_MAX_BYTES,
    grace_s: float = CACHE_GRACE_S,
) -> list[Path]:
    """Remove the entries of an engine cache folder not used for ``max_age_s``, then the least recently
    used ones while all entries hold more than ``max_bytes``; returns the files removed.

    An entry is an export (``renderer-*.onnx``) or a TensorRT plan (``*.plan``) with its ``.json``
    sidecar; other files, and the temp files of writers in progress, are never touched. Neither is
    ``keep``'s entry (the one just made) nor one used within ``grace_s``: another process may be about
    to open it (its last use is read again right before removal). A file that goes away meanwhile, or
    cannot be removed, is skipped: housekeeping never fails a load.
    """
    entries = _cache_entries(Path(folder))
    total = sum(entry.size for entry in entries.values())
    entries.pop(Path(keep).stem, None)
    removed: list[Path] = []
    for entry in sorted(entries.values(), key=lambda e: e.last_used):
        age = time.time() - _last_used(entry.files)
        if age <= grace_s or (age <= max_age_s and total <= max_bytes):
            continue
        for path in entry.files:
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
        total -= entry.size
    return removed


def _cache_entries(folder: Path) -> dict[str, _Entry]:
    """The folder's exports and plans (plans with their sidecars), by file stem."""
    groups: dict[str, list[Path]] = {}
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if (path.name.startswith("renderer-") and path.suffix == ".onnx") or path.suffix == ".plan":
                groups.setdefault(path.stem, []).append(path)
    entries = {}
    for stem, files in groups.items():
        sidecar = folder / f"{stem}.json"
        if files[0].suffix == ".plan" and sidecar.is_file():
            files.append(sidecar)
        entries[stem] = _Entry(files, _last_used(files), sum(_size(path) for path in files))
    return entries


def _last_used(files: list[Path]) -> float:
    """Latest access or write time of ``files`` (now for one that cannot be read: it is in use or gone)."""
    try:
        return max(max(st.st_atime, st.st_mtime) for st in (path.stat() for path in files))
    except OSError:
        return time.time()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
