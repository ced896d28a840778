"""Keep the frame's own cheeks: away from the mouth the painted crop takes the frame's colour and shading.

The renderer repaints its whole repaint mask (the lips and jaw hull, grown) from a reference of the
actor, so on the cheeks and along the jaw its colour and shading follow the reference's light and the
renderer's error, not the frame's. The eval read that as a colour step at the blend's edge (full eval
seam step 4.2 / 4.3 self / cross against 2.2-2.4 for baselines that paste the actor's own mouths; 1.8 / 1.8
with the hold) and as ghost edges on the cheeks. Speech moves the lips and the chin; the cheeks beside
them barely move.

``hold_cheeks`` takes away, outside the speech zone (the hull of the lips and the chin of the frame's
own and the wanted mouth: the jaw line without HOLD_JAW_TRIM points at each end), the painted crop's
difference from the frame's crop, low-passed over HOLD_SIGMA of the crop side. The low pass is a
normalised convolution that leaves the zone out, so the mouth's own change does not leak onto the
cheeks; the zone's edge fades over HOLD_FEATHER of the crop side. The low pass is about one crop pixel
wide, so the cheeks come back as the frame's own but for the renderer's finest (pixel-scale) detail;
wider low passes kept more of the renderer's shading there and measured worse (docs/model.md, design
comparison 8).
"""
from __future__ import annotations

import cv2
import numpy as np

from lipsync_engine.model.mouth_shape import hull_points

HOLD_SIGMA = 0.005  # Gaussian sigma of the low pass, fraction of S (about 1 px of a 192 px crop)
HOLD_FEATHER = 0.03  # fade from the speech zone's edge to a full hold, fraction of S
HOLD_JAW_TRIM = 4  # jaw points left out at each end of the jaw line (of 15): the zone keeps the chin's 7


def hold_cheeks(painted: np.ndarray, crop: np.ndarray, shapes: list[np.ndarray], mask: np.ndarray) -> np.ndarray:
    """(S, S, 3) float ``painted`` in [0, 1] with the low-passed difference from ``crop`` ((S, S, 3) uint8,
    the frame's own) taken out away from the speech zone of the (P, 2) normalised mouth ``shapes``, in
    proportion to the (S, S) repaint ``mask`` it was painted under: nothing outside the mask changes."""
    s = painted.shape[0]
    hold = cheek_weight(shapes, s)
    weight = hold * mask
    # painted - crop is mask * (network - crop), so this is the network's own error averaged with the
    # weight hold * mask: neither the zone's change nor the unpainted pixels outside the mask pull it down
    difference = (painted - crop.astype(np.float32) / 255.0) * hold[..., None]
    sigma = max(HOLD_SIGMA * s, 0.5)
    support = np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-3)
    low = cv2.GaussianBlur(difference, (0, 0), sigma) / support[..., None]
    return np.clip(painted - weight[..., None] * low, 0.0, 1.0)


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
