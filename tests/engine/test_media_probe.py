"""probe_video on real files made with PyAV: exact rates, counts, tags, limits and every bad input."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest
from media_factory import make_audio, make_video, pattern_frames, speech_like, truncate, unusable_files

from lipsync_engine.audio import load_audio
from lipsync_engine.errors import InputError, MediaError
from lipsync_engine.media import MediaLimits, probe_video
from lipsync_engine.media.opening import OPEN_OPTIONS

FRAMES = pattern_frames(12, 64, 48)


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(30000, 1001), Fraction(25), Fraction(50)])
@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_exact_rational_rate_and_count(tmp_path: Path, fps: Fraction, suffix: str) -> None:
    path = make_video(tmp_path / f"v{suffix}", FRAMES, fps=fps)
    info = probe_video(path)
    assert info.fps == fps
    assert info.frame_count == len(FRAMES)
    assert info.duration == len(FRAMES) / fps
    assert not info.is_vfr
    assert (info.width, info.height, info.rotation, info.bit_depth) == (64, 48, 0, 8)


def test_real_clip(speech_clip: Path) -> None:
    info = probe_video(speech_clip)
    assert (info.width, info.height, info.fps, info.frame_count) == (360, 288, 25, 75)
    assert info.has_audio and info.audio_rate and info.audio_channels


def test_timecode_colour_and_10_bit(tmp_path: Path) -> None:
    deep = pattern_frames(4, 64, 48, dtype="uint16")
    path = make_video(tmp_path / "hdr.mov", deep, fps=Fraction(30000, 1001), codec="libx265", pix_fmt="yuv420p10le",
                      timecode="00:59:59;28", color={"color_primaries": 9, "color_trc": 16, "colorspace": 9,
                                                     "color_range": 1})
    info = probe_video(path)
    assert info.timecode == "00:59:59;28"
    assert (info.codec, info.pix_fmt, info.bit_depth) == ("hevc", "yuv420p10le", 10)
    assert (info.color_primaries, info.color_trc, info.color_space, info.color_range) == (
        "bt2020", "smpte2084", "bt2020nc", "tv")


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotation_swaps_display_size(tmp_path: Path, rotation: int) -> None:
    info = probe_video(make_video(tmp_path / "r.mp4", FRAMES, rotation=rotation))
    assert (info.rotation, info.width, info.height) == (rotation, 48, 64)


def test_vfr_detected_and_span_kept(tmp_path: Path) -> None:
    ticks = [0, 1, 2, 4, 5, 8, 9, 10]  # 1/30 s ticks with gaps: a phone's variable rate
    path = make_video(tmp_path / "vfr.mp4", FRAMES[: len(ticks)], fps=Fraction(30), pts=ticks,
                      time_base=Fraction(1, 30))
    info = probe_video(path)
    assert info.is_vfr
    assert info.frame_count == len(ticks)
    assert info.duration == Fraction(11, 30)  # last start + one median frame


def test_limits_checked_from_header(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", FRAMES)
    with pytest.raises(MediaError, match="width of 64.*max_width"):
        probe_video(path, MediaLimits(max_width=32))
    with pytest.raises(MediaError, match="frame count of 12"):
        probe_video(path, MediaLimits(max_frames=10))
    with pytest.raises(MediaError, match="duration"):
        probe_video(path, MediaLimits(max_duration_s=0.1))


def test_bad_inputs_name_the_problem(tmp_path: Path) -> None:
    for path, message in unusable_files(tmp_path, ".mov"):
        with pytest.raises(MediaError, match=message):
            probe_video(path)
    audio_only = make_audio(tmp_path / "speech.wav", speech_like(0.5), 16000)
    with pytest.raises(MediaError, match="no video stream"):
        probe_video(audio_only)
    assert issubclass(MediaError, InputError) and issubclass(MediaError, ValueError)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_zero_frame_video_refused(tmp_path: Path, suffix: str) -> None:
    with av.open(str(tmp_path / f"zero{suffix}"), "w") as out:  # a header and a video stream, no frames
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
    with pytest.raises(MediaError, match="no frames|no video stream"):
        probe_video(tmp_path / f"zero{suffix}")


def test_playlists_and_concat_lists_refused(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "part.mp4", FRAMES)
    (tmp_path / "list.m3u8").write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:0.5,\n{clip.name}\n#EXT-X-ENDLIST\n")
    (tmp_path / "list.txt").write_text(f"ffconcat version 1.0\nfile '{clip}'\n")
    (tmp_path / "disguised.mp4").write_text(f"#EXTM3U\n#EXTINF:0.5,\nfile://{clip}\n#EXT-X-ENDLIST\n")
    for playlist, kind in (("list.m3u8", "HLS playlist"), ("list.txt", "concat list"), ("disguised.mp4", "HLS")):
        with pytest.raises(MediaError, match=f"{kind}.*refused"):
            probe_video(tmp_path / playlist)
    # an allowed container must not open a nested playlist either: the demuxer allow-list stops it
    with pytest.raises(av.error.ArgumentError):
        av.open(str(tmp_path / "list.m3u8"), options=dict(OPEN_OPTIONS))


def test_truncated_files_reported(tmp_path: Path) -> None:
    frames = pattern_frames(25, 96, 64)
    moov_last = make_video(tmp_path / "a.mp4", frames)
    with pytest.raises(MediaError, match="truncated|not a readable"):
        probe_video(truncate(moov_last, 0.6, tmp_path / "a_cut.mp4"))
    moov_first = make_video(tmp_path / "b.mp4", frames, container_options={"movflags": "faststart"})
    with pytest.raises(MediaError, match=r"truncated.*promises 25 frames.*last complete frame is \d+"):
        probe_video(truncate(moov_first, 0.6, tmp_path / "b_cut.mp4"))
    matroska = make_video(tmp_path / "c.mkv", frames)
    with pytest.raises(MediaError, match=r"truncated.*promises 25 frames"):
        probe_video(truncate(matroska, 0.5, tmp_path / "c_cut.mkv"))


def test_cover_art_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    with av.open(str(path), "w") as out:  # speech with an embedded cover picture (an attached_pic stream)
        audio = out.add_stream("libmp3lame", rate=16000, layout="mono")
        cover = out.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 32, 32, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(FRAMES[0][:32, :32].copy(), format="rgb24").reformat(format="yuvj420p")
        picture.pts = 0
        out.mux(cover.encode(picture) + cover.encode(None))
        frame = av.AudioFrame.from_ndarray(speech_like(1.0)[None], format="flt", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        out.mux(audio.encode(frame) + audio.encode(None))
    with pytest.raises(MediaError, match="no video stream"):
        probe_video(path)
    assert abs(load_audio(path).size - 16000) < 800  # the speech itself is fine, from its first sample
