"""Actor profiles of the learned generator: the actor's rest mouth, reference crops indexed by mouth
code, and optionally a renderer fine-tuned on the actor (``lipsync adapt``). Saved as ``.lsprofile``
(a self-verifying safetensors file, see model/checkpoint.py).

``ActorProfile.data`` keys: ``rest_shape`` (P, 2) and ``rest_anchor`` (2,) float32 normalised crop
coordinates; ``ref_crops`` (R, S, S, 3) uint8 RGB; ``ref_codes`` (R, D) float32; ``ref_points`` (R, 468, 2)
float32 crop-pixel landmarks of the references, or None in profiles written before the reference warp
(their references go to the renderer unwarped); ``renderer_state`` (dict of fp32 tensors) or None.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.generator.base import ActorProfile
from lipsync_engine.model.bundle import take_state
from lipsync_engine.model.checkpoint import read_tensors, write_tensors
from lipsync_engine.model.mouth_shape import RestPose, displacement, encode, rest_pose
from lipsync_engine.model.retrieval import spread_references

PROFILE_FORMAT = "lipsync-actor-profile/1"
REFERENCES = 24  # reference crops kept per actor
_ARRAYS = ("rest_shape", "rest_anchor", "ref_crops", "ref_codes")


def actor_data(crops: np.ndarray, points: np.ndarray, basis: np.ndarray, references: int = REFERENCES) -> dict:
    """Profile data from (M, S, S, 3) uint8 aligned crops and their (M, 468, 2) crop-pixel landmarks."""
    points = np.asarray(points, dtype=np.float32)
    if len(crops) == 0 or len(crops) != len(points) or not np.isfinite(points).all():
        raise InputError(
            f"an actor profile needs matching crops and finite landmarks; got {len(crops)} crops, "
            f"{len(points)} landmark sets; sample frames where the face was found"
        )
    size = crops.shape[1]
    rest = rest_pose(points, size)
    codes = encode(displacement(points, rest, size), basis)
    chosen = spread_references(codes, references)
    return {
        "rest_shape": rest.shape,
        "rest_anchor": rest.anchor,
        "ref_crops": np.ascontiguousarray(crops[chosen]),
        "ref_codes": codes[chosen],
        "ref_points": np.ascontiguousarray(points[chosen]),
        "renderer_state": None,
    }


def rest_of(profile: ActorProfile) -> RestPose:
    return RestPose(shape=profile.data["rest_shape"], anchor=profile.data["rest_anchor"])


def save_profile(profile: ActorProfile, path: str | Path) -> str:
    """Write an actor profile file atomically; returns its payload SHA-256."""
    tensors = {name: torch.from_numpy(np.ascontiguousarray(profile.data[name])) for name in _ARRAYS}
    if profile.data.get("ref_points") is not None:
        tensors["ref_points"] = torch.from_numpy(np.ascontiguousarray(profile.data["ref_points"], np.float32))
    state = profile.data.get("renderer_state")
    if state:
        tensors.update({f"renderer.{k}": v.to(torch.float16) for k, v in state.items()})
    metadata = {"format": PROFILE_FORMAT, "generator": profile.generator, "source": profile.source}
    return write_tensors(path, tensors, metadata)


def load_profile(path: str | Path) -> ActorProfile:
    """Read and verify an actor profile file; ModelError when missing, corrupt or incomplete."""
    tensors, metadata = read_tensors(path, PROFILE_FORMAT)
    missing = [name for name in _ARRAYS if name not in tensors]
    if missing:
        raise ModelError(f"actor profile '{path}' lacks {missing}; rebuild it with `lipsync adapt`")
    data = {name: tensors[name].numpy() for name in _ARRAYS}
    data["ref_points"] = tensors["ref_points"].numpy() if "ref_points" in tensors else None
    data["renderer_state"] = take_state(tensors, "renderer") or None
    return ActorProfile(generator=metadata.get("generator", ""), data=data, source=metadata.get("source", ""))


def describe(profile: ActorProfile) -> str:
    """One line for reports: references, fine-tuned or not, source."""
    return json.dumps({
        "generator": profile.generator,
        "references": int(len(profile.data["ref_crops"])),
        "fine_tuned": bool(profile.data.get("renderer_state")),
        "source": profile.source,
    })
