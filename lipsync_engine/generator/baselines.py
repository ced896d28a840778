"""Baseline generators that bracket every model in evaluation.

- ``MouthFrozenGenerator`` (floor for sync): every frame gets the same mouth, the actor's most closed
  mouth from their own footage, pasted at the fixed mouth position of the aligned crop.
- ``VoiceActivityControl`` (control): the actor's own most open mouth whenever the dub speaks and the
  most closed one otherwise, cross-faded over a few frames. A model that does not clearly beat it on
  sync is only following loudness.

Both edit only a feathered ellipse around the mouth of the aligned crop; the pipeline blends the crop back.
"""
from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np

from lipsync_engine.errors import InputError
from lipsync_engine.faces import topology
from lipsync_engine.generator.base import ActorProfile, ProfileSamples

CROP_SIZE = 192
# Ellipse of the mouth patch in crop fractions: centre (x, y) and radii; feathered by FEATHER * S.
PATCH_CENTRE = (0.5, 0.65)
PATCH_RADII = (0.19, 0.12)
FEATHER = 0.015
SMOOTH_FRAMES = 3  # VoiceActivityControl: box filter over the speech flags, frames


def mouth_patch_mask(size: int) -> np.ndarray:
    """(S, S) float32 in [0, 1]: 1 inside the mouth ellipse, feathered to 0 outside it."""
    mask = np.zeros((size, size), np.float32)
    centre = (round(PATCH_CENTRE[0] * size), round(PATCH_CENTRE[1] * size))
    axes = (round(PATCH_RADII[0] * size), round(PATCH_RADII[1] * size))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    sigma = FEATHER * size
    blurred = cv2.GaussianBlur(mask, (0, 0), sigma)
    inner = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(1, round(2 * sigma)))
    return np.maximum(blurred * mask, inner)  # feather inward only: nothing outside the ellipse changes


def lip_opening(points: np.ndarray) -> np.ndarray:
    """(M, 468, 2) landmarks -> (M,) inner-lip gap over mouth width (0 closed, ~0.5 wide open)."""
    gap = np.linalg.norm(points[:, topology.UPPER_LIP_INNER] - points[:, topology.LOWER_LIP_INNER], axis=-1)
    width = np.linalg.norm(points[:, topology.MOUTH_LEFT] - points[:, topology.MOUTH_RIGHT], axis=-1)
    return gap / np.maximum(width, 1e-6)


class _MouthPatchGenerator:
    """Shared machinery: reference mouths taken from the actor's footage, pasted in the mouth ellipse."""

    backend = "numpy"

    def __init__(self, crop_size: int = CROP_SIZE) -> None:
        self.crop_size = crop_size

    def _references(self, samples: ProfileSamples) -> tuple[np.ndarray, np.ndarray]:
        """(closed, open) (S, S, 3) uint8 crops of the samples with the smallest and largest lip opening."""
        usable = np.isfinite(samples.points).all(axis=(1, 2))
        if len(samples.crops) == 0 or not usable.any():
            raise InputError(f"{self.name} needs at least one sample crop with landmarks; got {len(samples.crops)} "
                             "crops and none usable")
        opening = np.where(usable, lip_opening(np.nan_to_num(samples.points)), np.nan)
        closed, widest = int(np.nanargmin(opening)), int(np.nanargmax(opening))
        return self._sized(samples.crops[closed]), self._sized(samples.crops[widest])

    def _sized(self, crop: np.ndarray) -> np.ndarray:
        if crop.shape[0] == self.crop_size:
            return np.ascontiguousarray(crop)
        return cv2.resize(crop, (self.crop_size, self.crop_size), interpolation=cv2.INTER_AREA)

    def _paste(self, crops: np.ndarray, mouths: np.ndarray) -> np.ndarray:
        """Blend (n, S, S, 3) ``mouths`` into ``crops`` inside the mouth ellipse; uint8 out."""
        if crops.ndim != 4 or crops.shape[1:3] != (self.crop_size, self.crop_size):
            raise InputError(f"{self.name} renders ({self.crop_size}, {self.crop_size}) crops, got {crops.shape}")
        alpha = mouth_patch_mask(self.crop_size)[None, :, :, None]
        out = crops.astype(np.float32) * (1.0 - alpha) + mouths.astype(np.float32) * alpha
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


class MouthFrozenGenerator(_MouthPatchGenerator):
    """Floor for sync: the same closed mouth on every frame (see module docstring)."""

    name = "mouth_frozen"

    def build_profile(self, samples: ProfileSamples) -> ActorProfile:
        closed, _ = self._references(samples)
        return ActorProfile(generator=self.name, data={"closed": closed}, source=f"{len(samples.crops)} frames")

    def plan(self, mel: np.ndarray, speech: np.ndarray, fps: Fraction, profile: ActorProfile,
             points: np.ndarray | None = None) -> np.ndarray:
        return np.zeros((len(mel), 0), dtype=np.float32)

    def render(self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile) -> np.ndarray:
        return self._paste(crops, np.broadcast_to(profile.data["closed"], crops.shape))


class VoiceActivityControl(_MouthPatchGenerator):
    """Control: open mouth while the dub speaks, closed otherwise (see module docstring)."""

    name = "vad_control"

    def build_profile(self, samples: ProfileSamples) -> ActorProfile:
        closed, widest = self._references(samples)
        return ActorProfile(generator=self.name, data={"closed": closed, "open": widest},
                            source=f"{len(samples.crops)} frames")

    def plan(self, mel: np.ndarray, speech: np.ndarray, fps: Fraction, profile: ActorProfile,
             points: np.ndarray | None = None) -> np.ndarray:
        """(N, 1) float32 openness in [0, 1]: the speech flags smoothed over SMOOTH_FRAMES frames."""
        flags = np.asarray(speech, np.float32).reshape(-1)
        kernel = np.ones(SMOOTH_FRAMES, np.float32) / SMOOTH_FRAMES
        return np.convolve(np.pad(flags, SMOOTH_FRAMES // 2, mode="edge"), kernel, "valid")[:, None]

    def render(self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile) -> np.ndarray:
        weight = np.asarray(motion, np.float32).reshape(-1, 1, 1, 1)
        mouths = profile.data["closed"][None] * (1.0 - weight) + profile.data["open"][None] * weight
        return self._paste(crops, mouths)
