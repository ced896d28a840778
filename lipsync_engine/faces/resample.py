"""Affine warps into a small square that do not alias when they shrink a large frame (4K) a lot."""
from __future__ import annotations

import cv2
import numpy as np


def warp_to_square(image: np.ndarray, matrix: np.ndarray, size: int, border: int) -> np.ndarray:
    """Warp an HxW(xC) image by the 2x3 frame -> output ``matrix`` into a ``size`` x ``size`` image.

    Bilinear sampling alone skips pixels when the warp shrinks by more than 2x, turning grain and skin
    texture into noise. Then the part of the image the output covers is first area-averaged by an
    integer factor to 1.3x-2x the output's resolution, and the (composed) warp finishes the
    job. ``border`` is an OpenCV border mode (BORDER_CONSTANT gives 0 outside the image).
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))  # output pixels per image pixel
    if scale >= 0.5:
        return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    h, w = image.shape[:2]
    k = int(np.ceil(0.5 / scale))  # integer shrink (OpenCV's fast area path); the warp then shrinks 1.3x-2x
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64)
    covered = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.maximum(np.floor(covered.min(0)).astype(int) - k, 0)
    x1, y1 = np.minimum(np.ceil(covered.max(0)).astype(int) + k, (w, h))
    x1, y1 = x0 + (x1 - x0) // k * k, y0 + (y1 - y0) // k * k
    if x1 - x0 < 2 * k or y1 - y0 < 2 * k:
        return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    small = cv2.resize(image[y0:y1, x0:x1], ((x1 - x0) // k, (y1 - y0) // k), interpolation=cv2.INTER_AREA)
    # small pixel q holds image pixels [k q, k q + k) from the origin, centred at k q + (k - 1) / 2
    composed = np.empty((2, 3))
    composed[:, :2] = matrix[:, :2] * k
    composed[:, 2] = matrix[:, 2] + matrix[:, :2] @ np.array([x0 + (k - 1) / 2.0, y0 + (k - 1) / 2.0])
    return cv2.warpAffine(small, composed, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
