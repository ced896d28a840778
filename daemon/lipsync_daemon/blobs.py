"""Uploaded files, stored by content (sha256), received and sent in chunks.

An upload names its size and sha256 up front; the size is checked against the cap and the free disk
before a byte is written, the bytes go to a hidden temp file, and only a complete file with the right
digest is renamed into place (so a blob id always names a whole, verified file).
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from lipsync_daemon.errors import ServiceError

CHUNK_BYTES = 1 << 20  # 1 MiB: well under gRPC's 4 MiB message limit
BLOB_ID = re.compile(r"^[0-9a-f]{64}(\.[a-z0-9]{1,8})?$")


def fsync_dir(path: Path) -> None:
    """fsync a folder so a rename inside it survives a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def check_free_space(folder: Path, needed: int, keep_free: int) -> None:
    """Raise RESOURCE_EXHAUSTED unless ``needed`` bytes fit in ``folder`` with ``keep_free`` to spare."""
    free = shutil.disk_usage(folder).free
    if free - needed < keep_free:
        raise ServiceError(
            "RESOURCE_EXHAUSTED",
            f"not enough free disk in '{folder}': {needed} bytes needed, {free} free, {keep_free} kept in reserve; "
            "free some space and try again",
        )


def iter_file(path: Path, chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from iter(lambda: f.read(chunk), b"")


class BlobStore:
    """Blobs in one folder, named ``<sha256><.ext>``."""

    def __init__(self, folder: Path, max_bytes: int, keep_free: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.keep_free = keep_free

    def path(self, blob_id: str) -> Path:
        """The file of ``blob_id``; NOT_FOUND if there is none, INVALID_ARGUMENT if the id is malformed."""
        if not BLOB_ID.match(blob_id or ""):
            raise ServiceError("INVALID_ARGUMENT", f"blob id '{blob_id}' is malformed; use the id Upload returned")
        path = self.folder / blob_id
        if not path.is_file():
            raise ServiceError("NOT_FOUND", f"no blob '{blob_id}'; upload the file first")
        return path

    def receive(self, name: str, size: int, sha256: str, chunks: Iterable[bytes]) -> tuple[str, int, str]:
        """Store the ``size`` bytes of ``chunks`` if their digest is ``sha256``. Returns (id, size, sha256)."""
        sha256 = sha256.lower()
        if size < 0 or not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ServiceError("INVALID_ARGUMENT", "upload header needs size >= 0 and the file's sha256 as 64 hex digits")
        if size > self.max_bytes:
            raise ServiceError(
                "RESOURCE_EXHAUSTED",
                f"upload of {size} bytes is over the daemon's limit of {self.max_bytes} bytes (max_upload_bytes); "
                "put the file under an allowed root and submit its path instead",
            )
        check_free_space(self.folder, size, self.keep_free)
        suffix = Path(name).suffix.lower()
        blob_id = sha256 + (suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else "")
        tmp = self.folder / f".upload-{secrets.token_hex(6)}.part"
        digest, received = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as f:
                for data in chunks:
                    received += len(data)
                    if received > size:
                        raise ServiceError(
                            "INVALID_ARGUMENT" if size < self.max_bytes else "RESOURCE_EXHAUSTED",
                            f"upload sent more than the {size} bytes its header declared",
                        )
                    digest.update(data)
                    f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if received != size:
                raise ServiceError("INVALID_ARGUMENT", f"upload ended after {received} of {size} bytes; send it again")
            if digest.hexdigest() != sha256:
                raise ServiceError("INVALID_ARGUMENT", "upload checksum mismatch: the bytes received do not have the "
                                                       "sha256 the header declared; send it again")
            os.replace(tmp, self.folder / blob_id)
            fsync_dir(self.folder)
        finally:
            tmp.unlink(missing_ok=True)
        return blob_id, size, sha256

    def sweep_partials(self) -> int:
        """Remove temp files of uploads cut off by a crash. Returns how many."""
        stale = list(self.folder.glob(".upload-*.part"))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)
