"""Fixtures of the eval tests: short real clips cut from ../shared/data with PyAV."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "../shared/data"
CLIPS = DATA / "clips"


def cut_clip(src: Path, dst: Path, seconds: float) -> Path:
    """Re-encode the first ``seconds`` of ``src`` (video + audio) to an H.264/AAC mp4 at ``dst``."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        fps = Fraction(vin.average_rate)
        vout = out.add_stream("libx264", rate=fps)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.options = {"crf": "12"}
        aout = out.add_stream("aac", rate=ain.rate, layout="mono")
        frames = int(seconds * fps)
        for i, frame in enumerate(inp.decode(vin)):
            if i >= frames:
                break
            new = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            new.pts = i
            new.time_base = 1 / fps
            out.mux(vout.encode(new))
        out.mux(vout.encode(None))
        inp.seek(0)
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=ain.rate)
        samples, pcm = int(seconds * ain.rate), []
        for frame in inp.decode(inp.streams.audio[0]):
            frame.pts = None
            pcm += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        signal = np.concatenate(pcm)[:samples].astype(np.float32)
        for start in range(0, len(signal), 1024):
            chunk = av.AudioFrame.from_ndarray(signal[None, start:start + 1024], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = ain.rate, start
            out.mux(aout.encode(chunk))
        out.mux(aout.encode(None))
    return dst


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repo; skips when absent."""
    if not (CLIPS / "MANIFEST.csv").is_file():
        pytest.skip(f"shared data not found at {DATA.resolve()}; clone the repo beside shared/")
    return DATA


@pytest.fixture(scope="session")
def short_clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.6 s of a real held-out speaker (retalking_face5, 524x524) with its own speech."""
    src = shared_data / "clips" / "retalking_face5.mp4"
    folder = tmp_path_factory.mktemp("footage") / "vr5_woman_glasses"
    folder.mkdir()
    return cut_clip(src, folder / "take1.mp4", 1.6)
