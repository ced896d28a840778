"""Save and load sync expert weights: fp16 safetensors with the config in the file's metadata."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from lipsync_engine.errors import ModelError
from lipsync_engine.sync.model import SyncExpert, SyncExpertConfig, build_sync_expert

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "sync_expert.safetensors"
FORMAT = "lipsync-sync-expert-1"


def save_sync_expert(model: SyncExpert, path: str | Path, notes: dict[str, object] | None = None) -> str:
    """Write ``model`` as fp16 safetensors atomically (temp file, fsync, replace) and its record
    (``record_path``: sha256, config, notes) beside it; returns the sha256 hex."""
    path = Path(path)
    state = {k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype).contiguous()
             for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "config": json.dumps(model.config.to_dict()), "notes": json.dumps(notes or {})}
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.chmod(tmp, 0o644)  # a shipped package file, readable by all
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    digest = file_sha256(path)
    record = {"sha256": digest, "format": FORMAT, "config": model.config.to_dict(), "notes": notes or {}}
    tmp_record = record_path(path).with_name(record_path(path).name + ".tmp")
    tmp_record.write_text(json.dumps(record, indent=1, default=float))
    os.replace(tmp_record, record_path(path))
    return digest


def record_path(weights: str | Path) -> Path:
    """The JSON beside a weights file that records its sha256, config and training notes."""
    weights = Path(weights)
    return weights.with_name(weights.stem + ".json")


def load_sync_expert(path: str | Path | None = None, device: str = "cpu") -> SyncExpert:
    """The trained expert in eval mode, float32 on ``device``. ``path`` None loads the shipped weights.

    Raises ModelError when the file is missing, unreadable, or was written for another config.
    """
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        raise ModelError(f"sync expert weights not found at '{path}'; train them with `lipsync train-sync` "
                         "or pass --sync-weights PATH")
    record = record_path(path)
    if record.is_file():
        want = json.loads(record.read_text()).get("sha256")
        if want and file_sha256(path) != want:
            raise ModelError(f"sync expert weights '{path}' fail their checksum (want sha256 {want} from "
                             f"'{record.name}'); the file is corrupt or was replaced: reinstall or retrain")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"cannot read sync expert weights '{path}' ({exc}); the file is corrupt") from exc
    if meta.get("format") != FORMAT:
        raise ModelError(f"'{path}' is not a sync expert checkpoint (format {meta.get('format')!r}, want {FORMAT!r})")
    model = build_sync_expert(SyncExpertConfig(**json.loads(meta["config"])))
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as exc:
        raise ModelError(f"sync expert weights '{path}' do not fit the code's model ({exc})") from exc
    return model.to(device).eval()


def checkpoint_notes(path: str | Path) -> dict[str, object]:
    """The training notes stored with a checkpoint (data, steps, validation numbers)."""
    with safe_open(str(path), framework="pt") as f:
        return json.loads((f.metadata() or {}).get("notes", "{}"))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
