"""Crop faces, run the generator on a batch, and blend its mouths back into the full frames."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from lipsync_engine.blend import lower_face_mask, paste
from lipsync_engine.errors import InputError
from lipsync_engine.faces.align import Alignment, align_face
from lipsync_engine.generator.base import ActorProfile, Generator
from lipsync_engine.media.native import ChangedRegion

# Frame pixels added around a crop's footprint: paste's bilinear warp reaches at most a pixel or two past it.
FOOTPRINT_MARGIN = 4


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


def blend_device(choice: str, generator: Generator) -> str | None:
    """Where a render blends (RenderOptions.blend): a torch device for the device paste, None for numpy's.

    "cpu": numpy on the caller's thread. "device": torch on the generator's device (its engine's "cpu" or
    "cuda:N"; the CPU for a generator without a local engine, e.g. Triton's or identity). "auto": the
    device paste only where the generator runs on a CUDA GPU that torch can use.
    """
    engine_device = str(getattr(getattr(generator, "engine", None), "device", "cpu"))  # engines say "cuda:N"
    on_cuda = engine_device.partition(":")[0] == "cuda"
    if choice == "cpu" or (choice == "auto" and not on_cuda):
        return None
    if not on_cuda:
        return "cpu"
    import torch  # only for the device paste

    if torch.cuda.is_available():
        return engine_device
    if choice == "auto":
        return None
    raise InputError(f"blend 'device' needs torch with CUDA for the generator's '{engine_device}' "
                     f"(this torch sees no GPU); use blend 'cpu' or 'auto'")


class Compositor:
    """Drives one generator over batches of frames of one actor.

    ``blend_on``: the torch device that pastes the generated mouths into the frames (device_paste), or
    None for numpy's paste (see ``blend_device``).
    """

    def __init__(self, generator: Generator, profile: ActorProfile, crop_size: int,
                 blend_on: str | None = None) -> None:
        self.generator = generator
        self.profile = profile
        self.crop_size = crop_size
        self._paste = paste
        if blend_on is not None:
            from lipsync_engine.blend.device_paste import device_paste  # imports torch

            self._paste = partial(device_paste, device=blend_on)

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
    ) -> list[tuple[np.ndarray, ChangedRegion | None]]:
        """Blend generated crops back into their frames with strength (n,) in (0, 1].

        Returns each blended frame with the region where it now differs from the input (None: nowhere),
        found by comparing the crop's footprint only, so a writer can keep the source's own samples
        everywhere else. A frame whose generated crop equals its input crop (the identity backend, or a
        mouth that needs no change) comes back bit-identical; in the others only pixels under the
        feathered lower-face mask change. ``inplace`` edits the given arrays (no full-frame copies).
        """
        out = []
        for frame, face, new_crop, alpha in zip(frames, faces, generated, strength):
            if np.array_equal(new_crop, face.crop):
                out.append((frame, None))
                continue
            x0, y0, x1, y1 = _footprint(face.alignment, frame.shape)
            before = frame[y0:y1, x0:x1].copy()
            mask = lower_face_mask(face.points, self.crop_size)
            blended = self._paste(frame, new_crop, face.alignment, mask, strength=float(alpha), inplace=inplace)
            out.append((blended, ChangedRegion.between(before, blended[y0:y1, x0:x1], x0, y0)))
        return out


def _footprint(alignment: Alignment, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Frame box (x0, y0, x1, y1), exclusive ends, holding every pixel a paste of this crop can change:
    the crop square mapped into the frame, widened by FOOTPRINT_MARGIN for the warp's interpolation."""
    size = alignment.size
    corners = alignment.to_frame(np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64))
    height, width = shape[:2]
    x0 = max(0, int(np.floor(corners[:, 0].min())) - FOOTPRINT_MARGIN)
    y0 = max(0, int(np.floor(corners[:, 1].min())) - FOOTPRINT_MARGIN)
    x1 = min(width, int(np.ceil(corners[:, 0].max())) + FOOTPRINT_MARGIN)
    y1 = min(height, int(np.ceil(corners[:, 1].max())) + FOOTPRINT_MARGIN)
    return x0, y0, max(x0, x1), max(y0, y1)
