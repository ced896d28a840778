"""The reference warp: references moved onto the target's head and the wanted mouth before the renderer sees
them, the landmarks a profile keeps for it, and the generator using it only when its weights say so."""
from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from lipsync_engine.faces import topology
from lipsync_engine.faces.tracker import track_shot
from lipsync_engine.generator.base import ProfileSamples
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.generator.loader import load_generator
from lipsync_engine.media import probe_video, read_frames
from lipsync_engine.model.actor import load_profile, save_profile
from lipsync_engine.model.mouth_shape import MOUTH_POINTS, mouth_shape
from lipsync_engine.model.reference_warp import warp_reference
from lipsync_engine.pipeline.compose import crop_face

S = 192


@pytest.fixture(scope="module")
def faces(speech_clip: Path) -> tuple[np.ndarray, np.ndarray]:
    """Aligned 192 px crops and crop landmarks of the first 12 frames of a real clip."""
    info = probe_video(speech_clip)
    frames = [f.rgb for _, f in zip(range(12), read_frames(speech_clip, info))]
    track = track_shot(enumerate(frames), fps=float(info.fps))
    aligned = [crop_face(f, p, S) for f, p in zip(frames, track.points)]
    return np.stack([a.crop for a in aligned]), np.stack([a.points for a in aligned]).astype(np.float32)


def _texture(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (S // 4, S // 4, 3), dtype=np.uint8)
    return np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)


def test_a_reference_on_the_targets_own_landmarks_is_unchanged(faces) -> None:
    crops, points = faces
    out = warp_reference(crops[0], points[0], points[0], mouth_shape(points[0], S))
    assert np.array_equal(out, crops[0])


def test_a_shifted_head_is_moved_onto_the_target(faces) -> None:
    _, points = faces
    target = points[0]
    reference_points = target + np.array([6.0, -4.0], np.float32)  # the reference's head sits elsewhere
    image = _texture()
    out = warp_reference(image, reference_points, target, mouth_shape(target, S))
    # Inside the face every pixel comes from 6 px right and 4 px up in the reference.
    ys, xs = np.mgrid[70:130, 70:120]
    assert np.abs(out[ys, xs].astype(int) - image[ys - 4, xs + 6].astype(int)).max() <= 2
    assert np.array_equal(out[:3, :3], image[:3, :3])  # the crop's corners hold


def test_the_mouth_goes_where_the_wanted_shape_is_and_the_eyes_stay(faces) -> None:
    crops, points = faces
    target = points[0]
    wanted = mouth_shape(target, S)
    wanted[:, 1] += 5.0 / S  # lips and jaw 5 px lower than the reference's
    out = warp_reference(crops[0], target, target, wanted)
    lip = np.round(target[topology.LOWER_LIP_OUTER]).astype(int)
    window = (slice(lip[1] - 3, lip[1] + 3), slice(lip[0] - 6, lip[0] + 6))
    moved = (slice(lip[1] + 2, lip[1] + 8), window[1])
    assert np.abs(out[moved].astype(int) - crops[0][window].astype(int)).mean() < 4.0
    eye = np.round(target[list(topology.LEFT_EYE)].mean(0)).astype(int)
    around_eye = (slice(eye[1] - 5, eye[1] + 5), slice(eye[0] - 5, eye[0] + 5))
    assert np.array_equal(out[around_eye], crops[0][around_eye])


def test_landmarks_that_are_not_finite_leave_the_reference_as_it_is(faces) -> None:
    crops, points = faces
    broken = points[1].copy()
    broken[MOUTH_POINTS[0]] = np.nan
    assert np.array_equal(warp_reference(crops[0], broken, points[0], mouth_shape(points[0], S)), crops[0])


@pytest.fixture(scope="module")
def generator() -> LearnedGenerator:
    return load_generator("default", backend="torch")


def test_profiles_keep_reference_landmarks_and_old_profiles_still_load(faces, generator, tmp_path: Path) -> None:
    crops, points = faces
    profile = generator.build_profile(ProfileSamples(crops=crops, points=points))
    ref_points = profile.data["ref_points"]
    assert ref_points.shape == (len(profile.data["ref_crops"]), 468, 2)
    saved = tmp_path / "actor.lsprofile"
    save_profile(profile, saved)
    assert np.array_equal(load_profile(saved).data["ref_points"], ref_points)
    profile.data["ref_points"] = None  # a profile written before the warp
    save_profile(profile, saved)
    assert load_profile(saved).data["ref_points"] is None


def test_the_generator_warps_only_when_its_weights_were_trained_so(faces, generator) -> None:
    crops, points = faces
    profile = generator.build_profile(ProfileSamples(crops=crops, points=points))
    d = generator.bundle.basis.shape[0]
    motion = np.zeros((4, d + 3), np.float32)
    motion[:, 0] = 1.5  # an open mouth, far from the closed references
    plain = generator.renderer_inputs(crops[:4], points[:4], motion, profile)["reference"]
    assert np.allclose(plain, profile.data["ref_crops"][np.zeros(4, int)].transpose(0, 3, 1, 2) / 255.0, atol=1e-6)
    warping = LearnedGenerator(dataclasses.replace(generator.bundle, config=dataclasses.replace(
        generator.bundle.config, renderer=dataclasses.replace(generator.bundle.config.renderer, warp_reference=True))))
    warped = warping.renderer_inputs(crops[:4], points[:4], motion, profile)["reference"]
    assert warped.shape == plain.shape and not np.allclose(warped, plain, atol=2 / 255)
    profile.data["ref_points"] = None  # an old profile: the references go in as they are
    assert np.array_equal(warping.renderer_inputs(crops[:4], points[:4], motion, profile)["reference"], plain)
