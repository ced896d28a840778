"""Cutting a clip's source range and dub stretch: frames bit-exact, timestamps rising, clear errors."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from editor_plugins.segments import cut_audio, cut_video, video_rate
from lipsync_engine.errors import AudioError, MediaError
from media_factory import make_audio, make_video, pattern_frames, speech_like


def decoded(path):
    with av.open(str(path)) as container:
        return [(f.pts, f.to_ndarray(format="yuv420p")) for f in container.decode(video=0)]


def test_cut_video_keeps_frames_rate_and_order(tmp_path):
    source = make_video(tmp_path / "src.mp4", pattern_frames(30, 64, 48), fps=Fraction(24000, 1001))
    out = cut_video(source, 7, 19, tmp_path / "cut" / "part.mkv")
    original, cut = decoded(source), decoded(out)
    assert len(cut) == 12 and video_rate(out) == Fraction(24000, 1001)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(original[7:19], cut))
    assert all(later[0] > earlier[0] for earlier, later in zip(cut, cut[1:]))  # strictly rising pts
    assert not list((tmp_path / "cut").glob(".*part"))


def test_cut_video_beyond_the_media_is_refused(tmp_path):
    source = make_video(tmp_path / "src.mp4", pattern_frames(10, 64, 48))
    with pytest.raises(MediaError, match="has only 10 frames but the clip uses frames up to 14"):
        cut_video(source, 5, 15, tmp_path / "part.mkv")
    assert not (tmp_path / "part.mkv").exists()
    with pytest.raises(MediaError, match="not found"):
        cut_video(tmp_path / "missing.mov", 0, 5, tmp_path / "x.mkv")


def test_cut_audio_takes_the_stretch_and_refuses_a_short_dub(tmp_path):
    pcm = speech_like(2.0)
    source = make_audio(tmp_path / "dub.wav", pcm, 16000)
    out = cut_audio(source, 0.5, 1.0, tmp_path / "part.wav")
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    assert samples.size == 16000
    expected = np.round(pcm[8000:24000] * 32767)
    assert np.abs(samples.astype(np.float64) - expected).max() <= 1
    with pytest.raises(AudioError, match="shorter than the clip"):
        cut_audio(source, 1.5, 1.0, tmp_path / "late.wav")
    with pytest.raises(AudioError, match="before the dub"):
        cut_audio(source, -0.5, 1.0, tmp_path / "early.wav")
    assert not (tmp_path / "late.wav").exists()
