"""Affine warps into a small square that do not alias when they shrink a large frame (4K) a lot."""
from __future__ import annotations

import cv2
import numpy as np


def warp_to_square(image: np.ndarray, matrix: np.ndarray, size: int, border: int) -> np.ndarray:
    """Warp an HxW(xC) image by the 2x3 frame -> output ``matrix`` into a ``size`` x ``size`` image.

    Bilinear sampling alone skips pixels when the warp shrinks by more than 2x, turning grain and skin
    texture into noise. Then the part of the image the output covers is first area-averaged to about
    twice the output's resolution, and the (composed) warp finishes the job. ``border`` is an OpenCV
    border mode (BORDER_CONSTANT gives 0 outside the image).
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))  # output pixels per image pixel
    if scale >= 0.5:
        return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    h, w = image.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64)
    covered = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.maximum(np.floor(covered.min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(covered.max(0)).astype(int) + 2, (w, h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    factor = 0.5 / scale  # shrink so that the final warp halves the size
    sw, sh = max(1, round((x1 - x0) / factor)), max(1, round((y1 - y0) / factor))
    small = cv2.resize(image[y0:y1, x0:x1], (sw, sh), interpolation=cv2.INTER_AREA)
    # small pixel q = (p - origin) * (sx, sy)  =>  p = q / (sx, sy) + origin
    sx, sy = sw / (x1 - x0), sh / (y1 - y0)
    composed = np.empty((2, 3))
    composed[:, 0] = matrix[:, 0] / sx
    composed[:, 1] = matrix[:, 1] / sy
    composed[:, 2] = matrix[:, 2] + matrix[:, 0] * x0 + matrix[:, 1] * y0
    return cv2.warpAffine(small, composed, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
