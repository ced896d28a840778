"""Audio-to-motion: a log-mel window centred on each video frame -> that frame's mouth-motion code.

Input (N, MEL_BINS, mel_window) float32 normalised log-mel (see audio.features), output (N, D) float32
codes (see model/mouth_shape.py; 0 is the closed rest mouth). Per frame, so it is frame-rate agnostic;
temporal smoothing over the whole dub is the generator's plan() step. The pipeline cuts 200 ms windows
(audio.MEL_WINDOW); a network trained on wider ones gets them from ``widen_windows``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lipsync_engine.audio.features import MEL_FPS, SILENCE, frame_mel_windows
from lipsync_engine.model.config import MotionConfig


class AudioToMotion(nn.Module):
    """Temporal conv net over the mel window's columns; see the module docstring."""

    def __init__(self, config: MotionConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        h = config.hidden
        convs = [
            nn.Conv1d(config.mel_bins, h, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(h, h, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(h, h, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
        ]
        if config.head == "pool":
            head = [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(h, h)]
        else:
            steps = config.mel_window
            for _ in range(2):  # time steps left after the two stride-2 convs
                steps = (steps + 1) // 2
            head = [nn.Flatten(), nn.Dropout(0.1), nn.Linear(h * steps, h)]
        self.body = nn.Sequential(*convs, *head, nn.LeakyReLU(0.2), nn.Dropout(0.1), nn.Linear(h, config.code_dim))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.body(mel)


def build_audio_motion(config: MotionConfig) -> AudioToMotion:
    """A freshly initialised audio-to-motion network for ``config``."""
    return AudioToMotion(config)


def widen_windows(windows: np.ndarray, fps: float, width: int) -> np.ndarray:
    """(N, MEL_BINS, w) windows of frames i centred at (i + 0.5) / fps -> (N, MEL_BINS, width), same centres.

    The mel columns are laid back on one track from every frame's window and cut again ``width`` wide,
    so at a constant frame rate the result equals cutting the wider windows from the audio itself
    (audio.frame_mel_windows); columns no window covers (below 1000 / w fps) are silence.
    """
    n, bins, w = windows.shape
    if width == w or n == 0:
        return windows
    centres = (np.arange(n) + 0.5) / float(fps)
    start = np.round(centres * MEL_FPS).astype(np.int64) - w // 2
    columns = start[:, None] + np.arange(w)[None, :]
    keep = columns >= 0
    track = np.full((bins, int(columns.max()) + 1), SILENCE, np.float32)
    track[:, columns[keep]] = windows.transpose(1, 0, 2)[:, keep]
    return frame_mel_windows(track, centres, width)
