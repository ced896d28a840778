"""Mask and paste on real faces: exact outside the mask, lossless round trip, colour match, grain, edge correction."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from lipsync_engine.blend import PasteConfig, lower_face_mask, paste
from lipsync_engine.faces import align_face, image_face, topology
from lipsync_engine.faces.align import Alignment

from faces_media import clip_frames, landmarker, needs_clips, on_canvas  # noqa: F401 (fixture)

pytestmark = needs_clips
S = 256


@pytest.fixture(scope="module")
def face_rgb():
    return clip_frames("retalking_face2.mp4", 1)[0]  # 844x844


@pytest.fixture(scope="module")
def canvases(face_rgb, landmarker):
    """{(w, h): (uint8 frame, alignment, crop points, mask)}, each measured once per module."""
    cache = {}

    def get(size):
        if size not in cache:
            frame = on_canvas(face_rgb, size, 0.8)
            cache[size] = (frame, *_setup(frame, landmarker))
        return cache[size]
    return get


def _setup(rgb, landmarker):
    face = image_face(rgb, landmarker=landmarker)
    alignment = align_face(face.points, S)
    crop_points = alignment.to_crop(face.points)
    return alignment, crop_points, lower_face_mask(crop_points, S)


def _max_diff(a, b):
    """Largest absolute difference of two same-shape integer frames (compares only the pixels that differ)."""
    differ = (a != b).any(2)
    return int(np.abs(a[differ].astype(np.int64) - b[differ]).max()) if differ.any() else 0


def _warped_support(mask, alignment, shape):
    """Frame pixels the mask can reach (full-frame warp: fine in a test), grown by one pixel."""
    up = cv2.warpAffine(mask, alignment.inverse, (shape[1], shape[0]), flags=cv2.INTER_LINEAR)
    return cv2.dilate((up > 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def test_mask_covers_the_lower_face_only(face_rgb, landmarker):
    alignment, p, mask = _setup(face_rgb, landmarker)
    assert mask.shape == (S, S) and mask.dtype == np.float32
    assert mask.min() == 0.0 and mask.max() == 1.0
    assert not mask[[0, -1]].any() and not mask[:, [0, -1]].any()  # zero at the crop border

    def at(xy):
        return mask[int(round(xy[1])), int(round(xy[0]))]

    for i in topology.OUTER_LIPS + (topology.CHIN,):
        assert at(p[i]) > 0.9
    for i in topology.STABLE[:4] + (168,):  # eyes and the top of the nose stay untouched
        assert at(p[i]) == 0.0
    # An opened jaw: below the chin by 5 % of the face width is still fully inside (the crop framing of
    # align_face ends about 15 % below the chin, where the mask must have faded to 0).
    width = np.linalg.norm(p[93] - p[323])
    assert at(p[topology.CHIN] + np.array([0.0, 0.05 * width])) > 0.8
    # Soft edge: a real ramp, not a hard step.
    assert ((mask > 0.05) & (mask < 0.95)).sum() > 0.1 * (mask > 0).sum()


@pytest.mark.parametrize("size", [(256, 256), (1920, 1080), (3840, 2160), (1001, 777)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_identity_round_trip_is_lossless(size, dtype, canvases):
    frame8, alignment, _, mask = canvases(size)
    frame = frame8 if dtype == np.uint8 else frame8.astype(np.uint16) * 257 + 100
    crop = alignment.crop(frame)
    out = paste(frame, crop, alignment, mask)
    assert out.shape == frame.shape and out.dtype == frame.dtype
    assert _max_diff(out, frame) <= 1
    # An 8-bit crop on a 16-bit frame (what an 8-bit generator gives) is within one 8-bit step.
    if dtype == np.uint16:
        out8 = paste(frame, (crop >> 8).astype(np.uint8), alignment, mask)
        assert _max_diff(out8, frame) <= 257


@pytest.mark.parametrize("size", [(256, 256), (1920, 1080), (3840, 2160), (1001, 777)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_pixels_outside_the_mask_are_bit_identical(size, dtype, canvases):
    frame8, alignment, _, mask = canvases(size)
    frame = frame8 if dtype == np.uint8 else frame8.astype(np.uint16) * 257
    generated = np.full((S, S, 3), 255, np.uint8)  # everything changes where the mask lets it
    out = paste(frame, generated, alignment, mask)
    changed = (out != frame).any(2)
    support = _warped_support(mask, alignment, frame.shape)
    assert changed.sum() > 0.5 * support.sum()
    assert not (changed & ~support).any()


def test_strength_zero_changes_nothing(face_rgb, landmarker):
    alignment, _, mask = _setup(face_rgb, landmarker)
    out = paste(face_rgb, np.zeros((S, S, 3), np.uint8), alignment, mask, strength=0.0)
    np.testing.assert_array_equal(out, face_rgb)


def test_colour_shift_of_the_generator_is_corrected(face_rgb, landmarker):
    alignment, _, mask = _setup(face_rgb, landmarker)
    crop = alignment.crop(face_rgb).astype(np.int16)
    shifted = np.clip(crop + np.array([25, -15, 10]), 0, 255).astype(np.uint8)
    inside = _warped_support(mask, alignment, face_rgb.shape)
    matched = paste(face_rgb, shifted, alignment, mask)
    raw = paste(face_rgb, shifted, alignment, mask, config=PasteConfig(colour_match=False))
    err_matched = np.abs(matched[inside].astype(float).mean(0) - face_rgb[inside].mean(0)).max()
    err_raw = np.abs(raw[inside].astype(float).mean(0) - face_rgb[inside].mean(0)).max()
    assert err_raw > 8 and err_matched < 2


def test_smooth_smear_at_the_mask_edge_is_removed_and_the_mouth_kept(face_rgb, landmarker):
    """The renderer's failure on tight crops: suit colour smeared onto the cheek up to the mask's edge, plus
    the mouth's real change. The edge correction takes the smear out and leaves the mouth alone."""
    _, p, mask = _setup(face_rgb, landmarker)
    alignment = align_face(image_face(face_rgb, landmarker=landmarker).points, S)
    crop = alignment.crop(face_rgb)
    identity = Alignment(matrix=np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), size=S)  # paste in crop space
    yy, xx = np.mgrid[:S, :S].astype(np.float32)
    ys, xs = np.nonzero((mask > 0.3) & (mask < 0.7))  # centred in the soft edge, on the jaw's side
    near = np.argmin(np.hypot(xs - p[172][0], ys - p[172][1]))
    centre = np.array([xs[near], ys[near]], np.float32)
    blob = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * (0.05 * S) ** 2))
    smear = blob[..., None] * np.array([-50.0, -40.0, -15.0])
    lips = p[list(topology.INNER_LIPS)]
    top = lips[:, 1].min()  # an opened mouth: the inner lips stretched downwards from the upper lip, drawn dark
    opened = np.zeros((S, S), np.uint8)
    cv2.fillPoly(opened, [np.round(np.c_[lips[:, 0], top + (lips[:, 1] - top) * 4.0]).astype(np.int32)], 1)
    generated = crop.astype(np.float32) + smear
    generated[opened > 0] = [40, 20, 20]
    generated = np.clip(np.rint(generated), 0, 255).astype(np.uint8)
    on = paste(crop, generated, identity, mask).astype(np.float32) - crop
    off = paste(crop, generated, identity, mask, config=PasteConfig(edge_reach=0.0)).astype(np.float32) - crop
    smeared = (blob > 0.3) & (mask > 0.0) & (mask < 1.0)  # the smear in the soft edge
    mouth = opened > 0
    assert smeared.sum() > 200 and mouth.sum() > 200
    smear_on, smear_off = np.abs(on[smeared]).mean(), np.abs(off[smeared]).mean()
    assert smear_off > 8 and smear_on < 0.45 * smear_off, (smear_on, smear_off)
    wanted = generated[mouth].astype(np.float32) - crop[mouth]
    kept, kept_off, drawn = np.abs(on[mouth]).mean(), np.abs(off[mouth]).mean(), np.abs(wanted).mean()
    assert kept > 0.85 * drawn and abs(kept - kept_off) < 0.01 * drawn, (kept, kept_off, drawn)


def test_grain_is_kept_where_the_mouth_is_redrawn(landmarker):
    rng = np.random.default_rng(7)
    face = on_canvas(clip_frames("edtalk_obama.mp4", 1)[0], (1280, 720), 0.9)
    grainy = np.clip(face + rng.normal(0, 6, face.shape), 0, 255).astype(np.uint8)
    alignment, p, mask = _setup(grainy, landmarker)
    crop = alignment.crop(grainy)
    redrawn = cv2.GaussianBlur(crop, (0, 0), 3)  # a generator that draws a smoother mouth
    centre = alignment.to_frame(p[list(topology.OUTER_LIPS)].mean(0, keepdims=True))[0].astype(int)
    patch = np.s_[centre[1] - 30:centre[1] + 30, centre[0] - 40:centre[0] + 40]

    def fine_detail(img):
        f = img[patch].astype(np.float32)
        return float((f - cv2.GaussianBlur(f, (0, 0), 2)).std())

    with_grain = paste(grainy, redrawn, alignment, mask)
    without = paste(grainy, redrawn, alignment, mask, config=PasteConfig(grain=False))
    assert fine_detail(without) < 0.6 * fine_detail(grainy)
    assert fine_detail(with_grain) > 0.75 * fine_detail(grainy)


def test_bad_shapes_are_clear_errors(face_rgb, landmarker):
    alignment, p, mask = _setup(face_rgb, landmarker)
    with pytest.raises(ValueError, match=r"generated crop must be \(256, 256, 3\)"):
        paste(face_rgb, np.zeros((128, 128, 3), np.uint8), alignment, mask)
    with pytest.raises(ValueError, match="frame must be HxWx3 uint8 or uint16"):
        paste(face_rgb.astype(np.float32), np.zeros((S, S, 3), np.uint8), alignment, mask)
    with pytest.raises(ValueError, match="finite"):
        lower_face_mask(np.full((468, 2), np.nan), S)


def test_inplace_paste_writes_into_the_frame(face_rgb, landmarker):
    alignment, _, mask = _setup(face_rgb, landmarker)
    generated = np.zeros((S, S, 3), np.uint8)
    expected = paste(face_rgb, generated, alignment, mask)
    frame = face_rgb.copy()
    result = paste(frame, generated, alignment, mask, inplace=True)
    assert result is frame
    np.testing.assert_array_equal(frame, expected)
    assert not np.array_equal(frame, face_rgb)


def test_face_at_the_frame_edge_pastes_inside_the_frame_only(face_rgb, landmarker):
    """The mask reaches below the chin, past the bottom edge here: the box is clipped, nothing breaks."""
    frame = np.ascontiguousarray(face_rgb[:640])  # the chin about 20 px above the bottom edge
    alignment, _, mask = _setup(frame, landmarker)
    assert alignment.to_frame(np.array([[128.0, 255.0]]))[0, 1] > frame.shape[0]  # crop runs off the frame
    np.testing.assert_array_equal(paste(frame, alignment.crop(frame), alignment, mask), frame)
    out = paste(frame, np.zeros((S, S, 3), np.uint8), alignment, mask)
    changed = (out != frame).any(2)
    assert changed[-1].any() and not (changed & ~_warped_support(mask, alignment, frame.shape)).any()
