"""render_video of a range of a shot with a stretch of a longer dub (a timeline clip), on a real face clip
encoded long-GOP H.264, with the identity generator."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lipsync_engine import RenderOptions, load_generator, render_video
from lipsync_engine.audio import SAMPLE_RATE, load_audio, voice_activity
from lipsync_engine.errors import InputError
from lipsync_engine.faces.tracker import ShotTrack
from lipsync_engine.media import probe_video

from media_factory import clip_frames, make_audio, make_video
from pipeline_media import FACE_CLIP, OTHER_CLIP, clip_speech, decoded, needs_data

pytestmark = needs_data
FIRST, COUNT = 37, 20  # frames 37-56 of a 75-frame shot: inside the second 30-frame GOP and into the third
OFFSET = 1.5  # the take starts 1.5 s into the dub
RATE = 48000
FFV1 = RenderOptions(codec="ffv1")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """A 3 s shot (long GOP with B-frames, timecode 01:00:00:00) and a 4 s stereo dub with speech only from
    1.6 s to 1.95 s (0.1-0.45 s into the 0.8 s take) and a click at 2.2 s (0.7 s into the take)."""
    root = tmp_path_factory.mktemp("range")
    shot = make_video(root / "shot.mp4", clip_frames(FACE_CLIP, 0.0, 75), timecode="01:00:00:00",
                      options={"x264-params": "keyint=30:min-keyint=30:bframes=3:scenecut=0"})
    dub = np.zeros((RATE * 4, 2), np.float32)
    speech = clip_speech(OTHER_CLIP, seconds=0.95, rate=RATE)[int(0.6 * RATE):]  # voiced all through
    dub[int(1.6 * RATE):int(1.6 * RATE) + speech.size] = 0.5 * speech[:, None] / np.abs(speech).max()
    dub[int(2.2 * RATE)] = 0.99
    return {"root": root, "shot": shot, "dub": make_audio(root / "dub.wav", dub, RATE)}


@pytest.fixture(scope="module")
def identity():
    return load_generator("identity")


def test_range_take_is_those_frames_with_their_timecode_and_the_dub_from_the_offset(media, identity):
    out = media["root"] / "take.mkv"
    track = media["root"] / "range.track.npz"
    report = render_video(media["shot"], media["dub"], out, identity, FFV1, track=track,
                          video_range=(FIRST, COUNT), audio_offset_s=OFFSET)
    assert report.frames == COUNT and report.timecode == "01:00:01:12"
    take = probe_video(out)
    assert (take.frame_count, take.fps, take.timecode) == (COUNT, 25, "01:00:01:12")  # 37 frames after 01:00:00:00
    assert all(np.array_equal(a, b) for a, b in zip(decoded(out), decoded(media["shot"])[FIRST:FIRST + COUNT]))
    assert len(ShotTrack.load(track)) == COUNT
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
    left = np.concatenate([f.to_ndarray().reshape(-1, stream.channels)[:, 0] for f in frames])
    start = float(frames[0].pts * frames[0].time_base)
    assert start == 0.0 and stream.rate == RATE  # the dub file itself, from the offset
    assert start + int(np.argmax(np.abs(left))) / RATE == pytest.approx(2.2 - OFFSET, abs=1e-3)
    assert not any("longer than the shot" in w for w in report.warnings), report.warnings  # a stretch, not a mismatch


def test_speech_analysis_follows_the_offset(media, identity):
    """With silence kept as the source, the frames left as they are are those the dub is silent under,
    from the offset on (the speech is 0.1-0.45 s into the take)."""
    report = render_video(media["shot"], media["dub"], media["root"] / "silence.mkv", identity,
                          RenderOptions(codec="ffv1", silence="keep_original"), video_range=(FIRST, COUNT),
                          audio_offset_s=OFFSET)
    silent = {i for s in report.passthrough if s.reason == "silence" for i in range(s.start, s.end + 1)}
    centres = (np.arange(COUNT) + 0.5) / 25
    pcm = load_audio(media["dub"])
    heard = voice_activity(pcm[int(OFFSET * SAMPLE_RATE):][:COUNT * SAMPLE_RATE // 25], centres)  # the take's stretch
    assert 0 < heard.sum() < COUNT and not heard[-3:].any()
    assert not voice_activity(pcm[:COUNT * SAMPLE_RATE // 25], centres).any()  # the dub's own first 0.8 s are silent
    assert silent == set(np.flatnonzero(~heard)), report.passthrough


def test_a_stretch_shorter_than_the_take_is_a_mismatch(media, identity):
    with pytest.raises(InputError, match="shorter than the clip"):
        render_video(media["shot"], media["dub"], media["root"] / "strict.mkv", identity,
                     RenderOptions(codec="ffv1", audio_policy="strict"), video_range=(FIRST, COUNT), audio_offset_s=3.5)
    report = render_video(media["shot"], media["dub"], media["root"] / "padded.mkv", identity, FFV1,
                          video_range=(FIRST, COUNT), audio_offset_s=3.5)
    assert any("shorter than the shot" in w for w in report.warnings), report.warnings


@pytest.mark.parametrize("video_range, offset, problem", [
    ((70, 10), None, r"video range 70-79 .* outside .* frames 0-74"),
    ((0, 0), None, "at least one frame"),
    (None, -0.5, "audio offset -0.5 s is not a time in the dub"),
    (None, float("nan"), "audio offset nan s"),
    (None, 4.0, r"audio offset 4.000 s is past the end of the dub, which lasts 4.000 s"),
])
def test_a_range_or_offset_outside_the_media_is_a_clear_input_error(media, identity, video_range, offset, problem):
    out = media["root"] / "refused.mkv"
    with pytest.raises(InputError, match=problem):
        render_video(media["shot"], media["dub"], out, identity, FFV1, video_range=video_range, audio_offset_s=offset)
    assert not out.exists()


def test_render_command_takes_a_range_and_an_offset(media, capsys):
    from lipsync_cli.main import main

    out = media["root"] / "cli.mkv"
    code = main(["render", "--video", str(media["shot"]), "--audio", str(media["dub"]), "--out", str(out),
                 "--generator", "identity", "--codec", "ffv1", "--video-range", str(FIRST), str(COUNT),
                 "--audio-offset", str(OFFSET)])
    assert code == 0, capsys.readouterr().err
    assert (probe_video(out).frame_count, probe_video(out).timecode) == (COUNT, "01:00:01:12")
    assert main(["render", "--video", str(media["shot"]), "--audio", str(media["dub"]), "--out", str(out),
                 "--generator", "identity", "--audio-offset", "-1"]) == 2
    assert "audio offset -1.0 s" in capsys.readouterr().err
