"""Speech loudness and activity per video frame, from the speech windows the generator is given."""
from __future__ import annotations

import numpy as np

ACTIVE_FRACTION = 0.35  # speech where loudness rises this far from the quiet floor towards the loud level
CENTRE_COLUMNS = 4  # mel columns (40 ms) around a window's centre that measure the frame's own loudness


def frame_energy(windows: np.ndarray) -> np.ndarray:
    """(N, 80, W) log-mel windows (audio.frame_mel_windows) -> (N,) float32 mean log-mel of each frame's centre."""
    mid = windows.shape[2] // 2
    half = CENTRE_COLUMNS // 2
    return windows[:, :, mid - half:mid + half].mean(axis=(1, 2)).astype(np.float32)


def speech_flags(energy: np.ndarray) -> np.ndarray:
    """(N,) bool voice activity: loudness above the clip's own quiet floor by ACTIVE_FRACTION of its range."""
    if len(energy) == 0:
        return np.zeros(0, bool)
    floor, loud = np.percentile(energy, 5), np.percentile(energy, 95)
    return energy > floor + ACTIVE_FRACTION * max(loud - floor, 1e-3)
