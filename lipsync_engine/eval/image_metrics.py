"""Image measures of the mouth region: fidelity (PSNR, SSIM), sharpness and flicker; foreign colours.

Inputs are (N, H, W) or (N, H, W, 3) uint8 mouth regions of aligned crops (``sync.mouth_box``).
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from lipsync_engine.model.colour_gamut import colour_cells, colour_grid

PSNR_CAP = 100.0  # dB reported for identical images


def _gray(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 4:
        images = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return images.astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 image stacks (all channels), capped at PSNR_CAP."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return PSNR_CAP if mse <= 10 ** (-PSNR_CAP / 10) * 255.0 ** 2 else float(10 * np.log10(255.0 ** 2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity (Gaussian window, sigma 1.5) of two uint8 image stacks, on luma."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for x, y in zip(_gray(a), _gray(b)):
        blur = lambda img: cv2.GaussianBlur(img, (11, 11), 1.5)  # noqa: E731
        mx, my = blur(x), blur(y)
        vx, vy, cov = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        num = (2 * mx * my + c1) * (2 * cov + c2)
        scores.append(float(np.mean(num / ((mx * mx + my * my + c1) * (vx + vy + c2)))))
    return float(np.mean(scores))


def sharpness(images: np.ndarray) -> float:
    """Mean variance of the Laplacian of luma: higher is sharper."""
    return float(np.mean([cv2.Laplacian(g, cv2.CV_32F).var() for g in _gray(images)]))


def flicker(images: np.ndarray) -> float:
    """Mean absolute luma change between consecutive frames (0-255 scale)."""
    gray = _gray(images)
    return float(np.mean(np.abs(np.diff(gray, axis=0)))) if len(gray) > 1 else 0.0


OUTLIER_REACH = 2.0  # grid cells a colour may lie from every real one before it counts as foreign


def colour_outliers(take: np.ndarray, real: np.ndarray, masks: np.ndarray) -> float:
    """Share of the (N, S, S, 3) uint8 take's pixels under its (N, S, S) masks (> 0.5) whose colour lies more
    than OUTLIER_REACH cells of the gamut guard's RGB grid (model/colour_gamut.py) from every colour the real
    crops show under the same masks: a colour the actor never shows there (a painted lipstick-red or magenta
    stroke). Real footage scores 0."""
    region = masks > 0.5
    if not region.any():
        return float("nan")
    distance = ndimage.distance_transform_edt(~colour_grid([real[region] / 255.0]))
    return float(np.mean(distance[tuple(colour_cells(take[region] / 255.0).T)] > OUTLIER_REACH))
