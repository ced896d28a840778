"""Mouth shape measures from face-mesh landmarks, per frame, scale-free.

All take (N, 468, 2) landmarks (any pixel frame) and return (N,) float arrays; distances are divided
by the outer-eye-corner distance so they compare across faces, crops and resolutions.
"""
from __future__ import annotations

import numpy as np

from lipsync_engine.faces import topology

CLOSED_OPENING = 0.06  # inner-lip gap over mouth width below this: lips closed (p/b/m, rest)
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
