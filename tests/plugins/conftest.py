"""Fixtures of the editor-plugin tests: tiny real media made with PyAV and a Resolve scene on the fake."""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # fake_resolve, fake_resolve_items

from fake_resolve import FakeMediaPoolItem, FakeResolve, FakeTimeline  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / "../shared/data"
RESOLVE_DIR = REPO / "editor_plugins" / "resolve"
sys.path.insert(0, str(RESOLVE_DIR))  # the Resolve script imports its support package as `lipsync_resolve`


def write_video(path: Path, frames: int, fps: Fraction = Fraction(24), size: int = 64) -> Path:
    """A small real H.264 video: a moving gradient, ``frames`` frames at ``fps``."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        ramp = np.linspace(0, 255, size, dtype=np.float32)
        for i in range(frames):
            image = np.stack([np.add.outer(ramp, ramp) / 2 % 256] * 3, axis=-1).astype(np.uint8)
            image = np.roll(image, i, axis=1)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def write_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A real mono PCM WAV with a 220 Hz tone."""
    samples = (np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 220 / rate) * 8000).astype(np.int16)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture
def scene(tmp_path):
    """A Studio 21.1 project: 'Reel 1' at 24 fps from 01:00:00:00 (frame 86400).

    Video 1: shot_a.mov source [10, 58) at record 86400, shot_b.mov [0, 36) at 86448.
    Audio 1 'Dub DE': de.wav [0, 120) at 86400 (covers both shots).
    """
    resolve = FakeResolve()
    project = resolve.project
    pool = project.GetMediaPool()
    timeline = project.add_timeline(FakeTimeline("Reel 1", fps=24, start_tc="01:00:00:00"))
    timeline.SetTrackName("audio", 1, "Dub DE")
    media = {}
    for name, frames, kind in (("shot_a.mov", 96, "Video + Audio"), ("shot_b.mov", 48, "Video + Audio"),
                               ("de.wav", 120, "Audio")):
        media[name] = FakeMediaPoolItem(str(tmp_path / name), "24", frames, kind)
        pool.GetRootFolder().clips.append(media[name])
    timeline.place(media["shot_a.mov"], 10, 58, 86400, "video", 1)
    timeline.place(media["shot_b.mov"], 0, 36, 86448, "video", 1)
    timeline.place(media["de.wav"], 0, 120, 86400, "audio", 1)
    return resolve, timeline, media
