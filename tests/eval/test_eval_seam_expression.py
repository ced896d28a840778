"""Seam and expression measures on real held-out crops: an offset or hard paste reads as a seam, a grin or
frown as a shifted expression, and the exact paste / the actor's own mouth as neither."""
from __future__ import annotations

import numpy as np
import pytest

from lipsync_engine.data.cache import load_clips
from lipsync_engine.eval import geometry, image_metrics, seam
from lipsync_engine.eval.harness import blend_masks, viewer_crops
from lipsync_engine.faces import topology

LIPS = list(topology.OUTER_LIPS + topology.INNER_LIPS)


@pytest.fixture(scope="module")
def faces(eval_cache):
    """(crops, crop landmarks, blend masks) of 12 valid frames of a real held-out clip."""
    clip = load_clips(eval_cache)[0]
    frames = np.flatnonzero(clip.valid)[:12]
    crops, points = np.asarray(clip.crops[frames]), np.asarray(clip.points[frames])
    return crops, points, blend_masks(points, crops.shape[1])


def _composite(real: np.ndarray, generated: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """A plain alpha paste, no colour matching: what a naive blend would show."""
    alpha = masks[..., None]
    return np.rint(real * (1.0 - alpha) + generated * alpha).astype(np.uint8)


def test_exact_paste_has_no_seam(faces):
    crops, _, masks = faces
    seen = viewer_crops(crops, crops, masks)
    assert np.array_equal(seen, crops)
    assert seam.edge_ratio(seen, crops, masks) == 1.0
    assert seam.colour_step(seen, crops, masks) == 0.0


def test_offset_and_hard_pastes_read_as_seams(faces):
    crops, _, masks = faces
    brighter = np.clip(crops.astype(np.int32) + 24, 0, 255).astype(np.uint8)
    feathered = _composite(crops, brighter, masks)
    step = seam.colour_step(feathered, crops, masks)
    assert step > 25.0  # about sqrt(3) * 24 levels where nothing clips
    hard = _composite(crops, brighter, (masks > 0.5).astype(np.float32))
    edge = seam.edge_ratio(hard, crops, masks)
    assert edge > 1.3  # a hard edge adds gradient the source does not have
    assert edge > seam.edge_ratio(feathered, crops, masks) + 0.1  # and more than the same step feathered
    assert seam.colour_step(hard, crops, masks) > 25.0
    # The pipeline's paste fits colour in the soft edge: the same offset crop leaves (almost) no step.
    matched = viewer_crops(crops, brighter, masks)
    assert seam.colour_step(matched, crops, masks) < 0.1 * step


def _pull_corners(points: np.ndarray, lift: float) -> np.ndarray:
    """Lip points raised by ``lift`` eye distances at the corners, falling off to 0 at the mouth centre."""
    out = points.astype(np.float64).copy()
    centre_x = points[:, LIPS, 0].mean(axis=1, keepdims=True)
    half = 0.5 * np.abs(points[:, topology.MOUTH_RIGHT, 0] - points[:, topology.MOUTH_LEFT, 0])[:, None]
    reach = np.clip(np.abs(points[:, LIPS, 0] - centre_x) / half, 0.0, 1.0) ** 2
    out[:, LIPS, 1] -= reach * (lift * geometry.eye_distance(points))[:, None]
    return out


def test_a_grin_scores_worse_than_the_actors_own_mouth(faces):
    _, points, _ = faces
    real = geometry.expression(points)
    jitter = np.random.default_rng(0).normal(0.0, 0.3, points.shape)  # landmark noise, crop pixels
    neutral = geometry.expression(points + jitter)
    grin, frown = geometry.expression(_pull_corners(points, 0.03)), geometry.expression(_pull_corners(points, -0.03))
    neutral_shift, grin_shift = geometry.expression_shift(neutral, real), geometry.expression_shift(grin, real)
    assert grin_shift[0] > 0.025 and grin_shift[0] > 5 * abs(neutral_shift[0])
    assert geometry.expression_shift(frown, real)[0] < -0.025
    assert geometry.expression_error(grin, real)[0] > 5 * geometry.expression_error(neutral, real)[0]
    assert abs(grin_shift[1]) < 0.005  # corners raised, not spread: the width does not move


def test_corner_lift_ignores_head_roll(faces):
    _, points, _ = faces
    angle = np.deg2rad(20.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    rolled = points @ rotation.T * 1.7 + 30.0
    assert np.allclose(geometry.corner_lift(rolled), geometry.corner_lift(points), atol=1e-5)


def test_a_silhouette_painted_on_the_cheek_is_a_ghost_and_the_mouth_is_not(faces):
    crops, points, masks = faces
    assert seam.ghost_ratio(crops, crops, masks, points, points) == 1.0
    ghosted, mouthed = crops.copy(), crops.copy()
    for i, p in enumerate(points):
        # a dark arc on the cheek between the mouth corner and the jaw line, as a reference's silhouette
        corner, jaw = p[topology.MOUTH_RIGHT], p[365]
        xs = np.linspace(corner[0], jaw[0], 40)
        ys = np.linspace(corner[1] - 10, jaw[1] - 10, 40)
        a, b = np.round(0.45 * np.c_[xs, ys] + 0.55 * np.c_[xs, ys].mean(0)).astype(int).T
        ghosted[i, b, a] = 20
        ghosted[i, b + 1, a] = 20
        lips = np.round(p[LIPS]).astype(int)
        mouthed[i, lips[:, 1], lips[:, 0]] = 20  # new edges on the lips: a moving mouth, not a ghost
    assert seam.ghost_ratio(ghosted, crops, masks, points, points) > 1.05
    assert seam.ghost_ratio(mouthed, crops, masks, points, points) == 1.0
    nan_points = np.full_like(points, np.nan)
    assert np.isnan(seam.ghost_ratio(ghosted, crops, masks, points, nan_points))  # no landmarks: not measured


def test_a_lipstick_stroke_is_a_foreign_colour_and_the_actors_own_mouth_is_not(faces):
    crops, points, masks = faces
    assert image_metrics.colour_outliers(crops, crops, masks) == 0.0
    assert image_metrics.colour_outliers(crops[::-1], crops, masks) < 0.001  # other frames of the same actor
    stroked = crops.copy()
    for i, p in enumerate(points):
        lips = np.round(p[list(topology.INNER_LIPS)]).astype(int)
        stroked[i, lips[:, 1], lips[:, 0]] = (230, 20, 40)  # a saturated red line along the lips
    share = image_metrics.colour_outliers(stroked, crops, masks)
    stroke_share = len(topology.INNER_LIPS) / float((masks > 0.5).sum(axis=(1, 2)).mean())
    assert 0.5 * stroke_share < share <= stroke_share + 1e-9
    assert np.isnan(image_metrics.colour_outliers(crops, crops, np.zeros_like(masks)))
