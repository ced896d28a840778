"""Keep the frame's own cheeks: away from the lips and chin the painted crop gives way to the frame's crop.

The renderer repaints its whole repaint mask (the lips and jaw hull, grown) from a reference of the
actor, so on the cheeks and along the jaw its colour, shading and texture follow the reference's light and
the renderer's error, not the frame's. The eval read that as a colour step at the blend's edge (full eval
seam step 4.2 / 4.3 self / cross against 2.2-2.4 for baselines that paste the actor's own mouths) and as
ghost edges on the cheeks. Speech moves the lips and the chin; the cheeks beside them barely move.

``hold_cheeks`` blends the painted crop back to the frame's crop outside the speech zone (the hull of the
lips and the chin of the frame's own and the wanted mouth: the jaw line without HOLD_JAW_TRIM points at
each end), fading from the zone's edge over HOLD_FEATHER of the crop side. There the blend keeps the
frame's own pixels, so ``blend.paste`` keeps the source's full-resolution detail too. Holding only the
renderer's low-passed difference (a normalised convolution over 3 down to 0.5 crop pixels) kept some of its
texture on the cheeks and measured worse the more it kept (docs/model.md, design comparison 8).
"""
from __future__ import annotations

import cv2
import numpy as np

from lipsync_engine.model.mouth_shape import hull_points

HOLD_FEATHER = 0.03  # fade from the speech zone's edge to a full hold, fraction of S
HOLD_JAW_TRIM = 4  # jaw points left out at each end of the jaw line (of 15): the zone keeps the chin's 7


def hold_cheeks(painted: np.ndarray, crop: np.ndarray, shapes: list[np.ndarray]) -> np.ndarray:
    """(S, S, 3) float ``painted`` in [0, 1] blended back to ``crop`` ((S, S, 3) uint8, the frame's own) by
    ``cheek_weight`` of the (P, 2) normalised mouth ``shapes``: the frame's pixels away from lips and chin."""
    hold = cheek_weight(shapes, painted.shape[0])[..., None]
    return painted + hold * (crop.astype(np.float32) / 255.0 - painted)


def cheek_weight(shapes: list[np.ndarray], crop_size: int) -> np.ndarray:
    """(S, S) float32: 0 on the speech zone of the (P, 2) normalised mouth ``shapes``, smoothstep up to 1
    at HOLD_FEATHER of S outside it."""
    s = crop_size
    points = np.concatenate([hull_points(shape, HOLD_JAW_TRIM) for shape in shapes]) * s
    zone = np.zeros((s, s), np.uint8)
    cv2.fillConvexPoly(zone, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    outside = cv2.distanceTransform(1 - zone, cv2.DIST_L2, 5)
    t = np.clip(outside / max(HOLD_FEATHER * s, 1.0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)
