"""Mouth shape measures from face-mesh landmarks, per frame, scale-free.

All take (N, 468, 2) landmarks (any pixel frame) and return per-frame float arrays (or their means);
distances are divided by the outer-eye-corner distance so they compare across faces, crops and resolutions.
"""
from __future__ import annotations

import numpy as np

from lipsync_engine.faces import topology

CLOSED_OPENING = 0.06  # inner-lip gap over mouth width below this: lips closed (p/b/m, rest)
# Where the lip line crosses the inner-lip gap, as a fraction of it from the upper lip. Opening the jaw
# lowers the mouth corners by about this share of the gap, so corner lift measured against this line
# barely follows speech (median correlation with opening over 40 cached clips: -0.03; with 0.2: -0.70,
# with the gap centre 0.5: up to +0.9) and moves with smiles and frowns instead.
LIP_LINE = 0.35
LIP_POINTS = np.array(topology.OUTER_LIPS + topology.INNER_LIPS)


def _dist(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(points[:, a] - points[:, b], axis=-1)


def eye_distance(points: np.ndarray) -> np.ndarray:
    """(N,) outer eye corner distance in the points' pixels: the face scale."""
    return _dist(points, topology.LEFT_EYE[0], topology.RIGHT_EYE[1])


def opening(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap over mouth width: 0 closed, about 0.5 wide open."""
    gap = _dist(points, topology.UPPER_LIP_INNER, topology.LOWER_LIP_INNER)
    return gap / np.maximum(_dist(points, topology.MOUTH_LEFT, topology.MOUTH_RIGHT), 1e-6)


def width(points: np.ndarray) -> np.ndarray:
    """Mouth corner distance over eye distance (spread lips wide, rounded lips narrow)."""
    return _dist(points, topology.MOUTH_LEFT, topology.MOUTH_RIGHT) / np.maximum(eye_distance(points), 1e-6)


def rounding(points: np.ndarray) -> np.ndarray:
    """Outer lip height over mouth width: high for rounded 'oo'/'o', low for spread 'ee'."""
    height = _dist(points, topology.UPPER_LIP_OUTER, topology.LOWER_LIP_OUTER)
    return height / np.maximum(_dist(points, topology.MOUTH_LEFT, topology.MOUTH_RIGHT), 1e-6)


def corner_lift(points: np.ndarray) -> np.ndarray:
    """Height of the mouth corners above the lip line, over eye distance: > 0 smiling, < 0 frowning.

    Measured along the face's vertical (perpendicular to the eye line), so head roll does not change it.
    """
    scale = np.maximum(eye_distance(points), 1e-6)
    eyes = points[:, topology.RIGHT_EYE[1]] - points[:, topology.LEFT_EYE[0]]
    down = np.stack([-eyes[:, 1], eyes[:, 0]], axis=-1) / scale[:, None]
    upper, lower = points[:, topology.UPPER_LIP_INNER], points[:, topology.LOWER_LIP_INNER]
    line = upper + LIP_LINE * (lower - upper)
    corners = 0.5 * (points[:, topology.MOUTH_LEFT] + points[:, topology.MOUTH_RIGHT])
    return np.sum((line - corners) * down, axis=-1) / scale


def expression(points: np.ndarray) -> np.ndarray:
    """(N, 2) the mouth's expression: corner lift and width (both over eye distance)."""
    return np.stack([corner_lift(points), width(points)], axis=-1)


def expression_error(take: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(2,) mean |corner lift| and |width| differences of two (N, 2) ``expression`` series, frame for frame."""
    return _nanmean(np.abs(take - reference))


def expression_shift(take: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(2,) mean corner lift and width of (N, 2) ``expression`` rows minus those of ``reference`` (any frames):
    > 0 lift = the mouth smiles more than in the reference footage, > 0 width = it is wider."""
    return _nanmean(take) - _nanmean(reference)


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Column means of (N, K) over finite rows; NaN when there are none."""
    finite = values[np.isfinite(values).all(axis=1)]
    return finite.mean(axis=0) if len(finite) else np.full(values.shape[1], np.nan)


def closed(points: np.ndarray) -> np.ndarray:
    """(N,) bool: lips touching."""
    return opening(points) < CLOSED_OPENING


def lip_distance(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mean distance of the lip points to the reference's after aligning their centres, over eye distance."""
    a = points[:, LIP_POINTS] - points[:, LIP_POINTS].mean(axis=1, keepdims=True)
    b = reference[:, LIP_POINTS] - reference[:, LIP_POINTS].mean(axis=1, keepdims=True)
    return np.linalg.norm(a - b, axis=-1).mean(axis=1) / np.maximum(eye_distance(reference), 1e-6)


def lip_speed(points: np.ndarray) -> np.ndarray:
    """(N-1,) mean frame-to-frame motion of the lip points relative to the mouth centre, over eye distance."""
    local = points[:, LIP_POINTS] - points[:, LIP_POINTS].mean(axis=1, keepdims=True)
    step = np.linalg.norm(np.diff(local, axis=0), axis=-1).mean(axis=1)
    return step / np.maximum(eye_distance(points[1:]), 1e-6)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two equal-length series, ignoring NaNs; NaN when either is constant."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
