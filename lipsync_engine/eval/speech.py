"""Speech loudness per video frame, from the speech windows the generator is given."""
from __future__ import annotations

import numpy as np

CENTRE_COLUMNS = 4  # mel columns (40 ms) around a window's centre that measure the frame's own loudness


def frame_energy(windows: np.ndarray) -> np.ndarray:
    """(N, 80, W) log-mel windows (audio.frame_mel_windows) -> (N,) float32 mean log-mel of each frame's centre."""
    mid = windows.shape[2] // 2
    half = CENTRE_COLUMNS // 2
    return windows[:, :, mid - half:mid + half].mean(axis=(1, 2)).astype(np.float32)
