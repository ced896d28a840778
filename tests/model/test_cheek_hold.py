"""The cheek hold: away from the lips and chin the painted crop takes the frame's own colour and shading,
keeps the renderer's fine detail, and leaves the mouth's own change alone."""
from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from lipsync_engine.generator.base import ProfileSamples
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.model.cheek_hold import HOLD_SIGMA, cheek_weight, hold_cheeks
from lipsync_engine.model.mouth_shape import mouth_shape

CAST = np.array([0.12, -0.05, 0.08], np.float32)  # the reference's light: a smooth colour cast


def _frame(footage: dict, generator: LearnedGenerator) -> tuple[np.ndarray, np.ndarray]:
    """One real aligned crop (S, S, 3) uint8 and its (P, 2) normalised mouth shape."""
    return footage["crops"][10], mouth_shape(footage["points"][10], generator.crop_size)


def _far_from_the_zone(weight: np.ndarray, margin: float) -> np.ndarray:
    """(S, S) bool: full hold, and no pixel of the zone's fade within ``margin`` px (the low pass's reach)."""
    held = (weight >= 1.0).astype(np.uint8)
    return cv2.erode(held, np.ones((2 * int(margin) + 1,) * 2, np.uint8)) > 0


def test_a_colour_cast_leaves_the_cheeks_and_stays_on_the_mouth(
    generator: LearnedGenerator, footage: dict
) -> None:
    crop, shape = _frame(footage, generator)
    s = crop.shape[0]
    painted = np.clip(crop.astype(np.float32) / 255.0 + CAST, 0.0, 1.0)
    weight = cheek_weight([shape], s)
    mask = np.ones((s, s), np.float32)
    mask[:, :20] = 0.0  # outside the repaint mask: not painted, not held
    out = hold_cheeks(painted, crop, [shape], mask)
    assert np.array_equal(out[:, :20], painted[:, :20])
    zone = weight == 0.0
    assert zone.sum() > 0.02 * s * s  # the lips and the chin
    assert np.array_equal(out[zone], painted[zone])
    cheeks = _far_from_the_zone(weight, 3 * HOLD_SIGMA * s) & (mask > 0)
    assert cheeks.sum() > 0.3 * s * s
    before = np.abs(painted - crop / 255.0)[cheeks].mean()
    after = np.abs(out - crop / 255.0)[cheeks].mean()
    assert before > 0.05 and after < 0.1 * before


def test_fine_detail_the_renderer_drew_on_the_cheeks_stays(generator: LearnedGenerator, footage: dict) -> None:
    crop, shape = _frame(footage, generator)
    s = crop.shape[0]
    rows, cols = np.indices((s, s))
    texture = np.where((rows + cols) % 2 == 0, 0.04, -0.04).astype(np.float32)[..., None]  # pores, one px
    painted = np.clip(crop.astype(np.float32) / 255.0 + texture + CAST, 0.0, 1.0)
    out = hold_cheeks(painted, crop, [shape], np.ones((s, s), np.float32))
    cheeks = _far_from_the_zone(cheek_weight([shape], s), 3 * HOLD_SIGMA * s)
    kept = ((out - crop / 255.0) * np.sign(texture))[cheeks].mean()
    assert kept > 0.7 * 0.04


def test_the_zone_covers_the_wanted_mouth_too(generator: LearnedGenerator, footage: dict) -> None:
    _, own = _frame(footage, generator)
    wanted = own.copy()
    wanted[:, 1] += 0.05  # the wanted mouth and chin lower than the frame's own (a wider jaw drop)
    s = generator.crop_size
    only_own, both = cheek_weight([own], s), cheek_weight([own, wanted], s)
    assert (both <= only_own).all()
    lowest = np.round(wanted[:, 1].max() * s - 2).astype(int), np.round(wanted[:, 0].mean() * s).astype(int)
    assert only_own[lowest] > 0.5 and both[lowest] == 0.0


def test_render_holds_the_cheeks_of_a_network_that_brings_in_the_references_light(
    generator: LearnedGenerator, footage: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    crops, points = footage["crops"][:4], footage["points"][:4]
    profile = generator.build_profile(ProfileSamples(crops=footage["crops"], points=footage["points"]))
    motion = generator.plan(footage["mel"], footage["speech"], Fraction(25), profile)[:4]
    engine = generator.engine_for(profile)

    def cast(inputs: dict) -> np.ndarray:  # the network lit the whole repainted face like its reference
        return engine(inputs) + inputs["mask"] * CAST[None, :, None, None]

    monkeypatch.setattr(generator, "engine_for", lambda profile: cast)
    out = generator.render(crops, points, motion, profile).astype(np.float32)
    mask = generator.renderer_inputs(crops, points, motion, profile)["mask"][:, 0]
    wanted = generator._wanted(points, motion, profile)
    for i, own in enumerate(mouth_shape(points, generator.crop_size)):
        cheeks = _far_from_the_zone(cheek_weight([own, wanted[i]], generator.crop_size), 6) & (mask[i] > 0.9)
        assert cheeks.sum() > 200
        red_shift = (out[i, ..., 0] - crops[i, ..., 0].astype(np.float32))[cheeks].mean()
        assert abs(red_shift) < 0.25 * CAST[0] * 255
