"""`lipsync average-weights`: the renderer is the mean of the runs', the rest is the first file's, and the
file carries its own validation numbers (measured on the tiny dataset cache of conftest)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lipsync_cli.main import main
from lipsync_engine.model import GeneratorConfig, MotionConfig, RendererConfig
from lipsync_engine.model.audio_motion import build_audio_motion
from lipsync_engine.model.bundle import GeneratorBundle, load_bundle, save_bundle
from lipsync_engine.model.renderer import build_renderer

CONFIG = GeneratorConfig(name="test-gen", renderer=RendererConfig(widths=(8, 8, 8, 8, 8)), motion=MotionConfig(hidden=16))


def _weights(path: Path, seed: int, config: GeneratorConfig = CONFIG) -> Path:
    torch.manual_seed(seed)
    save_bundle(path, GeneratorBundle(
        config=config, renderer=build_renderer(config.renderer), motion=build_audio_motion(config.motion),
        basis=np.eye(10, 110, dtype=np.float32), gain=np.full(10, 1.0 + seed, np.float32),
        offset=np.full(10, 0.01 * seed, np.float32), notes={"seed": seed},
    ))
    return path


def test_renderer_is_the_mean_and_motion_the_first_files(
    tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    paths = [_weights(tmp_path / f"run{seed}.safetensors", seed) for seed in (1, 2, 3)]
    out = tmp_path / "mean.safetensors"
    assert main(["average-weights", *map(str, paths), "--out", str(out), "--cache", str(tiny_cache)]) == 0
    runs = [load_bundle(path) for path in paths]
    mean = load_bundle(out)
    for key, value in mean.renderer.state_dict().items():
        expected = torch.stack([run.renderer.state_dict()[key] for run in runs]).mean(0)
        assert torch.allclose(value, expected, atol=2e-3), key  # stored in fp16
    key = next(iter(mean.renderer.state_dict()))
    assert not torch.equal(mean.renderer.state_dict()[key], runs[0].renderer.state_dict()[key])
    first_motion = runs[0].motion.state_dict()
    assert all(torch.equal(v, first_motion[k]) for k, v in mean.motion.state_dict().items())
    assert np.array_equal(mean.gain, runs[0].gain)
    assert np.array_equal(mean.offset, runs[0].offset)  # the calibration goes with its motion network
    assert mean.notes["renderer_average_of"] == [run.label for run in runs]
    assert mean.notes["averaged_notes"] == [{"seed": 1}, {"seed": 2}, {"seed": 3}]
    assert set(mean.notes["crop_psnr_validation"]) == {"retrieval", "fixed_reference", "paste_reference"}
    assert mean.notes["crop_sync_validation"]["sharpness_ratio"] > 0
    assert mean.label not in {run.label for run in runs}
    assert f"wrote {out} ({mean.label})" in capsys.readouterr().out


def test_runs_of_another_renderer_design_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = GeneratorConfig(name="test-gen", renderer=RendererConfig(widths=(8, 8, 8, 8, 8), mask_below=0.02),
                            motion=MotionConfig(hidden=16))
    first, second = _weights(tmp_path / "a.safetensors", 1), _weights(tmp_path / "b.safetensors", 2, other)
    out = tmp_path / "mean.safetensors"
    assert main(["average-weights", str(first), str(second), "--out", str(out)]) == 2
    assert "another renderer" in capsys.readouterr().err
    assert not out.exists()


def test_one_file_is_not_an_average(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mean.safetensors"
    assert main(["average-weights", str(_weights(tmp_path / "a.safetensors", 1)), "--out", str(out)]) == 2
    assert "two or more" in capsys.readouterr().err
    assert not out.exists()
