"""The shipped generator on real footage: plan (rest on silence, motion on speech), render, adapt."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from lipsync_cli.main import main
from lipsync_engine.generator.base import ProfileSamples
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.model.actor import load_profile, rest_of
from lipsync_engine.model.mouth_shape import decode, mouth_opening, mouth_shape, nose_anchor


def test_default_weights_are_small_fp16_with_config(generator: LearnedGenerator) -> None:
    from lipsync_engine.generator.learned import DEFAULT_WEIGHTS

    assert DEFAULT_WEIGHTS.stat().st_size < 20e6
    assert generator.name.startswith("lipsync-gen") and "@" in generator.name  # weights hash: profiles match
    assert generator.crop_size == 192
    assert generator.bundle.notes.get("crop_psnr_validation")


def test_plan_rests_closed_on_silence_and_moves_on_speech(generator: LearnedGenerator, footage: dict) -> None:
    profile = generator.build_profile(ProfileSamples(crops=footage["crops"], points=footage["points"]))
    n = len(footage["mel"])
    silent = generator.plan(np.full_like(footage["mel"], -4.0), np.zeros(n, bool), Fraction(25), profile)
    d = generator.bundle.basis.shape[0]
    assert silent.shape == (n, d + 3)
    assert np.abs(silent[:, :d]).max() < 1e-6  # code 0 is the actor's closed rest mouth
    rest = rest_of(profile)
    anchors = nose_anchor(footage["points"], generator.crop_size)
    rest_shapes = decode(silent[:, :d], generator.bundle.basis, rest, anchors)
    assert np.abs(mouth_opening(rest_shapes) - mouth_opening(rest.shape)).max() < 1e-6
    assert len(set(silent[:, d].tolist())) == 1  # one reference all through the silence: no chatter

    spoken = generator.plan(footage["mel"], footage["speech"], Fraction(25), profile)
    talking = footage["speech"]
    assert talking.sum() > 25
    opening = mouth_opening(decode(spoken[:, :d], generator.bundle.basis, rest, anchors))
    real = mouth_opening(mouth_shape(footage["points"], generator.crop_size))
    assert opening[talking].std() > 0.15 * real.std()  # the mouth moves while the dub speaks
    assert opening[talking].mean() > opening[~talking].mean()  # and is more open than in the pauses


def test_render_real_crops_changes_only_the_masked_lower_face(generator: LearnedGenerator, footage: dict) -> None:
    crops, points = footage["crops"][:6], footage["points"][:6]
    profile = generator.build_profile(ProfileSamples(crops=footage["crops"], points=footage["points"]))
    motion = generator.plan(footage["mel"], footage["speech"], Fraction(25), profile)[30:36]
    out = generator.render(crops, points, motion, profile)
    assert out.shape == crops.shape and out.dtype == np.uint8
    mask = generator.renderer_inputs(crops, points, motion, profile)["mask"][:, 0]
    top = generator.bundle.config.renderer.region_top
    assert np.array_equal(out[:, :top], crops[:, :top])
    assert np.array_equal(out[mask == 0], crops[mask == 0])
    changed = np.abs(out.astype(int) - crops.astype(int)).mean(axis=-1)[mask > 0.5]
    assert changed.mean() > 1.0  # the mouth was repainted
    assert np.abs(out.astype(int) - crops.astype(int))[mask > 0.5].mean() < 40  # by something face-like


def test_adapt_on_a_two_second_clip_writes_a_profile_that_loads(
    cut_clip, tmp_path: Path, generator: LearnedGenerator, capsys: pytest.CaptureFixture[str]
) -> None:
    video = cut_clip(frames=50)
    out = tmp_path / "actor.lsprofile"
    assert main(["adapt", "--video", str(video), "--out", str(out), "--finetune-minutes", "0.05"]) == 0
    printed = capsys.readouterr().out
    report = json.loads(printed[printed.rindex("\n{") + 1:])
    assert report["kept"] in ("generic", "adapted")
    assert report["adapted"]["psnr_mask"] > 15 and report["generic"]["psnr_mask"] > 15
    profile = load_profile(out)
    assert profile.generator == generator.name
    assert 2 <= len(profile.data["ref_crops"]) <= 48
    assert profile.data["ref_crops"].shape[1:] == (192, 192, 3)
    loaded_by_generator = generator.load_profile(out)
    assert np.array_equal(loaded_by_generator.data["ref_codes"], profile.data["ref_codes"])
    assert (profile.data["renderer_state"] is not None) == (report["kept"] == "adapted")
