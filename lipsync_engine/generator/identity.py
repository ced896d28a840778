"""The identity backend: returns each target crop unchanged.

It proves the pipeline is lossless outside the mouth, serves as the fidelity ceiling in evaluation,
and lets the daemon and plugins be tested without model weights.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from lipsync_engine.generator.base import ActorProfile, ProfileSamples


class IdentityGenerator:
    """Pass-through generator; see module docstring."""

    name = "identity"
    backend = "numpy"

    def __init__(self, crop_size: int = 256) -> None:
        self.crop_size = crop_size

    def build_profile(self, samples: ProfileSamples) -> ActorProfile:
        return ActorProfile(generator=self.name, data={}, source=f"{len(samples.crops)} frames")

    def plan(self, mel: np.ndarray, speech: np.ndarray, fps: Fraction, profile: ActorProfile,
             points: np.ndarray | None = None) -> np.ndarray:
        return np.zeros((len(mel), 0), dtype=np.float32)

    def render(
        self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile
    ) -> np.ndarray:
        return crops.copy()
