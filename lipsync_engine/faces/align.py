"""Similarity alignment of a face to a fixed crop framing, and its exact inverse."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lipsync_engine.faces import topology
from lipsync_engine.faces.resample import warp_to_square

# Stable landmarks in face units: eye centres at (-0.5, 0) and (+0.5, 0), y grows down. Measured as the
# left-right symmetric mean over frontal frames of the development clips.
_TEMPLATE = {
    33: (-0.72, 0.0), 133: (-0.28, 0.0), 362: (0.28, 0.0), 263: (0.72, 0.0),
    168: (0.0, -0.10), 6: (0.0, 0.05), 197: (0.0, 0.18), 195: (0.0, 0.30), 5: (0.0, 0.42),
    4: (0.0, 0.58), 1: (0.0, 0.70), 2: (0.0, 0.82), 98: (-0.28, 0.79), 327: (0.28, 0.79),
}
# The crop spans forehead to below the chin: side = CROP_SIDE face units, centred at CROP_CENTRE.
CROP_SIDE = 3.4
CROP_CENTRE = (0.0, 0.75)
# Eye corners anchor roll and scale best; nose points keep the crop centred under yaw.
_WEIGHTS = np.array([2.0, 2.0, 2.0, 2.0] + [1.0] * len(topology.NOSE), dtype=np.float64)


@dataclass(frozen=True)
class Alignment:
    """A 2x3 similarity that maps full-frame pixel coordinates (x, y) into a ``size`` x ``size`` crop."""

    matrix: np.ndarray  # (2, 3) float64, frame -> crop
    size: int

    @property
    def inverse(self) -> np.ndarray:
        """(2, 3) float64 crop -> frame matrix."""
        return cv2.invertAffineTransform(self.matrix)

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel."""
        return float(np.hypot(self.matrix[0, 0], self.matrix[1, 0]))

    def crop(self, frame: np.ndarray) -> np.ndarray:
        """Warp an HxWxC frame (uint8 or uint16) into the ``size`` x ``size`` x C crop (bilinear, edge-replicated;
        area-averaged first where the face is over twice the crop's size, e.g. at 4K)."""
        return warp_to_square(frame, self.matrix, self.size, cv2.BORDER_REPLICATE)

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 2) frame pixel coordinates to crop coordinates."""
        return points @ self.matrix[:, :2].T + self.matrix[:, 2]

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 2) crop coordinates back to frame pixel coordinates."""
        inv = self.inverse
        return points @ inv[:, :2].T + inv[:, 2]


def align_face(points: np.ndarray, size: int) -> Alignment:
    """Fit the crop framing to (468, 2) landmark pixel coordinates; returns the frame -> crop Alignment."""
    src = np.asarray(points, dtype=np.float64)[list(_TEMPLATE)]
    unit = np.array(list(_TEMPLATE.values()), dtype=np.float64)
    # Template in crop pixels.
    dst = ((unit - np.array(CROP_CENTRE)) / CROP_SIDE + 0.5) * size
    return Alignment(matrix=_weighted_similarity(src, dst, _WEIGHTS), size=size)


def _weighted_similarity(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) mapping src -> dst with point weights."""
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    s, d = src - mu_s, dst - mu_d
    cov = (d * w[:, None]).T @ s
    u, sig, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u @ vt)) or 1.0
    corr = np.diag([1.0, sign])
    rot = u @ corr @ vt
    var_s = (w * (s ** 2).sum(1)).sum()
    scale = (sig * np.diag(corr)).sum() / var_s
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m
