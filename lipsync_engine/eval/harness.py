"""Crop-level evaluation harness: drive a generator over cached aligned crops with any clip's speech.

It calls the generator exactly as the render pipeline does (build_profile on the actor's own crops,
plan on the dub's per-frame speech windows, render in batches) but on the dataset cache's crops, so an
evaluation needs no decoding, tracking or encoding. Each generated crop is then blended into its real
crop as the pipeline blends it into the frame (``blend.paste`` under ``lower_face_mask`` of the tracked
landmarks, identity alignment: the "frame" is the real crop), so every measure sees what a render shows:
colour matched and pulled back to the source near the mask's edge, source grain kept, the real crop
outside the mask. Frames without a usable face keep their crop.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lipsync_engine.blend import lower_face_mask, paste
from lipsync_engine.data.cache import ClipData
from lipsync_engine.errors import InputError
from lipsync_engine.eval.speech import frame_energy
from lipsync_engine.faces.align import Alignment
from lipsync_engine.generator.base import ActorProfile, Generator, ProfileSamples

PROFILE_SAMPLES = 48  # crops of the actor's own footage given to build_profile
BATCH = 16  # crops per render call


@dataclass(frozen=True)
class Take:
    """One generated stretch: ``target``'s frames driven by ``driver``'s speech, frame for frame."""

    kind: str  # "self" (own audio) or "cross" (another speaker's audio)
    target: ClipData
    driver: ClipData
    frames: np.ndarray  # (M,) target frame indices; driver frame j drives frames[j]
    generated: np.ndarray  # (M, S, S, 3) uint8 RGB crops as a render shows them: blended into the real crops
    energy: np.ndarray  # (M,) float32 loudness of the driving speech per frame
    speech: np.ndarray  # (M,) bool voice activity of the driving speech (audio.voice_activity, as the pipeline)

    @property
    def real(self) -> np.ndarray:
        """(M, S, S, 3) uint8 the target's real crops."""
        return np.asarray(self.target.crops[self.frames])

    @property
    def valid(self) -> np.ndarray:
        return np.asarray(self.target.valid[self.frames])


def actor_profile(generator: Generator, clip: ClipData, before: int | None = None) -> ActorProfile:
    """The generator's profile of ``clip``'s actor from up to PROFILE_SAMPLES evenly spread valid frames
    (of the frames before ``before`` when given: the actor's own footage of a held-back run)."""
    usable = np.flatnonzero(clip.valid[:before])
    if len(usable) == 0:
        raise InputError(f"clip '{clip.clip_id}' has no frame with a usable face; it cannot be evaluated")
    chosen = usable[np.linspace(0, len(usable) - 1, min(PROFILE_SAMPLES, len(usable))).astype(int)]
    return generator.build_profile(profile_samples(clip, chosen, generator.crop_size))


def profile_samples(clip: ClipData, frames: np.ndarray, crop_size: int) -> ProfileSamples:
    """``clip``'s crops, landmarks, own-speech windows and voice activity at ``frames``, at ``crop_size``."""
    return ProfileSamples(
        crops=_sized(np.asarray(clip.crops[frames]), crop_size),
        points=np.asarray(clip.points[frames]) * (crop_size / clip.crops.shape[1]),
        mel=clip.mel_windows(frames), speech=clip.speech_at(frames),
    )


def run_take(
    generator: Generator, profile: ActorProfile, target: ClipData, driver: ClipData, length: int, kind: str
) -> Take:
    """Generate ``length`` frames of ``target`` from its frame 0, driven by ``driver``'s speech from its frame 0,
    each blended into the real crop as a render blends it (``viewer_crops``)."""
    length = min(length, target.n_frames, driver.n_frames)
    frames = np.arange(length)
    windows = driver.mel_windows(frames)
    energy = frame_energy(windows)
    speech = driver.speech_at(frames)
    real = np.asarray(target.crops[frames])
    size, scale = real.shape[1], generator.crop_size / real.shape[1]
    points = np.where(target.valid[frames][:, None, None], np.asarray(target.points[frames]) * scale, np.nan)
    motion = generator.plan(windows, speech, driver.fps, profile, points.astype(np.float32))
    generated = real.copy()
    valid = np.flatnonzero(target.valid[frames])
    for start in range(0, len(valid), BATCH):
        idx = valid[start:start + BATCH]
        out = generator.render(_sized(real[idx], generator.crop_size), points[idx], motion[idx], profile)
        generated[idx] = _sized(out, size)
    masks = blend_masks(np.asarray(target.points[frames[valid]]), size)
    generated[valid] = viewer_crops(real[valid], generated[valid], masks)
    return Take(kind, target, driver, frames, generated, energy, speech)


def blend_masks(points: np.ndarray, size: int) -> np.ndarray:
    """(N, S, S) float32 lower-face masks from (N, 468, 2) crop landmarks; all zero where not finite."""
    masks = np.zeros((len(points), size, size), np.float32)
    for i, p in enumerate(points):
        if np.isfinite(p).all():
            masks[i] = lower_face_mask(p, size)
    return masks


def viewer_crops(real: np.ndarray, generated: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8: each generated crop blended into its real crop by ``blend.paste`` under its mask.

    Pasting a real crop onto itself gives it back bit for bit (the colour fit is the identity, the edge
    correction and the kept detail cancel), so the identity baseline still scores as the real footage."""
    size = real.shape[1]
    identity = Alignment(matrix=np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), size=size)
    out = real.copy()
    for i, m in enumerate(masks):
        if m.any():
            out[i] = paste(real[i], generated[i], identity, m)
    return out


def _sized(crops: np.ndarray, size: int) -> np.ndarray:
    """Resize (n, s, s, 3) uint8 crops to ``size`` (no copy when already that size)."""
    if crops.shape[1] == size:
        return crops
    interp = cv2.INTER_AREA if size < crops.shape[1] else cv2.INTER_CUBIC
    return np.stack([cv2.resize(c, (size, size), interpolation=interp) for c in crops])
