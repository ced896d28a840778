"""Log-mel features of 16 kHz speech and their per-video-frame windows at any frame rate."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from lipsync_engine.audio.decode import SAMPLE_RATE

MEL_BINS = 80
HOP = 160  # 10 ms: 100 mel frames per second, independent of the video frame rate
MEL_FPS = SAMPLE_RATE // HOP
WIN = 400  # 25 ms analysis window
N_FFT = 512
MEL_WINDOW = 20  # mel frames per video frame window: 200 ms centred on the frame
SILENCE = -4.0  # the normalised value of digital silence; also used to pad past either end


def log_mel(pcm: np.ndarray) -> np.ndarray:
    """Normalised log-mel spectrogram of float32 mono 16 kHz PCM.

    Returns (MEL_BINS, T) float32 in [-4, 4], T = ceil(len(pcm) / HOP); column j is centred at j / 100 s.
    """
    power = np.abs(np.fft.rfft(windowed_frames(pcm), n=N_FFT, axis=1)) ** 2
    mel = _mel_filters() @ power.T
    db = 10.0 * np.log10(np.maximum(mel, 1e-10)) - 20.0
    return np.clip(8.0 * (db + 100.0) / 100.0 - 4.0, -4.0, 4.0).astype(np.float32)


def windowed_frames(pcm: np.ndarray) -> np.ndarray:
    """Hann-windowed 25 ms frames of float32 mono 16 kHz PCM every 10 ms: (T, WIN) float32,
    T = ceil(len(pcm) / HOP), frame j centred at j / 100 s (zero-padded past either end)."""
    pcm = np.asarray(pcm, dtype=np.float32).reshape(-1)
    n_frames = max(1, -(-pcm.size // HOP))
    padded = np.pad(pcm, (WIN // 2, WIN // 2 + HOP * n_frames - pcm.size))
    idx = np.arange(WIN)[None, :] + HOP * np.arange(n_frames)[:, None]
    return padded[idx] * hann_window()[None, :]


def frame_mel_windows(mel: np.ndarray, centre_times: np.ndarray, window: int = MEL_WINDOW) -> np.ndarray:
    """Cut one mel window per video frame.

    ``centre_times`` are the frames' centre times in seconds on the audio's clock (frame i of a
    constant-rate clip at ``fps`` is centred at (i + 0.5) / fps). Windows reaching past either end of
    the audio are padded with silence. Returns (N, MEL_BINS, window) float32.
    """
    centre = np.round(np.asarray(centre_times, dtype=np.float64) * MEL_FPS).astype(np.int64)
    start = centre - window // 2
    pad = window
    padded = np.pad(mel, ((0, 0), (pad, pad)), constant_values=SILENCE)
    idx = start[:, None] + np.arange(window)[None, :] + pad
    idx = np.clip(idx, 0, padded.shape[1] - 1)
    return np.ascontiguousarray(padded[:, idx].transpose(1, 0, 2))


@lru_cache(maxsize=1)
def hann_window() -> np.ndarray:
    """(WIN,) float32 periodic Hann window of the 25 ms analysis frames."""
    return np.hanning(WIN + 1)[:-1].astype(np.float32)


@lru_cache(maxsize=1)
def _mel_filters(fmin: float = 55.0, fmax: float = 7600.0) -> np.ndarray:
    """(MEL_BINS, N_FFT//2+1) triangular HTK-mel filterbank, area-normalised."""
    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(fmin)), hz_to_mel(np.array(fmax)), MEL_BINS + 2))
    freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (upper - lower))
    return weights.astype(np.float32)
