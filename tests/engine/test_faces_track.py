"""Tracking real clips: validity, jitter, covered faces, the dominant face, save/load, cancel, progress."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from lipsync_engine.errors import InputError, RenderCancelled
from lipsync_engine.faces import ShotTrack, topology, track_shot
from lipsync_engine.options import PassthroughSegment

from faces_media import clip_frames, landmarker, needs_clips, on_canvas  # noqa: F401 (fixture)

pytestmark = needs_clips

CLIP = "edtalk_obama.mp4"  # 450x450, frontal, talking, 25 fps


@pytest.fixture(scope="module")
def frames():
    return clip_frames(CLIP, 50)  # two seconds


@pytest.fixture(scope="module")
def track(frames, landmarker):
    return track_shot(enumerate(frames), fps=25.0, landmarker=landmarker)


def _acceleration_std(points: np.ndarray) -> float:
    """Std of the frame-to-frame change of velocity of the stable points (px/frame^2): jitter."""
    return float(np.nanstd(np.diff(points[:, list(topology.STABLE)], n=2, axis=0)))


def test_two_second_clip_is_valid_and_smooth(track):
    assert len(track) == 50 and track.valid.all() and track.segments() == []
    assert track.points.shape == (50, 468, 2) and track.points.dtype == np.float32
    assert _acceleration_std(track.points) < 0.6 * _acceleration_std(track.raw_points)
    # No lag: smoothed points stay within a pixel of the measurements on average.
    assert np.abs(track.points - track.raw_points).mean() < 1.0


def test_mouth_motion_survives_smoothing(track):
    def opening(p):
        return p[:, topology.LOWER_LIP_INNER, 1] - p[:, topology.UPPER_LIP_INNER, 1]
    raw, smooth = opening(track.raw_points), opening(track.points)
    assert raw.std() > 1.0  # he is talking
    assert np.corrcoef(raw, smooth)[0, 1] > 0.95
    assert smooth.std() > 0.8 * raw.std()  # not damped


def test_covered_face_frames_are_invalid_with_reason(frames, landmarker, track):
    box = track.raw_points[0].min(0).astype(int) - 20, track.raw_points[0].max(0).astype(int) + 20
    (x0, y0), (x1, y1) = box

    def covered():
        for i, rgb in enumerate(frames[:30]):
            if 10 <= i <= 20:
                rgb = rgb.copy()
                rgb[max(0, y0):y1, max(0, x0):x1] = 0
            yield 100 + i, rgb

    result = track_shot(covered(), fps=25.0, landmarker=landmarker)
    assert result.first_index == 100
    assert not result.valid[10:21].any() and result.valid[:10].all() and result.valid[21:].all()
    assert result.segments() == [PassthroughSegment(start=110, end=120, reason="no_face")]
    assert np.isnan(result.points[10:21]).all() and not np.isnan(result.points[:10]).any()


def test_covered_mouth_frames_are_invalid_with_reason(frames, landmarker, track):
    """A skin-coloured patch (a hand) over the lips: the face is still found, but the mouth is not free."""
    lips = track.raw_points[0][list(topology.OUTER_LIPS)]
    (x0, y0), (x1, y1) = lips.min(0).astype(int) - 12, lips.max(0).astype(int) + 12
    cheek = frames[0][int(track.raw_points[0][205, 1]), int(track.raw_points[0][205, 0])].astype(float)
    rng = np.random.default_rng(5)
    hand = np.clip(cheek + rng.normal(0, 6, (y1 - y0, x1 - x0, 3)), 0, 255).astype(np.uint8)

    def covered():
        for i, rgb in enumerate(frames[:30]):
            if 10 <= i <= 20:
                rgb = rgb.copy()
                rgb[y0:y1, x0:x1] = hand
            yield i, rgb

    result = track_shot(covered(), fps=25.0, landmarker=landmarker)
    assert result.segments() == [PassthroughSegment(start=10, end=20, reason="face_occluded")]


def test_one_frame_dropout_is_filled(frames, landmarker):
    seq = [rgb if i != 5 else np.zeros_like(rgb) for i, rgb in enumerate(frames[:12])]
    result = track_shot(enumerate(seq), fps=25.0, landmarker=landmarker)
    assert result.valid.all() and result.interpolated[5] and result.interpolated.sum() == 1
    mid = (result.points[4] + result.points[6]) / 2
    assert np.abs(result.points[5] - mid).mean() < 2.0


def test_dominant_face_is_tracked_and_others_reported(frames, landmarker):
    small = clip_frames("grid_bbaf2n.mp4", 10)

    def pair():
        for i in range(10):
            left = on_canvas(frames[i], (500, 460), 0.95)
            right = on_canvas(small[i], (500, 460), 0.6)
            yield i, np.concatenate([left, right], axis=1)

    result = track_shot(pair(), fps=25.0, landmarker=landmarker)
    assert result.valid.all()
    assert np.nanmax(result.points[:, :, 0]) < 500  # the bigger face, on the left
    assert result.other_faces == [(i, 1) for i in range(10)]


def test_save_and_load_round_trip(track, tmp_path):
    path = tmp_path / "shot.npz"
    track.save(path)
    loaded = ShotTrack.load(path)
    np.testing.assert_array_equal(loaded.points, track.points)
    np.testing.assert_array_equal(loaded.valid, track.valid)
    assert loaded.reasons == track.reasons and loaded.other_faces == track.other_faces
    assert loaded.fps == 25.0 and loaded.frame_size == (450, 450)
    assert [p.name for p in tmp_path.iterdir()] == ["shot.npz"]  # no temp file left
    (tmp_path / "bad.npz").write_bytes(b"not a track")
    with pytest.raises(InputError, match="cannot read face track"):
        ShotTrack.load(tmp_path / "bad.npz")


def test_cancel_stops_tracking(frames, landmarker):
    cancel = threading.Event()

    def stream():
        for i, rgb in enumerate(frames):
            if i == 3:
                cancel.set()
            yield i, rgb

    with pytest.raises(RenderCancelled, match="frame 3"):
        track_shot(stream(), fps=25.0, cancel=cancel, landmarker=landmarker)


def test_progress_reports_stage_track(frames, landmarker):
    events = []
    track_shot(enumerate(frames[:5]), fps=25.0, total=5, progress=events.append, landmarker=landmarker)
    assert events and events[-1].stage == "track" and events[-1].done == 5 and events[-1].total == 5
    events.clear()  # unknown length: the last event still says how many were done
    track_shot(enumerate(frames[:3]), fps=25.0, progress=events.append, landmarker=landmarker)
    assert (events[-1].done, events[-1].total) == (3, 3)


def test_bad_frame_sequences_are_errors(frames, landmarker):
    with pytest.raises(InputError, match="expected index 1, got 2"):
        track_shot([(0, frames[0]), (2, frames[1])], fps=25.0, landmarker=landmarker)
    with pytest.raises(InputError, match="no frames"):
        track_shot([], fps=25.0, landmarker=landmarker)


def test_turned_head_is_invalid_without_flicker(landmarker):
    frames = clip_frames("pcavs_input_00002.mp4", 40, start=40)  # a head turning back from near profile
    result = track_shot(enumerate(frames), fps=25.0, landmarker=landmarker)
    reasons = {g.reason for g in result.segments()}
    assert "face_turned" in reasons and result.valid.sum() >= 10
    # Every usable run next to an unusable frame lasts at least 0.2 s (5 frames): no edit flicker.
    edges = np.flatnonzero(np.diff(result.valid.astype(int)))
    runs = np.diff(np.concatenate([[0], edges + 1, [len(result)]]))
    starts = np.concatenate([[0], edges + 1])
    assert all(n >= 5 for n, s in zip(runs, starts) if result.valid[s])


def test_smoothing_does_not_cross_a_cut(frames, landmarker):
    """A zoom cut (same actor, 1.6x larger from frame 15): usable on both sides, no smear across it."""
    before = [on_canvas(f, (640, 480), 0.55) for f in frames[:15]]
    after = [on_canvas(f, (640, 480), 0.9) for f in frames[15:30]]
    result = track_shot(enumerate(before + after), fps=25.0, landmarker=landmarker)
    assert result.valid.all()
    error = np.abs(result.points - result.raw_points).mean(axis=(1, 2))
    jump = np.abs(result.raw_points[15] - result.raw_points[14]).mean()
    assert jump > 12  # the cut moves the points this much in one frame
    assert error[13:17].max() < 3.0  # smoothing across it would pull these frames a good part of the jump


def test_uint16_frames_track_like_uint8(frames, landmarker, track):
    wide = [f.astype(np.uint16) * 257 for f in frames[:12]]
    result = track_shot(enumerate(wide), fps=25.0, landmarker=landmarker)
    assert result.valid.all()
    difference = np.abs(result.raw_points - track.raw_points[:12])
    assert difference.mean() < 0.1 and difference.max() < 1.0
