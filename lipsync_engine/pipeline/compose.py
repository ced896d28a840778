"""Crop faces, run the generator on a batch, and blend its mouths back into the full frames."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipsync_engine.blend import lower_face_mask, paste
from lipsync_engine.faces.align import Alignment, align_face
from lipsync_engine.generator.base import ActorProfile, Generator


@dataclass(frozen=True)
class FaceCrop:
    """One frame's face, aligned for the generator."""

    alignment: Alignment  # frame -> crop similarity at the generator's crop size
    crop: np.ndarray  # (S, S, 3) uint8 RGB
    points: np.ndarray  # (468, 2) float32 landmarks in crop pixels


def crop_face(frame: np.ndarray, points: np.ndarray, size: int) -> FaceCrop:
    """Align an HxWx3 frame (uint8, or uint16 full range) to a ``size`` crop around its (468, 2) landmarks.

    Only the crop is resampled; the frame itself is not touched or converted.
    """
    alignment = align_face(points, size)
    crop = alignment.crop(frame)
    if crop.dtype == np.uint16:
        crop = (crop >> 8).astype(np.uint8)
    return FaceCrop(alignment=alignment, crop=crop, points=alignment.to_crop(points).astype(np.float32))


class Compositor:
    """Drives one generator over batches of frames of one actor."""

    def __init__(self, generator: Generator, profile: ActorProfile, crop_size: int) -> None:
        self.generator = generator
        self.profile = profile
        self.crop_size = crop_size

    def generate(
        self, frames: list[np.ndarray], points: np.ndarray, motion: np.ndarray
    ) -> tuple[list[FaceCrop], np.ndarray]:
        """Crop a batch (frames HxWx3, points (n, 468, 2) frame pixels, motion (n, D)) and run the generator.

        Returns the aligned input crops and the generator's (n, S, S, 3) uint8 RGB output.
        """
        faces = [crop_face(f, p, self.crop_size) for f, p in zip(frames, points)]
        generated = self.generator.render(
            np.stack([f.crop for f in faces]), np.stack([f.points for f in faces]), motion, self.profile
        )
        return faces, generated

    def blend(
        self,
        frames: list[np.ndarray],
        faces: list[FaceCrop],
        generated: np.ndarray,
        strength: np.ndarray,
        *,
        inplace: bool = False,
    ) -> list[np.ndarray]:
        """Blend generated crops back into their frames with strength (n,) in (0, 1].

        A frame whose generated crop equals its input crop (the identity backend, or a mouth that needs
        no change) comes back bit-identical; in the others only pixels under the feathered lower-face
        mask change. ``inplace`` edits the given arrays (no full-frame copies).
        """
        out = []
        for frame, face, new_crop, alpha in zip(frames, faces, generated, strength):
            if np.array_equal(new_crop, face.crop):
                out.append(frame)
                continue
            mask = lower_face_mask(face.points, self.crop_size)
            out.append(paste(frame, new_crop, face.alignment, mask, strength=float(alpha), inplace=inplace))
        return out
