"""VideoWriter on real encodes: bit-exact lossless paths, kept timing/tags/pixel formats, audio mux."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_factory import make_audio, make_video, pattern_frames, speech_like

from lipsync_engine.audio import load_audio
from lipsync_engine.errors import InputError, MediaError
from lipsync_engine.media import VideoInfo, VideoWriter, probe_video, read_frames
from lipsync_engine.options import RenderOptions


def _transcode(src: Path, out: Path, codec: str, **finish: object) -> VideoInfo:
    info = probe_video(src)
    with VideoWriter(out, info, RenderOptions(codec=codec)) as writer:
        for frame in read_frames(src, info):
            writer.write(frame.rgb, frame.pts)
        writer.finish(**finish)
    return info


def test_ffv1_rgb_round_trip_is_bit_exact(tmp_path: Path, cut_clip) -> None:
    src = cut_clip(frames=10, out_name="src.mkv", codec="ffv1", pix_fmt="bgr0")
    info = _transcode(src, tmp_path / "take.mkv", "ffv1")
    out = probe_video(tmp_path / "take.mkv")
    assert (out.pix_fmt, out.frame_count, out.fps) == ("bgr0", info.frame_count, info.fps)
    for a, b in zip(read_frames(src, info), read_frames(tmp_path / "take.mkv", out), strict=True):
        assert a.pts == b.pts
        np.testing.assert_array_equal(a.rgb, b.rgb)


def test_ffv1_10_bit_round_trip_is_bit_exact(tmp_path: Path) -> None:
    src = make_video(tmp_path / "deep.mkv", pattern_frames(4, 64, 48, np.uint16), codec="ffv1", pix_fmt="gbrp10le")
    info = _transcode(src, tmp_path / "take.mkv", "ffv1")
    out = probe_video(tmp_path / "take.mkv")
    assert out.pix_fmt == "gbrp10le"
    for a, b in zip(read_frames(src, info), read_frames(tmp_path / "take.mkv", out), strict=True):
        assert b.rgb.dtype == np.uint16
        np.testing.assert_array_equal(a.rgb, b.rgb)


@pytest.mark.parametrize("fps, timecode", [(Fraction(24000, 1001), "01:00:00:00"),
                                           (Fraction(30000, 1001), "00:59:59;28")])
def test_h264_keeps_rate_count_timecode_and_colour(tmp_path: Path, fps: Fraction, timecode: str) -> None:
    bt709 = {"color_primaries": 1, "color_trc": 1, "colorspace": 1, "color_range": 1}
    src = make_video(tmp_path / "src.mov", pattern_frames(8, 64, 48), fps=fps, timecode=timecode, color=bt709)
    _transcode(src, tmp_path / "take.mov", "h264")
    out = probe_video(tmp_path / "take.mov")
    assert (out.fps, out.frame_count, out.timecode, out.pix_fmt) == (fps, 8, timecode, "yuv420p")
    assert (out.color_primaries, out.color_trc, out.color_space, out.color_range) == ("bt709", "bt709", "bt709", "tv")


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(30000, 1001)])
def test_millisecond_clock_becomes_exact_frame_grid(tmp_path: Path, fps: Fraction) -> None:
    src = make_video(tmp_path / "src.mkv", pattern_frames(12, 64, 48), fps=fps)  # Matroska: 1 ms ticks
    _transcode(src, tmp_path / "take.mov", "h264")
    out = probe_video(tmp_path / "take.mov")
    assert (out.fps, out.frame_count, out.is_vfr, out.duration) == (fps, 12, False, 12 / fps)
    assert [f.pts for f in read_frames(tmp_path / "take.mov", out)] == [i / fps for i in range(12)]


@pytest.mark.parametrize("codec, suffix, pix_fmt", [("h265", ".mp4", "yuv420p10le"), ("prores", ".mov", "yuv422p10le"),
                                                    ("h264", ".mkv", "yuv420p10le")])
def test_10_bit_source_stays_10_bit(tmp_path: Path, codec: str, suffix: str, pix_fmt: str) -> None:
    deep = pattern_frames(3, 64, 48, np.uint16)
    src = make_video(tmp_path / "src.mov", deep, codec="libx265", pix_fmt="yuv420p10le",
                     color={"color_primaries": 9, "color_trc": 18, "colorspace": 9, "color_range": 1})
    info = _transcode(src, tmp_path / f"take{suffix}", codec)
    out = probe_video(tmp_path / f"take{suffix}")
    assert (out.pix_fmt, out.bit_depth, out.color_trc, out.color_primaries) == (pix_fmt, 10, "arib-std-b67", "bt2020")
    first = next(read_frames(tmp_path / f"take{suffix}", out)).rgb
    assert first.dtype == np.uint16
    error = first.astype(np.int64) - next(read_frames(src, info)).rgb
    # a second lossy generation of a small saturated pattern: ~1-2 % of full scale, no colour cast
    # (a wrong matrix or range would shift whole channels by thousands)
    assert np.abs(error).mean() < 1300
    assert np.abs(error.mean(axis=(0, 1))).max() < 300


def test_odd_size_keeps_exact_size(tmp_path: Path) -> None:
    src = make_video(tmp_path / "odd.mkv", pattern_frames(2, 1919, 1079), codec="ffv1", pix_fmt="yuv420p")
    info = probe_video(src)
    writer = VideoWriter(tmp_path / "take.mp4", info, RenderOptions(codec="h264"))
    assert writer.note and "4:4:4" in writer.note
    with writer:
        for frame in read_frames(src, info):
            writer.write(frame.rgb, frame.pts)
        writer.finish()
    out = probe_video(tmp_path / "take.mp4")
    assert (out.width, out.height, out.frame_count, out.pix_fmt) == (1919, 1079, 2, "yuv444p")


def test_vfr_timestamps_and_rotation(tmp_path: Path) -> None:
    ticks = [0, 1001, 2002, 4004, 5005, 8008]
    stored = [np.ascontiguousarray(np.rot90(f, -1)) for f in pattern_frames(6, 64, 48)]
    src = make_video(tmp_path / "phone.mp4", stored, fps=Fraction(30000, 1001), pts=ticks,
                     time_base=Fraction(1, 30000), rotation=90)
    _transcode(src, tmp_path / "take.mp4", "h264")
    out = probe_video(tmp_path / "take.mp4")
    assert out.is_vfr and out.rotation == 0 and (out.width, out.height) == (64, 48)
    assert [f.pts for f in read_frames(tmp_path / "take.mp4", out)] == [Fraction(t, 30000) for t in ticks]


def test_dub_and_original_audio_muxed_in_sync(tmp_path: Path, cut_clip, speech_clip: Path) -> None:
    src = cut_clip(frames=50, out_name="src.mp4")  # 2 s of a real clip, no audio
    dub = load_audio(speech_clip, duration=2.0)
    _transcode(src, tmp_path / "take.mp4", "h264", audio=dub, original_audio_from=speech_clip)
    with av.open(str(tmp_path / "take.mp4")) as take:
        dub_stream, original = take.streams.audio
        assert (dub_stream.codec_context.name, dub_stream.sample_rate, dub_stream.channels) == ("aac", 48000, 1)
        assert original.codec_context.name == "aac" and original.channels == 2
        assert float(original.duration * original.time_base) == pytest.approx(2.0, abs=0.1)  # cut to the frames
    back = load_audio(tmp_path / "take.mp4")
    n = min(back.size, dub.size)
    lag = int(np.argmax(np.correlate(back[800:n - 800], dub[1600:n - 1600], mode="valid"))) - 800
    assert abs(lag) <= 16  # within 1 ms at 16 kHz (AAC priming is trimmed)
    assert abs(back.size - dub.size) < 0.05 * 16000


def test_dub_file_delivered_at_its_own_quality(tmp_path: Path) -> None:
    src = make_video(tmp_path / "src.mov", pattern_frames(25, 64, 48), timecode="10:00:00:00")
    dub = make_audio(tmp_path / "dub.wav", np.stack([speech_like(1.5, 48000)] * 2, axis=1), 48000, "pcm_s24le")
    _transcode(src, tmp_path / "take.mov", "prores", dub_from=dub)
    with av.open(str(tmp_path / "take.mov")) as take:
        stream = take.streams.audio[0]
        assert (stream.codec_context.name, stream.sample_rate, stream.channels) == ("pcm_s24le", 48000, 2)
        assert float(stream.duration * stream.time_base) == pytest.approx(1.0, abs=0.03)  # cut at the video's end
    delivered = load_audio(tmp_path / "take.mov")
    assert 16000 <= delivered.size < 16000 + 0.03 * 16000  # cut on a packet boundary past the end
    np.testing.assert_allclose(delivered[:16000], load_audio(dub)[:16000], atol=1e-3)


def test_mastering_codecs_get_pcm_audio(tmp_path: Path) -> None:
    src = make_video(tmp_path / "src.mov", pattern_frames(5, 64, 48))
    _transcode(src, tmp_path / "take.mov", "prores", audio=speech_like(0.2))
    with av.open(str(tmp_path / "take.mov")) as take:
        assert take.streams.video[0].codec_context.profile == "HQ"
        assert take.streams.audio[0].codec_context.name == "pcm_s16le"


@pytest.mark.parametrize("codec, name", [("prores", "take.mp4"), ("ffv1", "take.mov"), ("vp9", "take.mkv"),
                                         ("h264", "take.avi")])
def test_impossible_codec_container_pairs_refused(tmp_path: Path, codec: str, name: str) -> None:
    info = probe_video(make_video(tmp_path / "src.mp4", pattern_frames(2, 64, 48)))
    with pytest.raises(InputError, match=f"codec '{codec}'"):
        VideoWriter(tmp_path / name, info, RenderOptions(codec=codec))
    assert list(tmp_path.iterdir()) == [tmp_path / "src.mp4"]


def test_bad_frames_refused(tmp_path: Path) -> None:
    info = probe_video(make_video(tmp_path / "src.mp4", pattern_frames(2, 64, 48)))
    with VideoWriter(tmp_path / "take.mp4", info) as writer:
        with pytest.raises(InputError, match=r"uint8 \(48, 64, 3\)"):
            writer.write(np.zeros((64, 48, 3), np.uint8), Fraction(0))
        writer.write(np.zeros((48, 64, 3), np.uint8), Fraction(1, 25))
        with pytest.raises(InputError, match="not after the previous frame"):
            writer.write(np.zeros((48, 64, 3), np.uint8), Fraction(0))


def test_sub_range_take_starts_its_dub_at_the_first_frame(tmp_path: Path) -> None:
    src = make_video(tmp_path / "src.mp4", pattern_frames(25, 64, 48))
    info = probe_video(src)
    with VideoWriter(tmp_path / "take.mov", info) as writer:
        for frame in read_frames(src, info):
            if frame.index >= 10:  # a render of frames 10-24 only
                writer.write(frame.rgb, frame.pts)
        writer.finish(speech_like(0.6))
    with av.open(str(tmp_path / "take.mov")) as take:
        video, audio = take.streams.video[0], take.streams.audio[0]
        assert float(video.start_time * video.time_base) == pytest.approx(0.4)
        assert float(audio.start_time * audio.time_base) == pytest.approx(0.4, abs=0.025)  # AAC priming aside


def test_failure_in_finish_leaves_nothing(tmp_path: Path) -> None:
    src = make_video(tmp_path / "src.mp4", pattern_frames(3, 64, 48))  # no audio stream
    info = probe_video(src)
    with pytest.raises(MediaError, match="no audio stream"):
        with VideoWriter(tmp_path / "take.mp4", info) as writer:
            for frame in read_frames(src, info):
                writer.write(frame.rgb, frame.pts)
            writer.finish(original_audio_from=src)
    assert sorted(tmp_path.iterdir()) == [src]
