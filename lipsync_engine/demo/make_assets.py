"""Rebuild the demo assets from ../shared/data/clips (a maintainer's tool; the assets are committed).

    python -m lipsync_engine.demo.make_assets [../shared/data/clips]

demo_shot.mp4: 3 s (frames 125-199) of edtalk_obama.mp4, 450x450 25 fps H.264 with its own audio.
demo_dub.wav: the speech of grid_bbaf2n.mp4 (another speaker, GRID corpus), 16 kHz mono 16-bit.
"""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lipsync_engine.audio import SAMPLE_RATE, load_audio

HERE = Path(__file__).resolve().parent
FIRST, COUNT = 125, 75  # frames of the source shot kept


def make_shot(source: Path, out: Path) -> None:
    start = Fraction(FIRST, 25)
    pcm = load_audio(source, start=start, duration=Fraction(COUNT, 25))
    with av.open(str(source)) as src, av.open(str(out), "w") as dst:
        video = dst.add_stream("libx264", rate=25, options={"crf": "26", "preset": "slow"})
        video.width, video.height, video.pix_fmt = 450, 450, "yuv420p"
        audio = dst.add_stream("aac", rate=SAMPLE_RATE, layout="mono", bit_rate=32000)
        for i, frame in enumerate(src.decode(video=0)):
            if i >= FIRST + COUNT:
                break
            if i >= FIRST:
                new = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
                new.pts = i - FIRST
                dst.mux(video.encode(new))
        dst.mux(video.encode(None))
        chunk = 1024
        for offset in range(0, pcm.size, chunk):
            frame = av.AudioFrame.from_ndarray(pcm[None, offset:offset + chunk], format="flt", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, offset
            dst.mux(audio.encode(frame))
        dst.mux(audio.encode(None))


def make_dub(source: Path, out: Path) -> None:
    pcm = load_audio(source)
    with av.open(str(out), "w") as dst:
        stream = dst.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray((np.clip(pcm, -1, 1) * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))


if __name__ == "__main__":
    clips = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/clips")
    make_shot(clips / "edtalk_obama.mp4", HERE / "demo_shot.mp4")
    make_dub(clips / "grid_bbaf2n.mp4", HERE / "demo_dub.wav")
