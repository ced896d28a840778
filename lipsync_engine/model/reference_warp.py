"""Warp a reference crop onto the target frame's geometry before the renderer sees it (opt-in per weights
file: ``RendererConfig.warp_reference``, ``lipsync train --warp-reference``).

A reference is another frame of the actor, chosen for its mouth code; its head is rarely posed as the
target's, and its mouth only approximates the wanted one. The warp moves the reference's head to the
target's (eyes, nose, cheeks and the outline at cheek height go to the target's own landmarks) and its
lips and jaw to the wanted mouth, with a ring outside the jaw line following the head so the neck and
collar under a moving chin stay put, and the crop border held still. The mapping is piecewise linear over
a Delaunay triangulation of those points, lightly smoothed so triangle edges leave no crease, and applied
backwards with ``cv2.remap``. Measured (docs/model.md, design comparison 5): the renderer follows the
wanted mouth more closely (cross-dub sync up) but its mouths are softer, and the seam barely moves, so the
shipped weights do not use it.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.interpolate import LinearNDInterpolator

from lipsync_engine.faces import topology
from lipsync_engine.model.mouth_shape import JAW, MOUTH_POINTS

# Points that follow the head but not the jaw: eyes, nose, the outline at cheek height, mid-cheeks.
HEAD_POINTS = topology.STABLE + (234, 93, 132, 361, 323, 454, 50, 280, 205, 425, 117, 346)
RING = 0.10  # fraction of S: how far outside the jaw line the warp of a moving jaw has faded out
BORDER_STEPS = 4  # fixed points per crop side
SMOOTH_SIGMA = 1.5  # pixels, Gaussian on the displacement field (hides triangle creases)


def warp_reference(reference: np.ndarray, reference_points: np.ndarray, target_points: np.ndarray,
                   wanted: np.ndarray) -> np.ndarray:
    """(S, S, C) reference warped so its head matches ``target_points`` and its mouth ``wanted``.

    ``reference_points`` and ``target_points`` are (468, 2) crop-pixel landmarks, ``wanted`` the (P, 2)
    normalised mouth shape (``mouth_shape.MOUTH_POINTS``) the renderer is asked for. The result has the
    reference's dtype; points that are not finite leave the reference as it is.
    """
    size = reference.shape[0]
    ref = np.asarray(reference_points, np.float64)
    tgt = np.asarray(target_points, np.float64)
    want = np.asarray(wanted, np.float64) * size
    if not (np.isfinite(ref).all() and np.isfinite(tgt).all() and np.isfinite(want).all()):
        return reference
    border = _border(size)
    src = np.concatenate([ref[list(HEAD_POINTS)], _ring(ref, size), ref[list(MOUTH_POINTS)], border])
    dst = np.concatenate([tgt[list(HEAD_POINTS)], _ring(tgt, size), want, border])
    map_x, map_y = _backward_map(src, dst, size)
    return cv2.remap(reference, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _ring(points: np.ndarray, size: int) -> np.ndarray:
    """Points RING of S outside the jaw line, away from the lips' centre: they follow the head, not the jaw,
    so the neck and collar below a moving chin stay where they are."""
    jaw = points[list(JAW)]
    away = jaw - points[list(topology.OUTER_LIPS)].mean(axis=0)
    away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-6)
    return jaw + away * RING * size


def _border(size: int) -> np.ndarray:
    edge = np.linspace(0.0, size - 1.0, BORDER_STEPS + 1)
    last = np.full_like(edge, size - 1.0)
    first = np.zeros_like(edge)
    return np.unique(np.concatenate([
        np.stack([edge, first], 1), np.stack([edge, last], 1), np.stack([first, edge], 1), np.stack([last, edge], 1),
    ]), axis=0)


def _backward_map(src: np.ndarray, dst: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 (S, S) maps: for each output pixel (target geometry), where to sample the reference."""
    _, keep = np.unique(np.round(dst, 3), axis=0, return_index=True)  # coincident points break Delaunay
    keep = np.sort(keep)
    field = LinearNDInterpolator(dst[keep], src[keep] - dst[keep], fill_value=0.0)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    shift = field(xs, ys).astype(np.float32)  # (S, S, 2): x, y displacement
    shift = cv2.GaussianBlur(shift, (0, 0), SMOOTH_SIGMA)
    return xs.astype(np.float32) + shift[..., 0], ys.astype(np.float32) + shift[..., 1]
