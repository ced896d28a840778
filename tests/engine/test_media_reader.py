"""read_frames: upright frames, exact pts, uint16 for deep sources, truncation reported."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media_factory import make_video, pattern_frames, truncate

from lipsync_engine.errors import MediaError
from lipsync_engine.media import probe_video, read_frames


def _read(path: Path) -> list:
    return list(read_frames(path, probe_video(path)))


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotated_frames_come_upright(tmp_path: Path, rotation: int) -> None:
    upright = pattern_frames(3, 64, 48)
    # the display matrix turns the stored picture `rotation` degrees counter-clockwise: store it turned back
    stored = [np.ascontiguousarray(np.rot90(f, -rotation // 90)) for f in upright]
    frames = _read(make_video(tmp_path / "rot.mkv", stored, codec="ffv1", pix_fmt="bgr0", rotation=rotation))
    assert [f.rgb.shape for f in frames] == [(48, 64, 3)] * 3
    for got, want in zip(frames, upright):
        np.testing.assert_array_equal(got.rgb, want)
    assert frames[0].rgb[0, 0].tolist() == [255, 0, 0]  # the red marker is back at the top-left


def test_pts_exact_and_vfr_timestamps_kept(tmp_path: Path) -> None:
    ticks = [0, 1001, 2002, 4004, 5005, 8008]
    path = make_video(tmp_path / "vfr.mov", pattern_frames(6, 64, 48), fps=Fraction(30000, 1001), pts=ticks,
                      time_base=Fraction(1, 30000))
    frames = _read(path)
    assert [f.index for f in frames] == list(range(6))
    assert [f.pts for f in frames] == [Fraction(t, 30000) for t in ticks]


def test_10_bit_source_gives_uint16_full_range(tmp_path: Path) -> None:
    deep = pattern_frames(3, 64, 48, dtype=np.uint16)
    frames = _read(make_video(tmp_path / "deep.mkv", deep, codec="ffv1", pix_fmt="gbrp10le"))
    assert frames[0].rgb.dtype == np.uint16
    assert frames[0].rgb.max() > 60000  # 10-bit values scaled to the full 16-bit range
    # 10 bits survive: the error is below one 10-bit step
    assert np.abs(frames[1].rgb.astype(np.int64) - deep[1]).max() <= 65535 // 1023


def test_real_clip_streams_every_frame(speech_clip: Path) -> None:
    info = probe_video(speech_clip)
    count = 0
    for frame in read_frames(speech_clip, info):
        assert frame.rgb.shape == (288, 360, 3) and frame.rgb.dtype == np.uint8
        assert frame.pts == Fraction(frame.index, 25)
        count += 1
    assert count == info.frame_count == 75


def test_truncated_tail_is_reported_not_shortened(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mkv", pattern_frames(30, 96, 64), codec="ffv1", pix_fmt="bgr0")
    info = probe_video(path)
    cut = truncate(path, 0.5, tmp_path / "cut.mkv")
    with pytest.raises(MediaError, match=r"truncated.*last (good|complete) frame is \d+"):
        for _ in read_frames(cut, info):
            pass


@pytest.mark.parametrize("pix_fmt, dtype", [("yuv420p", np.uint8), ("yuv422p10le", np.uint16)])
def test_yuv_to_rgb_has_no_colour_shift(tmp_path: Path, cut_clip, pix_fmt: str, dtype: type) -> None:
    rgb = clip_frames_as(cut_clip, dtype)
    bt709 = {"color_primaries": 1, "color_trc": 1, "colorspace": 1, "color_range": 1}
    path = make_video(tmp_path / "yuv.mkv", rgb, codec="ffv1", pix_fmt=pix_fmt, color=bt709)  # lossless YUV
    got = next(read_frames(path, probe_video(path))).rgb
    scale = 1 if dtype == np.uint8 else 257
    bias = (got.astype(np.float64) - rgb[0]).mean(axis=(0, 1)) / scale
    assert np.abs(bias).max() < 0.4, f"mean shift per channel in 8-bit levels: {bias}"  # swscale's fast path: ~-1.3


def clip_frames_as(cut_clip, dtype: type) -> list[np.ndarray]:
    """Two frames of the real speech clip (cut to a lossless RGB file first), as ``dtype`` RGB."""
    path = cut_clip(frames=2, out_name="rgb.mkv", codec="ffv1", pix_fmt="bgr0")
    frames = [f.rgb for f in read_frames(path, probe_video(path))]
    return frames if dtype == np.uint8 else [f.astype(np.uint16) * 257 for f in frames]
