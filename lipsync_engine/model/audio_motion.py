"""Audio-to-motion: one 200 ms log-mel window per video frame -> that frame's mouth-motion code.

Input (N, MEL_BINS, MEL_WINDOW) float32 normalised log-mel (see audio.features), output (N, D) float32
codes (see model/mouth_shape.py; 0 is the closed rest mouth). Per frame, so it is frame-rate agnostic;
temporal smoothing over the whole dub is the generator's plan() step.
"""
from __future__ import annotations

import torch
from torch import nn

from lipsync_engine.model.config import MotionConfig


class AudioToMotion(nn.Module):
    """Temporal conv net over the mel window's columns; see the module docstring."""

    def __init__(self, config: MotionConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.body = nn.Sequential(
            nn.Conv1d(config.mel_bins, h, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(h, h, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(h, h, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
            nn.Linear(h, h),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.1),
            nn.Linear(h, config.code_dim),
        )

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.body(mel)


def build_audio_motion(config: MotionConfig) -> AudioToMotion:
    """A freshly initialised audio-to-motion network for ``config``."""
    return AudioToMotion(config)
