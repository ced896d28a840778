"""Training clips from the dataset cache (lipsync_engine.data), with mouth geometry precomputed.

Crops stay memory-mapped uint8 (the OS page cache holds them); everything derived from landmarks is
small and kept in RAM as float32.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lipsync_engine.audio import MEL_WINDOW
from lipsync_engine.data import ClipData, load_clips
from lipsync_engine.errors import InputError
from lipsync_engine.model.mouth_shape import RestPose, displacement, encode, mouth_shape, nose_anchor, rest_pose

MIN_FRAMES = 20  # clips with fewer valid frames are skipped


@dataclass
class TrainClip:
    """One clip's arrays, restricted to the clip's valid frames (row r is frame ``frames[r]``)."""

    clip: ClipData
    frames: np.ndarray  # (M,) int64 valid frame indices
    rest: RestPose
    disp: np.ndarray  # (M, 2P) float32 mouth displacement from the clip's rest pose
    shapes: np.ndarray  # (M, P, 2) float32 normalised mouth shapes
    anchors: np.ndarray  # (M, 2) float32 normalised nose anchors
    codes: np.ndarray | None = None  # (M, D) float32 once a basis is known

    @property
    def clip_id(self) -> str:
        return self.clip.clip_id

    @property
    def sync_ok(self) -> bool:
        """The clip's audio belongs to the picture and is aligned (usable for audio-driven training)."""
        meta = self.clip.meta
        suspect = self.clip_id.startswith(("edtalk_", "styletalk_")) and meta.get("av_offset_frames") is None
        return not meta.get("appearance_only") and not suspect

    def consecutive(self) -> np.ndarray:
        """Rows r whose next row is the next frame (r, r + 1 form a temporal pair)."""
        return np.flatnonzero(np.diff(self.frames) == 1)

    def mel_windows(self, window: int = MEL_WINDOW) -> np.ndarray:
        """(M, 80, window) float32 speech windows of the valid frames (av offset applied)."""
        return self.clip.mel_windows(self.frames, window=window)


def load_train_clips(cache: str | Path, split: str | None) -> list[TrainClip]:
    """Every cached clip of ``split`` (None: of every split) with at least MIN_FRAMES valid frames, geometry
    computed."""
    out = [train_clip(clip) for clip in load_clips(cache, split) if int(np.sum(clip.valid)) >= MIN_FRAMES]
    if not out:
        kind = f"{split} " if split else ""
        raise InputError(f"the dataset cache '{cache}' has no usable {kind}clips; run `lipsync build-dataset`")
    return out


def train_clip(clip: ClipData) -> TrainClip:
    """Geometry of one clip's valid frames (rest pose of the clip itself)."""
    frames = np.flatnonzero(np.asarray(clip.valid))
    size = clip.crops.shape[1]
    points = np.asarray(clip.points[frames], dtype=np.float32)
    rest = rest_pose(points, size)
    return TrainClip(clip=clip, frames=frames, rest=rest, disp=displacement(points, rest, size),
                     shapes=mouth_shape(points, size), anchors=nose_anchor(points, size))


def attach_codes(clips: list[TrainClip], basis: np.ndarray) -> None:
    """Fill every clip's ``codes`` with its displacements projected on ``basis`` (D, 2P)."""
    for c in clips:
        c.codes = encode(c.disp, basis)
