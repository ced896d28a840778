"""The feathered lower-face mask: where a generated mouth may replace the source pixels."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lipsync_engine.errors import InputError
from lipsync_engine.faces import topology


@dataclass(frozen=True)
class MaskConfig:
    """Shape of the mask, in units of the face's cheek-to-cheek width at nose height."""

    grow: float = 0.06  # the outline is pushed outwards by this much all round
    jaw_drop: float = 0.25  # and the part below the mouth further down by this much, for an opened jaw
    feather: float = 0.12  # width of the soft edge, inside the grown outline


def lower_face_mask(points_crop: np.ndarray, size: int, config: MaskConfig = MaskConfig()) -> np.ndarray:
    """(size, size) float32 mask in [0, 1] from (468, 2) crop-pixel landmarks.

    1 over the mouth and lower face (below the nose, cheek to cheek, round the chin, grown so that an
    opened mouth or lowered jaw stays inside), falling smoothly to exactly 0 at its outline and at the crop
    border, so the pasted crop's edges never show.
    """
    pts = np.asarray(points_crop, dtype=np.float64)
    if pts.shape != (468, 2) or not np.isfinite(pts).all():
        raise InputError(f"expected finite (468, 2) crop landmarks, got shape {pts.shape}")
    outline = pts[list(topology.MASK_OUTLINE)]
    width = float(np.linalg.norm(pts[topology.MASK_OUTLINE[0]] - pts[topology.MASK_OUTLINE[18]]))
    centre = pts[list(topology.OUTER_LIPS)].mean(0)
    # Push each outline point away from the mouth centre; points below the mouth line go further down.
    down = pts[topology.CHIN] - pts[topology.NOSE_TIP]
    down /= max(np.linalg.norm(down), 1e-6)
    away = outline - centre
    away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-6)
    below = np.clip((outline - centre) @ down / max(width * 0.25, 1e-6), 0.0, 1.0)[:, None]
    grown = outline + away * config.grow * width + down * below * config.jaw_drop * width
    # Rasterise with 1 px of zero border so the distance to the crop edge counts as outside.
    shape = np.zeros((size + 2, size + 2), dtype=np.uint8)
    cv2.fillPoly(shape, [np.round((grown + 1.0) * 4).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=2)
    shape[[0, -1], :] = 0
    shape[:, [0, -1]] = 0
    inside = cv2.distanceTransform(shape, cv2.DIST_L2, 5)[1:-1, 1:-1] - 1.0  # 0 on the outline's pixels
    t = np.clip(inside / max(config.feather * width, 1.0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep: no visible kink at either end
