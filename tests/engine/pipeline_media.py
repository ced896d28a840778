"""What the pipeline tests add to tests/media_factory.py: the clips they cut, real speech, decoded frames."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from media_factory import shared_data

DATA = shared_data()
FACE_CLIP = (DATA or Path(".")) / "clips" / "grid_bbaf2n.mp4"  # 360x288 frontal studio face, 25 fps, 3 s
OTHER_CLIP = (DATA or Path(".")) / "clips" / "grid_lbbc2a.mp4"  # another speaker, same framing

needs_data = pytest.mark.skipif(DATA is None, reason="real clips not found: ../shared/data/clips beside the repo is absent")
LOSSLESS = {"codec": "ffv1", "pix_fmt": "bgr0"}  # make_video settings of a bit-exact RGB source


def clip_speech(clip: Path = FACE_CLIP, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    """The first ``seconds`` of a clip's speech as float32 mono at ``rate`` Hz."""
    chunks = []
    with av.open(str(clip)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(audio=0):
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
    return np.concatenate(chunks)[: int(seconds * rate)].astype(np.float32)


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame of a video as stored (no rotation applied), HxWx3 uint8 RGB."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def frame_times(path: Path) -> list[float]:
    """Presentation time of every frame, seconds."""
    with av.open(str(path)) as container:
        return [float(f.pts * f.time_base) for f in container.decode(video=0)]
