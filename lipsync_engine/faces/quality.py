"""Is a measured face usable for lip-sync? Size, head turn and completeness checks shared by images and video."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipsync_engine.faces import topology

# Reasons a face (or a frame) is not used; they travel into reports unchanged.
NO_FACE = "no_face"
FACE_TOO_SMALL = "face_too_small"
FACE_TURNED = "face_turned"
FACE_CUT_OFF = "face_cut_off"
FACE_OCCLUDED = "face_occluded"  # something covers the mouth (see occlusion.py)

# Points the crop and the mask rely on: they must all lie inside the frame.
_NEEDED = sorted(set(topology.STABLE + topology.OUTER_LIPS + topology.LOWER_FACE))


@dataclass(frozen=True)
class FaceRules:
    """Thresholds that decide whether a face is usable."""

    min_eye_distance: float = 30.0  # px between the eye centres (a face about 70 px wide); below: face_too_small
    max_yaw_deg: float = 50.0  # estimated head turn left/right; beyond it: face_turned
    background_face_ratio: float = 0.4  # faces narrower than this fraction of the largest are background, ignored
    edge_margin: float = 0.0  # px: needed points closer than this to the frame border count as cut off


def eye_distance(points: np.ndarray) -> float:
    """Distance in pixels between the two eye centres of (468, 2) landmarks."""
    left = points[list(topology.LEFT_EYE)].mean(0)
    right = points[list(topology.RIGHT_EYE)].mean(0)
    return float(np.linalg.norm(right - left))


def yaw_degrees(points: np.ndarray) -> float:
    """Head turn estimated from the nose's offset along the eye line, in degrees (0 = frontal).

    The nose tip sits in front of the eye plane by about 0.6 eye-centre distances D, so a turn by yaw shifts
    it sideways by 0.6 * D * sin(yaw) from the eye midpoint while the eyes appear D * cos(yaw) apart: the
    measured ratio is 0.6 * tan(yaw) (sign: + = nose towards image right).
    """
    left = points[list(topology.LEFT_EYE)].mean(0)
    right = points[list(topology.RIGHT_EYE)].mean(0)
    axis = right - left
    dist = float(np.linalg.norm(axis))
    if dist < 1e-6:
        return 90.0
    offset = float((points[topology.NOSE_TIP] - (left + right) / 2.0) @ axis) / dist
    return float(np.degrees(np.arctan(offset / (_NOSE_DEPTH * dist))))


_NOSE_DEPTH = 0.6


def face_problem(points: np.ndarray, frame_shape: tuple[int, ...], rules: FaceRules = FaceRules()) -> str | None:
    """Why (468, 2) frame-pixel landmarks are unusable in a frame of ``frame_shape`` (H, W, ...), or None."""
    h, w = frame_shape[:2]
    needed = points[_NEEDED]
    m = rules.edge_margin
    if (needed[:, 0] < m).any() or (needed[:, 1] < m).any() or (needed[:, 0] > w - 1 - m).any() \
            or (needed[:, 1] > h - 1 - m).any():
        return FACE_CUT_OFF
    if eye_distance(points) < rules.min_eye_distance:
        return FACE_TOO_SMALL
    if abs(yaw_degrees(points)) > rules.max_yaw_deg:
        return FACE_TURNED
    return None
