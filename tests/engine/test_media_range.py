"""A range of a shot's frames: probe_video(frame_range=...), read_frames seeking, the range's timecode,
and the dub/original audio of a ranged take cut at the right moment. Real files made with PyAV."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_factory import make_audio, make_video, pattern_frames

from lipsync_engine.errors import InputError, MediaError
from lipsync_engine.media import VideoWriter, probe_video, read_frames
from lipsync_engine.media.timecode import offset_timecode, timecode_frames

FRAMES = pattern_frames(160, 96, 64)
# long GOPs with B-frames: closed (x264's default), open (leading B-frames that need the previous GOP)
LONG_GOP = {
    "closed.mp4": {"x264-params": "keyint=60:min-keyint=60:bframes=3:scenecut=0"},
    "open.mov": {"x264-params": "keyint=50:min-keyint=50:bframes=3:open-gop=1:scenecut=0"},
    "open.mkv": {"x264-params": "keyint=40:min-keyint=40:bframes=2:open-gop=1:scenecut=0"},
    "stream.ts": {"x264-params": "keyint=30:min-keyint=30:bframes=2:scenecut=0"},  # no index: seeks land late
}


@pytest.mark.parametrize("name", sorted(LONG_GOP))
def test_a_range_decodes_exactly_the_frames_of_a_full_decode(tmp_path: Path, name: str) -> None:
    path = make_video(tmp_path / name, FRAMES, fps=Fraction(24000, 1001), options=LONG_GOP[name])
    whole = probe_video(path)
    full = list(read_frames(path, whole))
    for first, count in [(1, 4), (49, 3), (50, 2), (59, 12), (97, 30), (159, 1)]:
        info = probe_video(path, frame_range=(first, count))
        got = list(read_frames(path, info, keep_native=True))
        assert [f.index for f in got] == list(range(count))
        for i, frame in enumerate(got):
            assert np.array_equal(frame.rgb, full[first + i].rgb), f"{name}: frame {first + i} of the range differs"
            assert frame.pts == full[first + i].pts - info.range_start
        assert got[0].pts == whole.start_time  # a range starts where the file does
        assert info.range_start == full[first].pts - whole.start_time


def test_probe_of_a_range_describes_the_range(tmp_path: Path) -> None:
    path = make_video(tmp_path / "tc.mov", FRAMES[:60], fps=Fraction(30000, 1001), timecode="00:00:59;28")
    info = probe_video(path, frame_range=(32, 20))
    assert (info.first_frame, info.frame_count, info.duration) == (32, 20, 20 / Fraction(30000, 1001))
    assert info.range_start == 32 / Fraction(30000, 1001)
    assert info.timecode == "00:01:01;02"  # 00:00:59;28 + 32 frames; 00:01:00;00 and ;01 do not exist
    whole = probe_video(path, frame_range=(0, 60))
    assert whole == probe_video(path)


def test_range_of_a_vfr_shot_spans_its_own_frames(tmp_path: Path) -> None:
    ticks = [0, 1, 2, 4, 5, 8, 9, 10]  # 1/30 s ticks with gaps
    path = make_video(tmp_path / "vfr.mov", FRAMES[:8], fps=Fraction(30), pts=ticks, time_base=Fraction(1, 30))
    info = probe_video(path, frame_range=(3, 3))  # frames at ticks 4, 5, 8; the next starts at 9
    assert info.is_vfr and info.duration == Fraction(5, 30) and info.range_start == Fraction(4, 30)
    assert [f.pts for f in read_frames(path, info)] == [Fraction(0), Fraction(1, 30), Fraction(4, 30)]


@pytest.mark.parametrize("frame_range, problem", [((150, 20), "outside"), ((-1, 5), "outside"),
                                                  ((10, 0), "at least one frame")])
def test_a_range_outside_the_shot_is_refused(tmp_path: Path, frame_range, problem: str) -> None:
    path = make_video(tmp_path / "v.mp4", FRAMES)
    with pytest.raises(InputError, match=problem) as caught:
        probe_video(path, frame_range=frame_range)
    if problem == "outside":
        assert "frames 0-159" in str(caught.value)


@pytest.mark.parametrize("timecode, frames, fps, expected", [
    ("01:00:00:00", 37, Fraction(25), "01:00:01:12"),
    ("00:59:59:23", 1, Fraction(24000, 1001), "01:00:00:00"),  # 23.976 counts 24 frames a second
    ("00:00:59;29", 1, Fraction(30000, 1001), "00:01:00;02"),  # drop-frame skips ;00 and ;01
    ("00:09:59;29", 1, Fraction(30000, 1001), "00:10:00;00"),  # ...except every tenth minute
    ("00:00:00;00", 17982, Fraction(30000, 1001), "00:10:00;00"),
    ("00:00:59;59", 1, Fraction(60000, 1001), "00:01:00;04"),
    ("23:59:59:24", 2, Fraction(25), "00:00:00:01"),  # wraps at 24 hours
])
def test_offset_timecode(timecode: str, frames: int, fps: Fraction, expected: str) -> None:
    assert offset_timecode(timecode, frames, fps) == expected


def test_timecode_frames_count_from_midnight() -> None:
    assert timecode_frames("01:00:00:00", Fraction(24000, 1001)) == 86400
    assert timecode_frames("00:10:00;00", Fraction(30000, 1001)) == 17982
    assert timecode_frames("10:00:00:05", 25.0) == 900005


def test_a_malformed_timecode_is_named(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="'1:2:3' is not HH:MM:SS:FF"):
        offset_timecode("1:2:3", 5, Fraction(25))
    with pytest.raises(MediaError, match="out of range"):
        offset_timecode("00:00:00:25", 5, Fraction(25))


def _click_times(path: Path, which: int) -> tuple[float, float, int]:
    """(time of the first sample, time of the loudest sample, channels) of audio stream ``which``, seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[which]
        decoded = list(container.decode(stream))
    samples = np.concatenate([f.to_ndarray().reshape(-1) if not f.format.is_planar else f.to_ndarray()[0]
                              for f in decoded]) if decoded[0].format.is_planar else \
        np.concatenate([f.to_ndarray().reshape(-1, stream.channels)[:, 0] for f in decoded])
    first = float(decoded[0].pts * decoded[0].time_base)
    return first, first + int(np.argmax(np.abs(samples))) / stream.rate, stream.channels


@pytest.mark.parametrize("take, dub_codec", [("take.mov", "pcm_s16le"), ("take.mp4", "pcm_s16le"),
                                             ("take.mkv", "aac")])
def test_dub_offset_and_original_audio_of_a_range_are_cut_at_the_range(tmp_path: Path, take: str,
                                                                       dub_codec: str) -> None:
    rate = 48000
    original = np.zeros(rate * 4, np.float32)
    original[int(2.5 * rate)] = 0.9  # a click 2.5 s into the shot: 0.5 s into a range from 2.0 s (frame 50)
    shot = make_video(tmp_path / "shot.mov", FRAMES[:100], audio=original, audio_rate=rate, audio_codec="pcm_s16le")
    dub = np.zeros((rate * 6, 2), np.float32)
    dub[int(3.8 * rate)] = 0.9  # 1.3 s after the offset of 2.5 s
    dub_path = make_audio(tmp_path / ("dub.wav" if dub_codec.startswith("pcm") else "dub.m4a"), dub, rate, dub_codec)
    info = probe_video(shot, frame_range=(50, 40))
    with VideoWriter(tmp_path / take, info) as writer:
        for frame in read_frames(shot, info):
            writer.write(frame.rgb, frame.pts)
        writer.finish(dub_from=dub_path, dub_offset=Fraction(5, 2), original_audio_from=shot)
    tolerance = 0.002 if dub_codec.startswith("pcm") and not take.endswith("mp4") else 0.03  # AAC frames: 21 ms
    start, click, channels = _click_times(tmp_path / take, 0)
    assert channels == 2 and click == pytest.approx(1.3, abs=tolerance)
    assert start >= -1e-6  # nothing before the take's first frame
    _, click, _ = _click_times(tmp_path / take, 1)
    assert click == pytest.approx(0.5, abs=tolerance)
    with av.open(str(tmp_path / take)) as container:
        video = container.streams.video[0]
        assert float(video.start_time * video.time_base) == 0.0
