"""Decode the audio of any file PyAV can open and resample it to 16 kHz mono float32.

Inputs go through the media package's safe opener (local files, allowed containers only). A file
that is empty, not audio, truncated (it decodes to clearly less than its header declares) or
holds non-finite samples raises AudioError; digital silence is valid input.
"""
from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lipsync_engine.errors import AudioError
from lipsync_engine.media.opening import open_media, picture_stream

SAMPLE_RATE = 16000
MAX_SECONDS = 6 * 3600.0  # longer speech is refused from the header before decoding (1.4 GB of PCM)
TRUNCATION_SLACK_S = 0.5  # decoded audio may fall this much (or 10 %) short of the header's duration


def load_audio(
    path: str | Path,
    start: Fraction | float | None = None,
    duration: Fraction | float | None = None,
) -> np.ndarray:
    """Return the first audio stream of ``path`` as float32 mono PCM at 16 kHz, range about [-1, 1].

    Any rate and channel layout (8 kHz, 44.1/48 kHz stereo, 5.1, ...) is downmixed and resampled.
    In a file with a video stream, sample 0 is at the first frame's time (audio that starts later is
    preceded by silence), so the speech stays in sync with the picture; in an audio-only file it is
    the first sample. ``start``/``duration`` (seconds) cut a range; sample 0 of the result is at ``start``.
    Raises AudioError naming the file when it has no audio stream, is truncated or decodes to nothing.
    """
    path = Path(path)
    chunks: list[np.ndarray] = []
    with open_media(path, AudioError, "audio") as container:
        if not container.streams.audio:
            raise AudioError(f"'{path}' has no audio stream; pass a file that contains the speech track")
        stream = container.streams.audio[0]
        declared = _declared_seconds(container, stream)
        if declared > MAX_SECONDS:
            raise AudioError(f"'{path}' declares {declared / 3600:.1f} hours of audio, over the "
                             f"{MAX_SECONDS / 3600:.0f}-hour limit; cut the speech to the shot")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        first_time: Fraction | None = None
        try:
            for frame in container.decode(stream):
                if first_time is None and frame.pts is not None and frame.time_base is not None:
                    first_time = Fraction(frame.pts) * Fraction(frame.time_base)
                frame.pts = None  # let the resampler keep its own continuous clock
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            decoded = sum(c.size for c in chunks) / SAMPLE_RATE
            raise AudioError(f"'{path}' is damaged or truncated: decoding stopped after {decoded:.2f} s "
                             f"({exc}); copy or export the audio again") from exc
        picture_start = _video_start(container)
    pcm = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if pcm.size == 0:
        raise AudioError(f"'{path}' decodes to no audio samples; the file is empty or truncated")
    _check_complete(path, pcm.size / SAMPLE_RATE, declared)
    if picture_start is not None and first_time is not None:
        pcm = _align_to_picture(pcm, first_time - picture_start)
    if not np.isfinite(pcm).all():
        raise AudioError(f"'{path}' holds NaN or infinite samples; export the audio again")
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


def _video_start(container: av.container.InputContainer) -> Fraction | None:
    """Start time (seconds) of the file's picture, or None for an audio-only file (cover art aside)."""
    video = picture_stream(container)
    if video is None:
        return None
    return Fraction(video.start_time or 0) * Fraction(video.time_base or 1)


def _align_to_picture(pcm: np.ndarray, offset: Fraction) -> np.ndarray:
    """Put sample 0 at the first video frame's time: pad silence for audio that starts ``offset``
    seconds after the picture, drop the samples before it for audio that starts earlier."""
    shift = int(round(offset * SAMPLE_RATE))
    if shift > 0:
        return np.concatenate([np.zeros(shift, np.float32), pcm])
    return pcm[-shift:] if shift < 0 else pcm


def _declared_seconds(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float:
    """Duration the file claims: the WAV data chunk's size if it has one, else the stream/container header."""
    riff = _wav_data_seconds(Path(container.name), stream) if container.format.name in ("wav", "w64") else None
    if riff is not None:
        return riff
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration else 0.0


def _wav_data_seconds(path: Path, stream: av.audio.stream.AudioStream) -> float | None:
    """Seconds the RIFF 'data' chunk declares (FFmpeg clamps it to the file size, hiding a cut-off copy)."""
    bytes_per_second = (stream.codec_context.bit_rate or 0) / 8  # exact for PCM WAV
    if bytes_per_second <= 0:
        return None
    with open(path, "rb") as handle:
        if handle.read(4) != b"RIFF" or handle.seek(8) != 8 or handle.read(4) != b"WAVE":
            return None
        while header := handle.read(8):
            if len(header) < 8:
                return None
            chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"data":
                return None if size in (0, 0xFFFFFFFF) else size / bytes_per_second  # streamed WAV: unknown
            handle.seek(size + (size & 1), 1)
    return None


def _check_complete(path: Path, decoded: float, declared: float) -> None:
    if declared > 0 and declared - decoded > max(TRUNCATION_SLACK_S, 0.1 * declared):
        raise AudioError(f"'{path}' is truncated: its header declares {declared:.2f} s of audio but only "
                         f"{decoded:.2f} s decode; copy or export the audio again")


def _cut(pcm: np.ndarray, start: Fraction | float | None, duration: Fraction | float | None) -> np.ndarray:
    first = int(round(float(start or 0) * SAMPLE_RATE))
    if first < 0:
        raise AudioError(f"start must be >= 0 seconds, got {float(start):.3f}")
    last = pcm.size if duration is None else first + int(round(float(duration) * SAMPLE_RATE))
    return pcm[first:last]
