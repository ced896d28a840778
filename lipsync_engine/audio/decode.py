"""Decode the audio of any file PyAV can open and resample it to 16 kHz mono float32."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lipsync_engine.errors import AudioError

SAMPLE_RATE = 16000


def load_audio(
    path: str | Path,
    start: Fraction | float | None = None,
    duration: Fraction | float | None = None,
) -> np.ndarray:
    """Return the first audio stream of ``path`` as float32 mono PCM at 16 kHz, range about [-1, 1].

    ``start``/``duration`` (seconds) cut a range; sample 0 of the result is at ``start``.
    Raises AudioError naming the file when it has no audio stream, is truncated or decodes to nothing.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: '{path}'; pass the path of a WAV, MP3, AAC or video file")
    try:
        container = av.open(str(path), options={"protocol_whitelist": "file"})
    except av.FFmpegError as exc:
        raise AudioError(f"cannot open '{path}' as media ({exc}); pass a readable audio or video file") from exc
    chunks: list[np.ndarray] = []
    with container:
        if not container.streams.audio:
            raise AudioError(f"'{path}' has no audio stream; pass a file that contains the speech track")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler keep its own continuous clock
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            if not chunks:
                raise AudioError(f"cannot decode audio of '{path}' ({exc}); the file is damaged or not audio") from exc
            # A truncated tail: keep what decoded; the caller sees the shorter length.
    pcm = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if pcm.size == 0:
        raise AudioError(f"'{path}' decodes to no audio samples; the file is empty or truncated")
    return _cut(pcm, start, duration)


def resample_to_16k(pcm: np.ndarray, sample_rate: int) -> np.ndarray:
    """Resample float PCM (samples,) or (samples, channels) at ``sample_rate`` to 16 kHz mono float32."""
    pcm = np.asarray(pcm, dtype=np.float32)
    if pcm.ndim == 2:
        pcm = pcm.mean(axis=1)
    if pcm.ndim != 1:
        raise AudioError(f"PCM must be (samples,) or (samples, channels), got shape {pcm.shape}")
    if sample_rate <= 0:
        raise AudioError(f"sample rate must be positive, got {sample_rate}")
    if sample_rate == SAMPLE_RATE or pcm.size == 0:
        return pcm.copy()
    frame = av.AudioFrame.from_ndarray(pcm[None, :], format="flt", layout="mono")
    frame.sample_rate = sample_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def _cut(pcm: np.ndarray, start: Fraction | float | None, duration: Fraction | float | None) -> np.ndarray:
    first = int(round(float(start or 0) * SAMPLE_RATE))
    if first < 0:
        raise AudioError(f"start must be >= 0 seconds, got {float(start):.3f}")
    last = pcm.size if duration is None else first + int(round(float(duration) * SAMPLE_RATE))
    return pcm[first:last]
