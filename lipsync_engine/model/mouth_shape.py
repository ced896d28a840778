"""Mouth geometry shared by training and inference: the mouth-motion code, shape maps and repaint masks.

Coordinates are aligned-crop coordinates divided by the crop side (so 0..1 across the crop, independent
of S). A mouth shape is the (P, 2) array of ``MOUTH_POINTS``. Motion is the displacement of that shape
from the actor's own closed rest shape, so it carries speech but not identity; the code is its
projection on an uncentred PCA basis, so code 0 is the closed rest mouth.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lipsync_engine.faces import topology

JAW = (58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288)
MOUTH_POINTS = topology.OUTER_LIPS + topology.INNER_LIPS + JAW
_OUTER = slice(0, len(topology.OUTER_LIPS))
_INNER = slice(_OUTER.stop, _OUTER.stop + len(topology.INNER_LIPS))
_JAW = slice(_INNER.stop, _INNER.stop + len(JAW))
NOSE_BASE = (2, 98, 327)  # under the nose: moves with the head, not with speech
REST_QUANTILE = 0.15  # frames whose mouth opening is at most this quantile define the closed rest shape


def mouth_shape(points: np.ndarray, crop_size: int) -> np.ndarray:
    """(..., 468, 2) crop pixel landmarks -> (..., P, 2) float32 normalised mouth shape."""
    return (np.asarray(points, dtype=np.float32)[..., MOUTH_POINTS, :] / crop_size).astype(np.float32)


def nose_anchor(points: np.ndarray, crop_size: int) -> np.ndarray:
    """(..., 468, 2) crop pixel landmarks -> (..., 2) float32 normalised point under the nose."""
    return (np.asarray(points, dtype=np.float32)[..., NOSE_BASE, :].mean(axis=-2) / crop_size).astype(np.float32)


def mouth_opening(shapes: np.ndarray) -> np.ndarray:
    """(..., P, 2) shapes -> (...,) inner-lip gap (upper to lower lip centre), normalised units."""
    inner = shapes[..., _INNER, :]
    mid_upper, mid_lower = topology.INNER_LIPS.index(topology.UPPER_LIP_INNER), topology.INNER_LIPS.index(
        topology.LOWER_LIP_INNER
    )
    return inner[..., mid_lower, 1] - inner[..., mid_upper, 1]


@dataclass(frozen=True)
class RestPose:
    """An actor's closed rest mouth in normalised crop coordinates."""

    shape: np.ndarray  # (P, 2) float32
    anchor: np.ndarray  # (2,) float32 nose_anchor of the same frames


def rest_pose(points: np.ndarray, crop_size: int) -> RestPose:
    """The rest pose of (M, 468, 2) crop-pixel landmarks of one actor: mean over the most closed frames."""
    shapes = mouth_shape(points, crop_size)
    opening = mouth_opening(shapes)
    closed = opening <= np.quantile(opening, REST_QUANTILE)
    return RestPose(
        shape=shapes[closed].mean(axis=0).astype(np.float32),
        anchor=nose_anchor(points[closed], crop_size).mean(axis=0).astype(np.float32),
    )


def displacement(points: np.ndarray, rest: RestPose, crop_size: int) -> np.ndarray:
    """(M, 468, 2) landmarks -> (M, 2P) float32 mouth displacement from ``rest``, head shift removed."""
    shift = nose_anchor(points, crop_size) - rest.anchor
    shapes = mouth_shape(points, crop_size) - rest.shape - shift[:, None, :]
    return shapes.reshape(len(shapes), -1).astype(np.float32)


def fit_basis(displacements: np.ndarray, dim: int) -> np.ndarray:
    """Uncentred PCA of (M, 2P) displacements -> (dim, 2P) float32 orthonormal basis (rows)."""
    _, _, vt = np.linalg.svd(displacements.astype(np.float64), full_matrices=False)
    return vt[:dim].astype(np.float32)


def encode(displacements: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """(M, 2P) displacements -> (M, D) codes."""
    return (displacements @ basis.T).astype(np.float32)


def decode(codes: np.ndarray, basis: np.ndarray, rest: RestPose, anchor: np.ndarray) -> np.ndarray:
    """(M, D) codes + target nose anchors (M, 2) -> (M, P, 2) normalised mouth shapes."""
    disp = (codes @ basis).reshape(len(codes), -1, 2)
    return (rest.shape[None] + disp + (anchor - rest.anchor)[:, None, :]).astype(np.float32)


def settle_closed(codes: np.ndarray, threshold: float) -> np.ndarray:
    """(M, D) codes with small ones pulled to 0 (the closed rest mouth), large ones nearly kept.

    Each code's norm n becomes max(0, n - threshold**2 / n): 0 at and below ``threshold``, continuous, and
    within threshold**2 / n of n above it, so a confident opening keeps its size while the audio net's
    hesitant half-open guesses (where the speaker's lips meet) close.
    """
    if threshold <= 0.0:
        return codes.astype(np.float32)
    norm = np.maximum(np.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
    scale = np.maximum(norm - threshold * threshold / norm, 0.0) / norm
    return (codes * scale).astype(np.float32)


def shape_map(shape: np.ndarray, crop_size: int) -> np.ndarray:
    """(P, 2) normalised mouth shape -> (2, S, S) float32 in [0, 1]: lip and jaw contours, mouth opening."""
    s = crop_size
    pts = np.round(shape * s * 4).astype(np.int32)  # 2 fractional bits for cv2's sub-pixel drawing
    thickness = max(1, round(s / 128))
    contours = np.zeros((s, s), np.uint8)
    cv2.polylines(contours, [pts[_OUTER]], True, 255, thickness, cv2.LINE_AA, shift=2)
    cv2.polylines(contours, [pts[_INNER]], True, 255, thickness, cv2.LINE_AA, shift=2)
    cv2.polylines(contours, [pts[_JAW]], False, 255, thickness, cv2.LINE_AA, shift=2)
    opening = np.zeros((s, s), np.uint8)
    cv2.fillPoly(opening, [pts[_INNER]], 255, cv2.LINE_AA, shift=2)
    sigma = s / 192.0
    maps = np.stack([contours, opening]).astype(np.float32) / 255.0
    return np.stack([cv2.GaussianBlur(m, (0, 0), sigma) for m in maps])


MAX_JAW_TRIM = 4  # jaw points a repaint mask may leave out at each end of the jaw line (of 15)
MASK_GROW = 0.06  # repaint mask growth beside and above the lips + jaw hull, fraction of S


def repaint_mask(shapes: list[np.ndarray], crop_size: int, region_top: int, below: float = MASK_GROW,
                 jaw_trim: int = 0) -> np.ndarray:
    """Feathered (S, S) float32 mask in [0, 1] covering every given (P, 2) normalised mouth shape.

    The hull of lips and jaw of all shapes (the target's own and the wanted one) is grown by 6% of S
    beside and above and by ``below`` (fraction of S) downwards, feathered, and faded to 0 at
    ``region_top`` so the renderer's region edge is unseen. A small ``below`` keeps the target's own
    chin and collar instead of repainting them from the reference. ``jaw_trim`` leaves that many jaw
    points out of the hull at each end of the jaw line (the jaw's angles, which hardly move when the
    mouth opens), so the mask stops short of the face's outline and the target keeps its own cheeks
    and background there instead of the reference's.
    """
    s = crop_size
    pts = np.concatenate([hull_points(shape, jaw_trim) for shape in shapes]) * s
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    mask = np.zeros((s, s), np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    grow = max(3, round(MASK_GROW * s))
    down = grow if below == MASK_GROW else max(0, round(below * s))  # the default keeps grow's floor of 3 px
    mask = cv2.dilate(mask, _growth_kernel(grow, down))
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), grow / 2.0)
    ramp = np.clip((np.arange(s, dtype=np.float32) - region_top) / max(1.0, grow), 0.0, 1.0)
    return (soft * ramp[:, None]).astype(np.float32)


def hull_points(shape: np.ndarray, jaw_trim: int = 0) -> np.ndarray:
    """The points of a (P, 2) mouth shape that bound the repaint mask: all but ``jaw_trim`` jaw points at
    each end of the jaw line."""
    if not 0 <= jaw_trim <= MAX_JAW_TRIM:
        raise ValueError(f"jaw_trim {jaw_trim} must be in [0, {MAX_JAW_TRIM}]")
    if jaw_trim == 0:
        return shape
    jaw = np.arange(len(shape))[_JAW]
    return np.delete(shape, np.concatenate([jaw[:jaw_trim], jaw[len(jaw) - jaw_trim:]]), axis=0)


def _growth_kernel(grow: int, down: int) -> np.ndarray:
    """Dilation element that grows a shape by ``grow`` px beside and above and ``down`` px below.

    cv2.dilate sets a pixel when the shape covers any kernel cell around it, so the kernel's upper rows
    (looking up) grow the shape downwards: they are the upper half of an ellipse of half-height ``down``.
    With down == grow it is cv2's ellipse, i.e. the mask of weights files without the setting.
    """
    full = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    short = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * down + 1))
    reach = max(grow, down)
    kernel = np.zeros((2 * reach + 1, 2 * grow + 1), np.uint8)
    kernel[reach - down:reach] = short[:down]
    kernel[reach:reach + grow + 1] = full[grow:]
    return kernel


def below_jaw(shape: np.ndarray, crop_size: int) -> np.ndarray:
    """(S, S) bool: pixels below the hull of one (P, 2) normalised mouth shape, in the hull's columns."""
    s = crop_size
    hull = np.zeros((s, s), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(shape * s).astype(np.int32)), 1)
    rows = np.arange(s)[:, None]
    bottom = np.where(hull.any(axis=0), (hull * rows).max(axis=0), s)
    return rows > bottom[None, :]
