"""How visible the blend is: the take as the viewer sees it, along the mask's soft edge and on the cheeks.

The harness's takes are already blended into the real crops as the pipeline blends them into the frame
(``harness.viewer_crops``: ``blend.paste`` under the feathered lower-face mask), so what is measured is
what a render would show. Two measures of the mask's edge band (where the mask is between 0 and 1,
widened by BAND_GROW so a hard edge at the outline counts too):

- ``edge_ratio``: 1 + the luma gradient the take adds over the original's in the band (per pixel, where
  the take's is stronger) over the original's gradient there, in the worst of SECTORS angular parts of
  the band (a seam on one cheek shows; the jaw line or a collar elsewhere does not dilute it).
  1 = no added edge, > 1 = a seam; softer texture cannot hide a seam (it counts 0, not negative).
- ``colour_step``: the low-passed colour difference take - original (RGB levels of 255) on a rim just
  inside the band minus on a rim just outside it: the step a viewer sees across the edge (0 = none).

and one further in, ``ghost_ratio``: the gradient the take adds on the cheeks, away from lips and jaw line.
"""
from __future__ import annotations

import cv2
import numpy as np

from lipsync_engine.faces import topology

EDGE_LOW, EDGE_HIGH = 0.02, 0.98  # mask values that bound its soft edge
BAND_GROW = 2  # pixels the edge band is widened by on both sides
RIM = 3  # pixels: width of the rims just inside and just outside the band
SECTORS = 12  # the edge band is split by angle round the mask's centre; a seam on one cheek shows
STEP_SIGMA = 2.0  # pixels: Gaussian that removes texture and grain from the colour difference
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def edge_band(mask: np.ndarray) -> np.ndarray:
    """(S, S) bool: the mask's soft edge, widened by BAND_GROW pixels."""
    soft = ((mask > EDGE_LOW) & (mask < EDGE_HIGH)).astype(np.uint8)
    return cv2.dilate(soft, _disc(BAND_GROW)) > 0


def edge_ratio(take: np.ndarray, original: np.ndarray, masks: np.ndarray) -> float:
    """Mean over frames of the worst SECTORS part of the edge band: 1 + gradient ``take`` adds over
    ``original`` there (per pixel, where the take's is stronger), over the original's gradient there."""
    ratios = []
    for t, o, m in zip(take, original, masks):
        band = edge_band(m)
        if not band.any():
            continue
        ys, xs = np.nonzero(band)
        centre = np.array([m.sum(axis=1) @ np.arange(len(m)), m.sum(axis=0) @ np.arange(len(m))]) / m.sum()
        angle = np.arctan2(ys - centre[0], xs - centre[1]) + np.pi
        sector = (angle / (2 * np.pi) * SECTORS).astype(int) % SECTORS
        g_take, g_source = _gradient(t)[band], _gradient(o)[band]
        added = np.bincount(sector, np.maximum(g_take - g_source, 0.0), SECTORS)
        source = np.bincount(sector, g_source, SECTORS)
        used = source > 0
        if used.any():
            ratios.append(1.0 + float(np.max(added[used] / source[used])))
    return float(np.mean(ratios)) if ratios else float("nan")


def colour_step(take: np.ndarray, original: np.ndarray, masks: np.ndarray) -> float:
    """Mean over frames of the low-passed |take - original| (RGB levels) just inside the edge minus just outside."""
    steps = []
    for t, o, m in zip(take, original, masks):
        band = edge_band(m)
        if not band.any():
            continue
        near = cv2.dilate(band.astype(np.uint8), _disc(RIM)) > 0
        inner, outer = near & ~band & (m >= EDGE_HIGH), near & ~band & (m <= EDGE_LOW)
        if not inner.any() or not outer.any():
            continue
        diff = cv2.GaussianBlur(t.astype(np.float32) - o.astype(np.float32), (0, 0), STEP_SIGMA)
        size = np.linalg.norm(diff, axis=2)
        steps.append(float(size[inner].mean() - size[outer].mean()))
    return float(np.mean(steps)) if steps else float("nan")


GHOST_MARGIN = 0.04  # fraction of S kept clear round the lips and along the jaw line, where edges may move


def ghost_ratio(take: np.ndarray, original: np.ndarray, masks: np.ndarray, real_points: np.ndarray,
                take_points: np.ndarray) -> float:
    """Mean over frames of 1 + the luma gradient ``take`` adds over ``original`` on the cheeks, over the
    original's gradient there (1 = no added edge).

    The cheeks: where the blend mask is full, away from the lips and the jaw line of both the real and the
    taken face (``GHOST_MARGIN``), where a moving mouth legitimately adds or moves edges. What is left of
    the lower face should not change, so an edge added there is a ghost: a reference's silhouette, earring
    or collar painted onto the cheek, which the blend edge measures cannot see. Frames whose landmarks are
    not finite are skipped.
    """
    ratios = []
    size = take.shape[1]
    margin = max(1, round(GHOST_MARGIN * size))
    for t, o, m, pr, pt in zip(take, original, masks, real_points, take_points):
        if not (np.isfinite(pr).all() and np.isfinite(pt).all()):
            continue
        moving = np.zeros(m.shape, np.uint8)
        for p in (pr, pt):
            cv2.fillPoly(moving, [np.round(p[list(topology.OUTER_LIPS)]).astype(np.int32)], 1)
            cv2.polylines(moving, [np.round(p[list(topology.LOWER_FACE)]).astype(np.int32)], False, 1)
        cheeks = (m >= EDGE_HIGH) & (cv2.dilate(moving, _disc(margin)) == 0)
        g_source = _gradient(o)[cheeks]
        if g_source.sum() > 0:
            ratios.append(1.0 + float(np.maximum(_gradient(t)[cheeks] - g_source, 0.0).sum() / g_source.sum()))
    return float(np.mean(ratios)) if ratios else float("nan")


def _gradient(rgb: np.ndarray) -> np.ndarray:
    luma = rgb.astype(np.float32) @ _LUMA
    return np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3))


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
