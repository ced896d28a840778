"""device_paste (torch) against paste (numpy) on real faces, and a render that blends with it.

On CPU torch everywhere; the CUDA cases run only where torch sees a GPU.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from lipsync_cli.main import main
from lipsync_engine import RenderOptions, load_generator, render_video
from lipsync_engine.blend import PasteConfig, lower_face_mask, paste
from lipsync_engine.blend.device_paste import device_paste
from lipsync_engine.errors import InputError
from lipsync_engine.faces import align_face, image_face
from lipsync_engine.faces.tracker import ShotTrack
from lipsync_engine.pipeline.compose import blend_device

from faces_media import clip_frames, landmarker, needs_clips, on_canvas  # noqa: F401 (fixture)
from media_factory import clip_frames as cut_frames, make_audio, make_video
from pipeline_media import (
    FACE_CLIP, LOSSLESS, OTHER_CLIP, changes_outside_the_mask, clip_speech, decoded, needs_data, tiny_learned_weights,
)

pytestmark = needs_clips
S = 256
NO_GRAIN = PasteConfig(grain=False)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU here")
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The box is shared: torch on one thread, as the benchmarks run it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def face(landmarker):
    """(844x844 face frame, its landmarks), measured once."""
    rgb = clip_frames("retalking_face2.mp4", 1)[0]
    return rgb, image_face(rgb, landmarker=landmarker).points


def _scene(face, size, height, angle=0.0, dtype=np.uint8, crop_rows=None):
    """(frame, alignment, mask): the face ``height`` of a (w, h) canvas, turned by ``angle`` degrees
    about the frame centre (the landmarks turned with it, not measured again)."""
    rgb, points = face
    if crop_rows is not None:  # the frame's bottom edge cuts through the chin
        canvas, pts = np.ascontiguousarray(rgb[:crop_rows]), points
    else:
        canvas = on_canvas(rgb, size, height)
        side = round(size[1] * height)
        scale = side / rgb.shape[0]
        x0 = round(size[0] / 2 - rgb.shape[1] * scale / 2)
        pts = points * scale + [x0, (size[1] - side) // 2]
    turn = cv2.getRotationMatrix2D((canvas.shape[1] / 2, canvas.shape[0] / 2), angle, 1.0)
    frame = cv2.warpAffine(canvas, turn, (canvas.shape[1], canvas.shape[0]), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    pts = pts @ turn[:, :2].T + turn[:, 2]
    if dtype == np.uint16:
        frame = frame.astype(np.uint16) * 257 + 100
    alignment = align_face(pts, S)
    return frame, alignment, lower_face_mask(alignment.to_crop(pts), S)


def _redrawn(frame, alignment, kind):
    """A generated crop: a smoother mouth with a colour cast, or noise (the steepest the warp can meet)."""
    crop = alignment.crop(frame)
    crop8 = crop if crop.dtype == np.uint8 else (crop >> 8).astype(np.uint8)
    if kind == "noise":
        return np.random.default_rng(3).integers(0, 256, crop8.shape, dtype=np.uint8)
    return np.clip(cv2.GaussianBlur(crop8, (0, 0), 3).astype(np.int16) + [20, -12, 8], 0, 255).astype(np.uint8)


def _support(mask, alignment, shape):
    """Frame pixels the warped mask reaches (full-frame warp), grown by one pixel."""
    up = cv2.warpAffine(mask, alignment.inverse, (shape[1], shape[0]), flags=cv2.INTER_LINEAR)
    return cv2.dilate((up > 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


CASES = {  # name: (canvas (w, h), face height fraction, angle, frame dtype, strength, generated kind, crop rows)
    "1080p": ((1920, 1080), 0.6, 0.0, np.uint8, 1.0, "mouth", None),
    "1080p-16bit-turned": ((1920, 1080), 0.6, 25.0, np.uint16, 1.0, "mouth", None),
    "4k-turned-faded": ((3840, 2160), 0.45, -35.0, np.uint8, 0.55, "mouth", None),
    "small-face-16bit": ((640, 360), 0.5, 10.0, np.uint16, 0.8, "noise", None),
    "odd-size-noise": ((1001, 777), 0.8, 5.0, np.uint8, 1.0, "noise", None),
    "frame-edge": (None, None, 0.0, np.uint8, 1.0, "mouth", 640),
    "frame-edge-16bit": (None, None, 0.0, np.uint16, 0.7, "mouth", 640),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_numpy_paste_with_grain_off(face, name):
    _assert_parity(face, name, NO_GRAIN)


def test_matches_numpy_paste_without_the_edge_correction(face):
    _assert_parity(face, "1080p-16bit-turned", PasteConfig(grain=False, edge_reach=0.0))


def _assert_parity(face, name, config):
    size, height, angle, dtype, strength, kind, rows = CASES[name]
    frame, alignment, mask = _scene(face, size, height, angle, dtype, rows)
    generated = _redrawn(frame, alignment, kind)
    expected = paste(frame, generated, alignment, mask, strength, config)
    got = device_paste(frame, generated, alignment, mask, strength, config)
    assert got.dtype == frame.dtype and got.shape == frame.shape
    changed = (got != frame).any(2)
    assert changed.sum() > 1000, "the paste changed almost nothing: the comparison proves little"
    assert not (changed & ~_support(mask, alignment, frame.shape)).any(), "a pixel outside the warped mask changed"
    diff = np.abs(got.astype(np.int64) - expected)
    # the same taps and weights as cv2.warpAffine: only float rounding differs
    assert diff.max() <= (1 if dtype == np.uint8 else 4), diff.max()
    if dtype == np.uint8:
        assert (diff > 0).any(2).sum() <= 0.002 * changed.sum()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_grain_is_as_strong_as_numpy_grain(landmarker, dtype):
    rng = np.random.default_rng(7)
    clean = on_canvas(clip_frames("edtalk_obama.mp4", 1)[0], (1280, 720), 0.9)
    grainy = np.clip(clean + rng.normal(0, 6, clean.shape), 0, 255).astype(np.uint8)
    points = image_face(grainy, landmarker=landmarker).points
    alignment = align_face(points, S)
    mask = lower_face_mask(alignment.to_crop(points), S)
    redrawn = cv2.GaussianBlur(alignment.crop(grainy), (0, 0), 3)  # a smoother mouth: its grain is gone
    frame = grainy if dtype == np.uint8 else grainy.astype(np.uint16) * 257

    def grain(paste_fn):
        with_grain = paste_fn(frame, redrawn, alignment, mask).astype(np.float64)
        return with_grain - paste_fn(frame, redrawn, alignment, mask, config=NO_GRAIN)

    numpy_grain, device_grain = grain(paste), grain(device_paste)
    assert numpy_grain.std() > (0.5 if dtype == np.uint8 else 128), "no grain was added: the test proves nothing"
    assert abs(device_grain.std() / numpy_grain.std() - 1.0) < 0.1


def test_strength_zero_inplace_and_bad_input(face):
    frame, alignment, mask = _scene(face, (1280, 720), 0.7)
    black = np.zeros((S, S, 3), np.uint8)
    np.testing.assert_array_equal(device_paste(frame, black, alignment, mask, strength=0.0), frame)
    target = frame.copy()
    assert device_paste(target, black, alignment, mask, inplace=True) is target
    np.testing.assert_array_equal(target, device_paste(frame, black, alignment, mask))  # the grain is seeded
    assert not np.array_equal(target, frame)
    with pytest.raises(InputError, match=r"generated crop must be \(256, 256, 3\)"):
        device_paste(frame, np.zeros((128, 128, 3), np.uint8), alignment, mask)


@pytest.mark.parametrize("device", DEVICES)
def test_identity_crop_gives_the_frame_back(face, device):
    for dtype in (np.uint8, np.uint16):
        frame, alignment, mask = _scene(face, (1920, 1080), 0.6, 15.0, dtype)
        out = device_paste(frame, alignment.crop(frame), alignment, mask, device=device)
        assert np.abs(out.astype(np.int64) - frame).max() <= 1


@needs_cuda
@pytest.mark.parametrize("name", ["1080p-16bit-turned", "4k-turned-faded"])
def test_cuda_matches_numpy_paste(face, name):
    size, height, angle, dtype, strength, kind, rows = CASES[name]
    frame, alignment, mask = _scene(face, size, height, angle, dtype, rows)
    generated = _redrawn(frame, alignment, kind)
    expected = paste(frame, generated, alignment, mask, strength, NO_GRAIN)
    got = device_paste(frame, generated, alignment, mask, strength, NO_GRAIN, device="cuda")
    assert np.abs(got.astype(np.int64) - expected).max() <= (1 if dtype == np.uint8 else 4)


@needs_data
def test_render_with_the_device_blend_changes_only_pixels_under_the_mask(tmp_path, capsys):
    shot = make_video(tmp_path / "shot.mkv", cut_frames(FACE_CLIP, 0.0, 10), **LOSSLESS)
    dub = make_audio(tmp_path / "dub.wav", clip_speech(OTHER_CLIP, seconds=0.4), 16000)
    generator = load_generator(str(tiny_learned_weights(tmp_path)))  # the learned model, random weights, on CPU
    assert blend_device("device", generator) == "cpu" and blend_device("auto", generator) is None
    assert blend_device("cpu", generator) is None
    out, track = tmp_path / "take.mkv", tmp_path / "track.npz"
    weights = tmp_path / "tiny.safetensors"
    assert main(["render", "--video", str(shot), "--audio", str(dub), "--out", str(out), "--weights", str(weights),
                 "--codec", "ffv1", "--blend", "device", "--track-cache", str(track)]) == 0
    points = ShotTrack.load(track).points
    changed_frames = 0
    for i, (source, take) in enumerate(zip(decoded(shot), decoded(out))):
        changed, outside = changes_outside_the_mask(source, take, points[i], generator.crop_size)
        assert outside == 0, f"frame {i}: {outside} pixels outside the blend mask changed"
        changed_frames += changed > 0
    assert changed_frames > 0, "the generator changed no frame: the test proves nothing"
    # numpy's take differs (its grain is drawn by numpy: so the device did blend) by about the grain only
    cpu_take = tmp_path / "cpu.mkv"
    render_video(shot, dub, cpu_take, generator, RenderOptions(codec="ffv1", blend="cpu"), track=track)
    pairs = [(a.astype(np.int64), b) for a, b in zip(decoded(out), decoded(cpu_take))]
    differ = sum(int((a != b).any(2).sum()) for a, b in pairs)
    assert differ > 0
    assert sum(int(np.abs(a - b).sum()) for a, b in pairs) / differ < 3 * 3  # < 3 levels a channel on average
    with pytest.raises(InputError, match="blend 'gpu' is unknown"):
        render_video(shot, dub, tmp_path / "bad.mkv", generator, RenderOptions(blend="gpu"))
