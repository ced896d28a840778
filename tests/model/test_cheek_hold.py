"""The cheek hold: away from the lips and chin the render gives back the frame's own pixels; on the lips
and chin, and on a wanted mouth lower than the frame's, the renderer's change stays."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lipsync_engine.generator.base import ProfileSamples
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.model.cheek_hold import cheek_weight, hold_cheeks
from lipsync_engine.model.mouth_shape import mouth_shape

CAST = np.array([0.12, -0.05, 0.08], np.float32)  # the reference's light: a colour cast over the repaint


def _frame(footage: dict, generator: LearnedGenerator) -> tuple[np.ndarray, np.ndarray]:
    """One real aligned crop (S, S, 3) uint8 and its (P, 2) normalised mouth shape."""
    return footage["crops"][10], mouth_shape(footage["points"][10], generator.crop_size)


def test_a_colour_cast_leaves_the_cheeks_and_stays_on_the_mouth(
    generator: LearnedGenerator, footage: dict
) -> None:
    crop, shape = _frame(footage, generator)
    s = crop.shape[0]
    painted = np.clip(crop.astype(np.float32) / 255.0 + CAST, 0.0, 1.0)
    weight = cheek_weight([shape], s)
    out = hold_cheeks(painted, crop, [shape])
    zone, cheeks = weight == 0.0, weight == 1.0
    assert zone.sum() > 0.02 * s * s and cheeks.sum() > 0.3 * s * s  # the lips and chin; the rest
    assert np.array_equal(out[zone], painted[zone])
    assert np.abs(out[cheeks] - crop[cheeks] / 255.0).max() < 1e-6
    fading = (weight > 0.0) & (weight < 1.0)
    between = np.abs(out - crop / 255.0)[fading].mean()
    assert 0.0 < between < np.abs(painted - crop / 255.0)[fading].mean()


def test_the_zone_covers_the_wanted_mouth_too(generator: LearnedGenerator, footage: dict) -> None:
    _, own = _frame(footage, generator)
    wanted = own.copy()
    wanted[:, 1] += 0.05  # the wanted mouth and chin lower than the frame's own (a wider jaw drop)
    s = generator.crop_size
    only_own, both = cheek_weight([own], s), cheek_weight([own, wanted], s)
    assert (both <= only_own).all()
    lowest = np.round(wanted[:, 1].max() * s - 2).astype(int), np.round(wanted[:, 0].mean() * s).astype(int)
    assert only_own[lowest] > 0.5 and both[lowest] == 0.0


def test_render_gives_back_the_frames_cheeks_from_a_network_that_brings_in_the_references_light(
    generator: LearnedGenerator, footage: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    crops, points = footage["crops"][:4], footage["points"][:4]
    profile = generator.build_profile(ProfileSamples(crops=footage["crops"], points=footage["points"]))
    motion = generator.plan(footage["mel"], footage["speech"], Fraction(25), profile)[:4]
    engine = generator.engine_for(profile)

    def cast(inputs: dict) -> np.ndarray:  # the network lit the whole repainted face like its reference
        return engine(inputs) + inputs["mask"] * CAST[None, :, None, None]

    monkeypatch.setattr(generator, "engine_for", lambda profile: cast)
    out = generator.render(crops, points, motion, profile)
    mask = generator.renderer_inputs(crops, points, motion, profile)["mask"][:, 0]
    wanted = generator._wanted(points, motion, profile)
    for i, own in enumerate(mouth_shape(points, generator.crop_size)):
        weight = cheek_weight([own, wanted[i]], generator.crop_size)
        cheeks, mouth = (weight == 1.0) & (mask[i] > 0.9), (weight == 0.0) & (mask[i] > 0.9)
        assert cheeks.sum() > 200 and mouth.sum() > 200
        assert np.array_equal(out[i][cheeks], crops[i][cheeks])
        red_shift = out[i, ..., 0].astype(np.float32) - crops[i, ..., 0].astype(np.float32)
        assert red_shift[mouth].mean() > 0.5 * CAST[0] * 255  # the painted mouth keeps the network's light
