"""The colour gamut guard: colours no picture of the actor shows are pulled back, every other pixel is kept."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lipsync_engine.generator.base import ProfileSamples
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.model.colour_gamut import GAMUT_BINS, GAMUT_TOLERANCE, clamp_to_gamut

SKIN, LIPS, STROKE = (0.80, 0.60, 0.50), (0.70, 0.40, 0.40), (0.70, 0.20, 0.33)  # STROKE: the artefact


def _face(size: int = 48) -> np.ndarray:
    """(S, S, 3) float: skin with a band of lips across the middle and a little noise."""
    image = np.broadcast_to(np.array(SKIN, np.float32), (size, size, 3)).copy()
    image[size // 2 - 3:size // 2 + 3, size // 4:3 * size // 4] = LIPS
    return np.clip(image + np.random.default_rng(0).normal(0.0, 0.01, image.shape), 0.0, 1.0).astype(np.float32)


def test_a_picture_inside_the_gamut_comes_back_as_it_is() -> None:
    face = _face()
    region = np.ones(face.shape[:2], bool)
    assert clamp_to_gamut(face, [face], region) is face


def test_a_saturated_stroke_is_pulled_toward_the_actors_colours_and_nothing_else_moves() -> None:
    face = _face()
    painted = face.copy()
    painted[24, 14:34] = STROKE  # a thin lipstick-red line along the lips, as the renderer drew it
    painted[5, 14:34] = STROKE  # the same outside the region: not the guard's business
    region = np.zeros(face.shape[:2], bool)
    region[10:40] = True
    out = clamp_to_gamut(painted, [face], region)
    untouched = np.ones(face.shape[:2], bool)
    untouched[24, 14:34] = False
    assert np.array_equal(out[untouched], painted[untouched])
    seen = face[region].reshape(-1, 3)
    before = np.linalg.norm(painted[24, 14:34, None] - seen[None], axis=-1).min(axis=1)
    after = np.linalg.norm(out[24, 14:34, None] - seen[None], axis=-1).min(axis=1)
    assert before.min() > 0.15  # the stroke was far from every colour of the face
    reach = (GAMUT_TOLERANCE + 1) * np.sqrt(3) / GAMUT_BINS
    assert after.max() <= reach + 1e-6  # now within the guard's reach of one
    assert np.abs(out[24, 14:34, 1] - STROKE[1]).min() > 0.05  # green came back up: no longer that red


def test_an_empty_region_changes_nothing() -> None:
    face = _face()
    assert clamp_to_gamut(face, [face * 0.0], np.zeros(face.shape[:2], bool)) is face


def test_render_keeps_the_painted_mouth_in_the_gamut_of_its_crop_and_references(
    generator: LearnedGenerator, footage: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    crops, points = footage["crops"], footage["points"]
    profile = generator.build_profile(ProfileSamples(crops=crops, points=points))
    motion = generator.plan(footage["mel"], footage["speech"], Fraction(25), profile)[:4]
    honest = generator.render(crops[:4], points[:4], motion, profile)
    engine = generator.engine_for(profile)

    def magenta(inputs: dict) -> np.ndarray:  # the network gone wrong: a magenta mouth, the rest as it was
        out = engine(inputs)
        painted = np.broadcast_to(inputs["mask"] > 0, out.shape)
        out[painted] = np.broadcast_to(np.array([1.0, 0.0, 1.0], np.float32)[None, :, None, None], out.shape)[painted]
        return out

    monkeypatch.setattr(generator, "engine_for", lambda profile: magenta)
    wrong = generator.render(crops[:4], points[:4], motion, profile)
    mask = generator.renderer_inputs(crops[:4], points[:4], motion, profile)["mask"][:, 0]
    inside = mask > 0.05
    assert (np.abs(wrong[inside].astype(int) - [255, 0, 255]).max(axis=1) > 60).all()  # no magenta left
    assert np.array_equal(wrong[mask == 0], crops[:4][mask == 0])
    assert np.abs(honest.astype(int) - crops[:4].astype(int))[inside].mean() < 40
