"""Zero-phase temporal smoothing of a face track, done once the whole shot is known.

Each frame's 468 points are split into a head pose (a 2-D similarity fitted to the stable points: eye
corners and nose) and a local shape in the head's own frame. The pose is smoothed strongly, the local
shape of the rigid face lightly, and the mouth and jaw hardly at all, so jitter goes without lagging or
damping speech. The filter is a Savitzky-Golay fit (polynomial least squares over a centred window): no
phase lag, and it follows steady motion exactly. It never crosses a run boundary (a lost face, a cut).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipsync_engine.faces import topology


@dataclass(frozen=True)
class SmoothingConfig:
    """Window lengths in seconds (converted to odd frame counts at the shot's fps)."""

    pose_window_s: float = 0.36  # head position, scale, roll
    shape_window_s: float = 0.20  # rigid face shape (eyes, brows, nose, outline above the mouth)
    mouth_window_s: float = 0.08  # lips and jaw: at 25 fps 3 frames, i.e. almost none
    polyorder: int = 2


# Lips and jaw move with speech; everything else moves only with the head.
_SPEECH_POINTS = sorted(set(topology.OUTER_LIPS + topology.INNER_LIPS + topology.LOWER_FACE + topology.MOUTH_AREA))


def savgol(x: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    """Savitzky-Golay smoothing along axis 0 of (T, ...) float data; edges use the end windows' fits."""
    t = len(x)
    window = min(window, t if t % 2 else t - 1)
    if window < 3 or window <= polyorder:
        return x.copy()
    polyorder = min(polyorder, window - 1)
    pos = np.arange(window, dtype=np.float64) - window // 2
    vander = pos[:, None] ** np.arange(polyorder + 1)
    hat = vander @ np.linalg.pinv(vander)  # (window, window): row k evaluates the fit at window position k
    flat = x.reshape(t, -1).astype(np.float64)
    out = np.empty_like(flat)
    half = window // 2
    # Interior: every sample from its centred window.
    windows = np.lib.stride_tricks.sliding_window_view(flat, window, axis=0)  # (t - window + 1, D, window)
    out[half:t - half] = windows @ hat[half]
    out[:half] = hat[:half] @ flat[:window]
    out[t - half:] = hat[half + 1:] @ flat[t - window:]
    return out.reshape(x.shape).astype(x.dtype)


def fit_pose(points: np.ndarray) -> np.ndarray:
    """Per-frame similarity from the mean stable shape to each frame: (T, 468, 2) -> (T, 4) = (a, b, tx, ty).

    A canonical point (u, v) maps to the frame as x = a*u - b*v + tx, y = b*u + a*v + ty.
    """
    stable = points[:, list(topology.STABLE)].astype(np.float64)  # (T, K, 2)
    centre = stable.mean(1, keepdims=True)
    ref = stable.mean(0)
    ref = ref - ref.mean(0)
    ref = ref / np.sqrt((ref ** 2).sum())
    d = stable - centre
    a = (d * ref).sum((1, 2))
    b = (d[..., 1] * ref[..., 0] - d[..., 0] * ref[..., 1]).sum(1)
    return np.stack([a, b, centre[:, 0, 0], centre[:, 0, 1]], 1)


def to_local(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Frame points (T, P, 2) -> canonical local shape under (T, 4) poses."""
    a, b, tx, ty = (pose[:, i, None] for i in range(4))
    dx, dy = points[..., 0] - tx, points[..., 1] - ty
    det = a * a + b * b
    return np.stack([(a * dx + b * dy) / det, (-b * dx + a * dy) / det], -1)


def to_frame(local: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Canonical local shape (T, P, 2) -> frame points under (T, 4) poses."""
    a, b, tx, ty = (pose[:, i, None] for i in range(4))
    u, v = local[..., 0], local[..., 1]
    return np.stack([a * u - b * v + tx, b * u + a * v + ty], -1)


def smooth_run(points: np.ndarray, fps: float, config: SmoothingConfig = SmoothingConfig()) -> np.ndarray:
    """Smooth one unbroken run of (T, 468, 2) frame-pixel points; returns float32 (T, 468, 2)."""
    if len(points) < 3:
        return points.astype(np.float32)
    pose = fit_pose(points)
    local = to_local(points.astype(np.float64), pose)
    pose = savgol(pose, _frames(config.pose_window_s, fps), config.polyorder)
    smooth_local = savgol(local, _frames(config.shape_window_s, fps), config.polyorder)
    smooth_local[:, _SPEECH_POINTS] = savgol(local[:, _SPEECH_POINTS], _frames(config.mouth_window_s, fps),
                                             config.polyorder)
    return to_frame(smooth_local, pose).astype(np.float32)


def interpolate_gap(before: np.ndarray, after: np.ndarray, count: int) -> np.ndarray:
    """``count`` frames of points between two (468, 2) frames, interpolated in pose and local shape."""
    ends = np.stack([before, after]).astype(np.float64)
    pose = fit_pose(ends)
    local = to_local(ends, pose)
    w = (np.arange(1, count + 1) / (count + 1))[:, None]
    pose_i = pose[0] * (1 - w) + pose[1] * w
    local_i = local[0][None] * (1 - w[..., None]) + local[1][None] * w[..., None]
    return to_frame(local_i, pose_i).astype(np.float32)


def _frames(seconds: float, fps: float) -> int:
    """Odd frame count closest to ``seconds`` at ``fps`` (at least 1)."""
    n = max(1, round(seconds * fps))
    return n if n % 2 else n + 1
