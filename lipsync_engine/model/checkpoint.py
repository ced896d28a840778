"""Self-verifying safetensors files for generator weights and actor profiles.

Each file's metadata holds its ``format``, its JSON ``config`` (or other string fields) and
``payload_sha256``: the SHA-256 of the tensor bytes after the header. Loading recomputes it, so a
truncated, corrupted or edited file fails with a ModelError instead of loading silently wrong weights.
Files are written atomically (temp file beside the target, fsync, os.replace).
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import torch
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from lipsync_engine.errors import ModelError, OutputError

HASH_KEY = "payload_sha256"


def _payload(blob: bytes) -> tuple[dict, bytes]:
    """Split a safetensors blob into (header dict, tensor bytes); raises ValueError when malformed."""
    if len(blob) < 8:
        raise ValueError("shorter than a safetensors header")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > len(blob) - 8:
        raise ValueError("header longer than the file")
    header = json.loads(blob[8:8 + header_len])
    return header, blob[8 + header_len:]


def write_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> str:
    """Atomically write ``tensors`` with ``metadata`` plus the payload hash; returns the hash (hex)."""
    path = Path(path)
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    _, payload = _payload(save_bytes(tensors, metadata=dict(metadata)))
    digest = hashlib.sha256(payload).hexdigest()
    blob = save_bytes(tensors, metadata={**metadata, HASH_KEY: digest})
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write '{path}' ({exc}); check the folder exists, is writable and has space") from exc
    return digest


def read_tensors(path: str | Path, expected_format: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load and verify a file written by write_tensors; returns (tensors, metadata).

    Raises ModelError naming the file when it is missing, is not such a file, has another format, or
    its tensor bytes do not match the recorded SHA-256.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights file not found: '{path}'; pass an existing .safetensors/.lsprofile file")
    blob = path.read_bytes()
    try:
        header, payload = _payload(blob)
        metadata = header.get("__metadata__") or {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"'{path}' is not a readable safetensors file ({exc}); it is corrupt or truncated") from exc
    if metadata.get("format") != expected_format:
        raise ModelError(
            f"'{path}' has format {metadata.get('format')!r}, expected {expected_format!r}; "
            f"pass a file written by this version of lipsync"
        )
    if hashlib.sha256(payload).hexdigest() != metadata.get(HASH_KEY):
        raise ModelError(
            f"'{path}' fails its SHA-256 check (recorded {metadata.get(HASH_KEY)!r}); the file is corrupt: "
            f"restore or re-create it"
        )
    try:
        tensors = load_bytes(blob)
    except Exception as exc:  # safetensors raises its own error types for malformed bodies
        raise ModelError(f"'{path}' has unreadable tensors ({exc}); the file is corrupt") from exc
    return tensors, metadata
