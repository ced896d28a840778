"""Weights and profile files: round trip with config, and every kind of damage refused with ModelError."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lipsync_engine.errors import ModelError
from lipsync_engine.generator.base import ActorProfile
from lipsync_engine.generator.learned import load_learned
from lipsync_engine.model import GeneratorConfig, MotionConfig, RendererConfig, renderer_example_inputs
from lipsync_engine.model.actor import load_profile, save_profile
from lipsync_engine.model.audio_motion import build_audio_motion
from lipsync_engine.model.bundle import GeneratorBundle, load_bundle, save_bundle
from lipsync_engine.model.checkpoint import read_tensors, write_tensors
from lipsync_engine.model.renderer import build_renderer

CONFIG = GeneratorConfig(name="test-gen", renderer=RendererConfig(widths=(8, 8, 8, 8, 8)), motion=MotionConfig(hidden=16))


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    bundle = GeneratorBundle(
        config=CONFIG, renderer=build_renderer(CONFIG.renderer), motion=build_audio_motion(CONFIG.motion),
        basis=np.eye(10, 110, dtype=np.float32), gain=np.full(10, 1.5, np.float32),
        offset=np.linspace(-0.1, 0.1, 10, dtype=np.float32), notes={"run": "test"},
    )
    path = tmp_path / "gen.safetensors"
    save_bundle(path, bundle)
    return path


def test_round_trip_keeps_config_tensors_and_outputs(weights: Path, tmp_path: Path) -> None:
    loaded = load_bundle(weights)
    assert loaded.config == CONFIG
    assert loaded.notes == {"run": "test"}
    assert np.array_equal(loaded.gain, np.full(10, 1.5, np.float32))
    assert np.array_equal(loaded.offset, np.linspace(-0.1, 0.1, 10, dtype=np.float32))
    inputs = renderer_example_inputs(CONFIG.renderer, 2)
    with torch.no_grad():
        first = loaded.renderer(**inputs)
    again = tmp_path / "again.safetensors"
    save_bundle(again, loaded)  # fp16 -> fp32 -> fp16 is exact
    with torch.no_grad():
        second = load_bundle(again).renderer(**inputs)
    assert torch.equal(first, second)
    assert not again.with_name(again.name + ".tmp").exists()


def test_a_file_from_before_the_calibration_offset_loads_with_zero_offset(weights: Path, tmp_path: Path) -> None:
    loaded = load_bundle(weights)
    tensors = {k: v for k, v in read_tensors(weights, "lipsync-generator/1")[0].items() if k != "codec.offset"}
    older = tmp_path / "older.safetensors"
    write_tensors(older, tensors, {"format": "lipsync-generator/1", "config": CONFIG.to_json(), "notes": "{}"})
    legacy = load_bundle(older)
    assert np.array_equal(legacy.offset, np.zeros(10, np.float32))
    assert np.array_equal(legacy.gain, loaded.gain)


def test_flipped_byte_fails_the_checksum(weights: Path) -> None:
    blob = bytearray(weights.read_bytes())
    blob[-100] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="SHA-256"):
        load_bundle(weights)


def test_truncated_missing_and_foreign_files_are_refused(weights: Path, tmp_path: Path) -> None:
    weights.write_bytes(weights.read_bytes()[:5000])
    with pytest.raises(ModelError, match="corrupt|SHA-256"):
        load_bundle(weights)
    with pytest.raises(ModelError, match="not found"):
        load_learned(str(tmp_path / "nope.safetensors"))
    (tmp_path / "text.safetensors").write_text("hello")
    with pytest.raises(ModelError):
        load_bundle(tmp_path / "text.safetensors")
    other = tmp_path / "other.safetensors"
    write_tensors(other, {"x": torch.zeros(2)}, {"format": "something-else"})
    with pytest.raises(ModelError, match="format"):
        load_bundle(other)


def test_weights_that_do_not_fit_the_code_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    write_tensors(path, {"renderer.x": torch.zeros(2)},
                  {"format": "lipsync-generator/1", "config": CONFIG.to_json(), "notes": "{}"})
    with pytest.raises(ModelError, match="does not fit"):
        load_bundle(path)


def test_profile_round_trip_with_fine_tuned_renderer(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    state = {k: v.clone() for k, v in build_renderer(CONFIG.renderer).state_dict().items()}
    profile = ActorProfile(generator="test-gen", source="unit", data={
        "rest_shape": rng.random((55, 2), dtype=np.float32), "rest_anchor": np.array([0.5, 0.4], np.float32),
        "ref_crops": rng.integers(0, 255, (3, 192, 192, 3), dtype=np.uint8),
        "ref_codes": rng.random((3, 10), dtype=np.float32), "renderer_state": state,
    })
    path = tmp_path / "actor.lsprofile"
    save_profile(profile, path)
    loaded = load_profile(path)
    assert (loaded.generator, loaded.source) == ("test-gen", "unit")
    for key in ("rest_shape", "rest_anchor", "ref_crops", "ref_codes"):
        assert np.array_equal(loaded.data[key], profile.data[key])
    assert set(loaded.data["renderer_state"]) == set(state)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="SHA-256"):
        load_profile(path)
