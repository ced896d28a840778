"""The generator's weights file: renderer + audio-to-motion + mouth-code basis, with the config inside.

Tensors ``renderer.*`` and ``motion.*`` are stored in fp16 (half the size, no measurable loss for
inference), ``codec.basis`` (D, 2P), ``codec.gain`` and ``codec.offset`` (D,) in fp32 (files written before
the offset existed lack it and get zeros, the calibration they were made with). Metadata: ``format``,
``config`` (GeneratorConfig JSON), ``notes`` (JSON: how it was trained, its measured numbers).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lipsync_engine.errors import ModelError
from lipsync_engine.model.audio_motion import AudioToMotion, build_audio_motion
from lipsync_engine.model.checkpoint import HASH_KEY, read_tensors, write_tensors
from lipsync_engine.model.config import GeneratorConfig
from lipsync_engine.model.renderer import MouthRenderer, build_renderer

WEIGHTS_FORMAT = "lipsync-generator/1"


@dataclass
class GeneratorBundle:
    """Everything the learned generator loads from one weights file (networks in fp32, eval mode)."""

    config: GeneratorConfig
    renderer: MouthRenderer
    motion: AudioToMotion
    basis: np.ndarray  # (D, 2P) float32 mouth-code basis (model/mouth_shape.py)
    gain: np.ndarray  # (D,) float32 per-code gain calibrated on validation speakers
    # (D,) float32 added after the gain, calibrated with it (motion_training.fit_calibration); None: zeros
    offset: np.ndarray | None = None
    notes: dict = field(default_factory=dict)
    sha256: str = ""  # payload SHA-256 of the file it was loaded from ("" when built in memory)

    def __post_init__(self) -> None:
        if self.offset is None:
            self.offset = np.zeros_like(self.gain)

    @property
    def label(self) -> str:
        """Model name and weights hash, e.g. ``lipsync-gen-2@38b080c2`` (just the name when built in memory).

        Profiles hold codes in this file's basis (and maybe a renderer tuned from it): the generator reports
        this label so the pipeline refuses a profile made with other weights."""
        return f"{self.config.name}@{self.sha256[:8]}" if self.sha256 else self.config.name


def half_state(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A module's state dict in fp16 under ``prefix.`` (for weights files and actor profiles)."""
    return {f"{prefix}.{k}": v.detach().to(torch.float16) for k, v in module.state_dict().items()}


def take_state(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The fp32 state dict stored under ``prefix.``."""
    cut = len(prefix) + 1
    return {k[cut:]: v.float() for k, v in tensors.items() if k.startswith(prefix + ".")}


def save_bundle(path: str | Path, bundle: GeneratorBundle) -> str:
    """Write the weights file atomically; returns its payload SHA-256."""
    tensors = {
        **half_state("renderer", bundle.renderer),
        **half_state("motion", bundle.motion),
        "codec.basis": torch.from_numpy(np.ascontiguousarray(bundle.basis, dtype=np.float32)),
        "codec.gain": torch.from_numpy(np.ascontiguousarray(bundle.gain, dtype=np.float32)),
        "codec.offset": torch.from_numpy(np.ascontiguousarray(bundle.offset, dtype=np.float32)),
    }
    metadata = {"format": WEIGHTS_FORMAT, "config": bundle.config.to_json(), "notes": json.dumps(bundle.notes)}
    return write_tensors(path, tensors, metadata)


def load_bundle(path: str | Path) -> GeneratorBundle:
    """Read and verify a weights file; ModelError when missing, corrupt or not fitting this code."""
    tensors, metadata = read_tensors(path, WEIGHTS_FORMAT)
    try:
        config = GeneratorConfig.from_json(metadata["config"])
        renderer = build_renderer(config.renderer)
        renderer.load_state_dict(take_state(tensors, "renderer"))
        motion = build_audio_motion(config.motion)
        motion.load_state_dict(take_state(tensors, "motion"))
        basis = tensors["codec.basis"].numpy()
        gain = tensors["codec.gain"].numpy()
        offset = tensors["codec.offset"].numpy() if "codec.offset" in tensors else None
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"'{path}' does not fit this version of the generator ({exc}); retrain or update") from exc
    return GeneratorBundle(
        config=config, renderer=renderer.eval(), motion=motion.eval(), basis=basis, gain=gain, offset=offset,
        notes=json.loads(metadata.get("notes") or "{}"), sha256=metadata[HASH_KEY],
    )
