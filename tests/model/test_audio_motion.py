"""Audio-to-motion: wider windows rebuilt from the pipeline's 200 ms ones, heads, and weights files of
either design (files written before the head setting existed keep the averaging head)."""
from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from lipsync_engine.audio import MEL_WINDOW, frame_mel_windows
from lipsync_engine.errors import ModelError
from lipsync_engine.generator.base import ActorProfile
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.model import GeneratorConfig, MotionConfig, RendererConfig
from lipsync_engine.model.audio_motion import build_audio_motion, widen_windows
from lipsync_engine.model.bundle import WEIGHTS_FORMAT, GeneratorBundle, load_bundle, save_bundle
from lipsync_engine.model.checkpoint import read_tensors, write_tensors
from lipsync_engine.model.renderer import build_renderer

SMALL_RENDERER = RendererConfig(widths=(8, 8, 8, 8, 8))


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30), Fraction(24000, 1001), Fraction(60)])
@pytest.mark.parametrize("width", [40, 60])
def test_widened_windows_equal_wider_windows_cut_from_the_audio(fps: Fraction, width: int) -> None:
    frames = int(6.5 * fps)
    mel = np.random.default_rng(0).uniform(-4, 4, (80, int(np.ceil(frames / fps * 100)))).astype(np.float32)
    centres = (np.arange(frames) + 0.5) / float(fps)  # the pipeline's dub: as long as the shot
    narrow = frame_mel_windows(mel, centres)
    assert np.array_equal(widen_windows(narrow, float(fps), width), frame_mel_windows(mel, centres, width))


def test_widening_leaves_silence_where_no_window_reaches() -> None:
    narrow = np.zeros((3, 80, MEL_WINDOW), np.float32)
    wide = widen_windows(narrow, 2.0, 60)  # 2 fps: windows 500 ms apart cover 200 ms of each 500
    assert wide.shape == (3, 80, 60)
    assert (wide[:, :, 20:40] == 0).all() and (wide[:, :, :10] == -4.0).all()
    assert widen_windows(narrow, 25.0, MEL_WINDOW) is narrow


@pytest.mark.parametrize("head", ["flatten", "pool"])
def test_heads_take_their_window_width(head: str) -> None:
    motion = build_audio_motion(MotionConfig(mel_window=40, head=head, code_dim=7))
    assert motion(torch.zeros(5, 80, 40)).shape == (5, 7)


def test_unknown_head_is_refused() -> None:
    with pytest.raises(ValueError, match="motion head 'lstm' is unknown"):
        build_audio_motion(MotionConfig(head="lstm"))


def _bundle(motion: MotionConfig) -> GeneratorBundle:
    torch.manual_seed(0)
    config = GeneratorConfig(name="test-gen", renderer=SMALL_RENDERER, motion=motion)
    return GeneratorBundle(config=config, renderer=build_renderer(SMALL_RENDERER).eval(),
                           motion=build_audio_motion(motion).eval(),
                           basis=np.eye(10, 110, dtype=np.float32), gain=np.ones(10, np.float32))


def _profile() -> ActorProfile:
    rng = np.random.default_rng(1)
    return ActorProfile(generator="test-gen", source="unit", data={
        "rest_shape": rng.random((55, 2), dtype=np.float32), "rest_anchor": np.array([0.5, 0.4], np.float32),
        "ref_crops": rng.integers(0, 255, (3, 192, 192, 3), dtype=np.uint8),
        "ref_codes": rng.random((3, 10), dtype=np.float32),
    })


def test_a_wide_flatten_net_round_trips_and_plans_from_the_pipelines_windows(tmp_path: Path) -> None:
    config = MotionConfig(mel_window=60, head="flatten")
    path = tmp_path / "wide.safetensors"
    save_bundle(path, _bundle(config))
    loaded = load_bundle(path)
    assert loaded.config.motion == config
    rng = np.random.default_rng(2)
    mel = rng.uniform(-4, 4, (80, 400)).astype(np.float32)
    centres = (np.arange(100) + 0.5) / 25.0
    generator = LearnedGenerator(loaded)
    motion = generator.plan(frame_mel_windows(mel, centres), np.zeros(100, bool), Fraction(25), _profile())
    assert motion.shape == (100, 13)
    with torch.no_grad():
        expected = loaded.motion(torch.from_numpy(frame_mel_windows(mel, centres, 60))).numpy()
    assert np.allclose(generator.predict_codes(frame_mel_windows(mel, centres, 60)), expected)


def test_a_file_from_before_the_head_setting_loads_with_the_averaging_head(tmp_path: Path) -> None:
    path = tmp_path / "old.safetensors"
    bundle = _bundle(MotionConfig(head="pool", smooth_s=0.04))
    save_bundle(path, bundle)
    tensors, metadata = read_tensors(path, WEIGHTS_FORMAT)
    config = json.loads(metadata["config"])
    for key in ("head", "smooth_s"):  # as written by the code before the settings existed
        del config["motion"][key]
    metadata = {k: v for k, v in metadata.items() if k != "payload_sha256"}
    write_tensors(path, tensors, {**metadata, "config": json.dumps(config)})
    loaded = load_bundle(path)
    assert (loaded.config.motion.head, loaded.config.motion.smooth_s) == ("pool", 0.04)
    windows = torch.from_numpy(np.random.default_rng(3).uniform(-4, 4, (4, 80, 20)).astype(np.float32))
    with torch.no_grad():
        assert torch.allclose(loaded.motion(windows), bundle.motion.half().float()(windows), atol=1e-5)


def test_a_file_naming_an_unknown_head_is_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "future.safetensors"
    save_bundle(path, _bundle(MotionConfig()))
    tensors, metadata = read_tensors(path, WEIGHTS_FORMAT)
    config = json.loads(metadata["config"])
    config["motion"]["head"] = "transformer"
    metadata = {k: v for k, v in metadata.items() if k != "payload_sha256"}
    write_tensors(path, tensors, {**metadata, "config": json.dumps(config)})
    with pytest.raises(ModelError, match="does not fit"):
        load_bundle(path)


def test_plan_smooths_the_codes_as_the_weights_say() -> None:
    rng = np.random.default_rng(4)
    mel = frame_mel_windows(rng.uniform(-4, 4, (80, 400)).astype(np.float32), (np.arange(100) + 0.5) / 25.0)
    speech = np.ones(100, bool)
    plans = {}
    for smooth in (0.0, 0.08):
        plans[smooth] = LearnedGenerator(_bundle(MotionConfig(smooth_s=smooth, closure_threshold=0.0))).plan(mel, speech, Fraction(25), _profile())[:, :10]
    raw = LearnedGenerator(_bundle(MotionConfig())).predict_codes(widen_windows(mel, 25.0, 40))
    assert np.allclose(plans[0.0][10:-10], raw[10:-10], atol=1e-5)  # no smoothing: the net's codes (speech fade aside)
    assert np.abs(np.diff(plans[0.08], axis=0)).mean() < 0.5 * np.abs(np.diff(plans[0.0], axis=0)).mean()


def test_predicted_codes_are_the_network_output_times_the_gain_plus_the_offset() -> None:
    bundle = _bundle(MotionConfig())
    plain = LearnedGenerator(bundle).predict_codes(np.zeros((3, 80, 40), np.float32))
    offset = np.linspace(-0.1, 0.1, 10, dtype=np.float32)
    shifted = LearnedGenerator(dataclasses.replace(bundle, gain=np.full(10, 2.0, np.float32), offset=offset))
    assert np.allclose(shifted.predict_codes(np.zeros((3, 80, 40), np.float32)), 2.0 * plain + offset, atol=1e-6)
