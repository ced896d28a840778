"""The repaint mask: growth below the jaw is a weights setting, old weights keep the 6% mask, training
samples the mask the weights will get at run time, and the below-jaw band the crop eval measures."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from safetensors import safe_open

from lipsync_cli.main import main
from lipsync_engine.generator.learned import DEFAULT_WEIGHTS
from lipsync_engine.model import GeneratorConfig, RendererConfig
from lipsync_engine.model.mouth_shape import (JAW, MASK_GROW, MAX_JAW_TRIM, MOUTH_POINTS, below_jaw, fit_basis,
                                              hull_points, repaint_mask)
from lipsync_engine.train.clips import attach_codes, load_train_clips
from lipsync_engine.train.sampling import PairSampler, SamplingConfig

S, TOP = 192, 80


def _mouth(centre_y: float = 0.62, half_width: float = 0.14, depth: float = 0.2) -> np.ndarray:
    """A (P, 2) normalised shape: points on a U from cheek to cheek whose lowest point is the chin."""
    t = np.linspace(0.0, np.pi, len(MOUTH_POINTS))
    return np.stack([0.5 + half_width * np.cos(t), centre_y + depth * np.sin(t) * 0.5], 1).astype(np.float32)


def _six_percent_mask(shapes: list[np.ndarray]) -> np.ndarray:
    """The mask every weights file before the setting was trained with: isotropic 6% ellipse growth."""
    mask = np.zeros((S, S), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(np.concatenate(shapes) * S).astype(np.int32)), 255)
    grow = round(0.06 * S)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), grow / 2.0)
    return soft * np.clip((np.arange(S, dtype=np.float32) - TOP) / grow, 0.0, 1.0)[:, None]


def test_weights_without_the_setting_keep_the_six_percent_mask() -> None:
    with safe_open(str(DEFAULT_WEIGHTS), framework="pt") as f:
        raw = json.loads(f.metadata()["config"])
    raw["renderer"].pop("mask_below", None)  # a config written before the setting existed
    assert GeneratorConfig.from_json(json.dumps(raw)).renderer.mask_below == MASK_GROW == RendererConfig().mask_below
    shapes = [_mouth(), _mouth(centre_y=0.6, depth=0.26)]
    assert np.array_equal(repaint_mask(shapes, S, TOP), _six_percent_mask(shapes).astype(np.float32))


def test_mask_below_round_trips_through_the_config_json_and_is_checked() -> None:
    config = GeneratorConfig(renderer=RendererConfig(mask_below=0.02))
    assert GeneratorConfig.from_json(config.to_json()) == config
    assert GeneratorConfig.from_json(GeneratorConfig().to_json()).renderer.mask_below == 0.06
    with pytest.raises(ValueError, match="mask_below"):
        RendererConfig(mask_below=-0.01).check()


def test_a_tight_mask_keeps_the_chin_and_changes_nothing_above_the_jaw() -> None:
    shape = _mouth()
    wide, tight = repaint_mask([shape], S, TOP), repaint_mask([shape], S, TOP, below=0.02)
    chin = int(round(shape[:, 1].max() * S))
    assert (tight <= wide + 1e-6).all()
    assert tight[chin, S // 2] > 0.6  # the jaw itself is still repainted
    assert wide[chin + 12, S // 2] > 0.4 and tight[chin + 12, S // 2] < 0.15  # 6% of S below the chin
    top_of_hull = int(shape[:, 1].min() * S)
    assert np.abs(tight - wide)[:top_of_hull].max() < 0.02  # above the hull: the same mask but for the feather


def test_below_jaw_is_the_part_under_the_hull_in_its_columns() -> None:
    shape = _mouth()
    band = below_jaw(shape, S)
    chin = int(round(shape[:, 1].max() * S))
    assert band[chin + 2, S // 2] and not band[chin - 2, S // 2]
    assert not band[:, :int(0.3 * S)].any()  # columns left of the hull: not "below the jaw"
    assert not band[:int(0.5 * S)].any()


@pytest.fixture
def coded_clips(tiny_cache: Path) -> tuple[list, np.ndarray]:
    """The tiny cache's training clips with their mouth codes, and the basis they are coded on."""
    clips = load_train_clips(tiny_cache, "train")
    basis = fit_basis(np.concatenate([c.disp for c in clips]), 10)
    attach_codes(clips, basis)
    return clips, basis


@pytest.mark.parametrize("setting", [{"mask_below": 0.02}, {"mask_jaw_trim": 2}])
def test_training_samples_the_mask_of_the_weights_config(coded_clips: tuple, setting: dict) -> None:
    clips, basis = coded_clips
    small = RendererConfig(widths=(8, 8, 12, 12, 16))
    wide = PairSampler(clips, basis, small, SamplingConfig(min_gap=6), seed=3).batch(2)
    tight = PairSampler(clips, basis, dataclasses.replace(small, **setting), SamplingConfig(min_gap=6), seed=3).batch(2)
    for name in ("target", "shape", "reference"):
        assert np.array_equal(getattr(wide, name), getattr(tight, name))
    assert (tight.mask <= wide.mask + 1e-6).all() and (wide.mask - tight.mask).max() > 0.3


def test_decoy_masks_also_cover_another_frames_mouth(coded_clips: tuple) -> None:
    clips, basis = coded_clips
    small = RendererConfig(widths=(8, 8, 12, 12, 16), mask_below=0.02)
    plain = PairSampler(clips, basis, small, SamplingConfig(min_gap=6), seed=5).batch(1)
    decoy = PairSampler(clips, basis, small, SamplingConfig(min_gap=6, mask_decoy=1.0), seed=5).batch(1)
    for name in ("target", "shape", "reference"):  # the same sample; only its mask is wider
        assert np.array_equal(getattr(plain, name), getattr(decoy, name))
    assert (decoy.mask >= plain.mask - 1e-6).all() and (decoy.mask - plain.mask).max() > 0.3


def test_train_refuses_an_absurd_mask_below(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--cache", str(tmp_path), "--mask-below", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "--mask-below" in err and "Traceback" not in err
    assert main(["train", "--cache", str(tmp_path), "--mask-decoy", "1.5"]) == 2
    assert "--mask-decoy" in capsys.readouterr().err


def _face_mouth() -> np.ndarray:
    """A (P, 2) normalised shape with small lips round (0.5, 0.62) and a jaw line on a wide U below them."""
    lips = len(MOUTH_POINTS) - len(JAW)
    t = np.linspace(0.0, 2 * np.pi, lips, endpoint=False)
    u = np.linspace(0.0, np.pi, len(JAW))
    return np.concatenate([np.stack([0.5 + 0.1 * np.cos(t), 0.62 + 0.04 * np.sin(t)], 1),
                           np.stack([0.5 - 0.3 * np.cos(u), 0.55 + 0.3 * np.sin(u)], 1)]).astype(np.float32)


def test_jaw_trim_leaves_the_jaw_angles_out_of_the_hull() -> None:
    shape = _face_mouth()
    assert hull_points(shape, 0) is shape
    trimmed = hull_points(shape, 2)
    jaw_ends = [len(MOUTH_POINTS) - len(JAW) + i for i in (0, 1, len(JAW) - 2, len(JAW) - 1)]
    assert np.array_equal(trimmed, np.delete(shape, jaw_ends, axis=0))
    wide, narrow = repaint_mask([shape], S, TOP), repaint_mask([shape], S, TOP, jaw_trim=2)
    assert (narrow <= wide + 1e-6).all()
    angle = np.round(shape[jaw_ends[0]] * S).astype(int)  # the left jaw angle: repainted only untrimmed
    assert wide[angle[1], angle[0]] > 0.9 and narrow[angle[1], angle[0]] < 0.5
    chin = np.round(shape[len(MOUTH_POINTS) - len(JAW) // 2 - 1] * S).astype(int)
    assert narrow[chin[1], chin[0]] > 0.9  # the chin is still repainted
    with pytest.raises(ValueError, match="jaw_trim"):
        hull_points(shape, MAX_JAW_TRIM + 1)


def test_mask_jaw_trim_is_a_weights_setting_old_files_read_as_zero() -> None:
    with safe_open(str(DEFAULT_WEIGHTS), framework="pt") as f:
        raw = json.loads(f.metadata()["config"])
    raw["renderer"].pop("mask_jaw_trim", None)
    assert GeneratorConfig.from_json(json.dumps(raw)).renderer.mask_jaw_trim == 0
    config = GeneratorConfig(renderer=RendererConfig(mask_jaw_trim=2))
    assert GeneratorConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="mask_jaw_trim"):
        RendererConfig(mask_jaw_trim=MAX_JAW_TRIM + 1).check()


def test_train_refuses_an_absurd_jaw_trim(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--cache", str(tmp_path), "--mask-jaw-trim", "9"]) == 2
    err = capsys.readouterr().err
    assert "--mask-jaw-trim" in err and "Traceback" not in err
