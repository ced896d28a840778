"""The contract between the render pipeline and any lip-sync generator.

The pipeline prepares a shot once (face track, aligned crops) and then drives a generator in three
steps, so that cheap whole-shot work (audio -> mouth motion, smoothed over time) is separate from the
heavy per-batch image work that GPU engines accelerate:

1. ``build_profile(samples)``: an actor profile from crops of the actor's own footage (the shot itself,
   or a longer original via ``lipsync adapt``). Opaque to the pipeline.
2. ``plan(mel, speech, fps, profile)``: one motion code per output frame for the whole dub, smooth in time.
3. ``render(crops, points, motion, profile)``: aligned target crops -> crops whose mouths follow ``motion``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class ProfileSamples:
    """Frames of the actor sampled from their own footage, already aligned to the generator's crop."""

    crops: np.ndarray  # (M, S, S, 3) uint8 RGB aligned crops
    points: np.ndarray  # (M, 468, 2) float32 landmarks in crop pixel coordinates
    mel: np.ndarray | None = None  # (M, MEL_BINS, MEL_WINDOW) float32 windows of the footage's own audio
    speech: np.ndarray | None = None  # (M,) bool, voice activity of the footage's own audio


@dataclass
class ActorProfile:
    """What a generator keeps about one actor. ``data`` is the generator's own; ``name`` says whose."""

    generator: str  # name of the generator that built it; another generator refuses it
    data: dict[str, Any]
    source: str = ""  # what footage it was built from, for reports


@runtime_checkable
class Generator(Protocol):
    """A lip-sync generator as the pipeline drives it. Implementations need not be thread-safe."""

    name: str  # model name and version, e.g. "lipsync-gen-1"; "identity" for the pass-through backend
    backend: str  # engine that runs the heavy part: "numpy", "torch", "onnx", "tensorrt", "triton"
    crop_size: int  # S: side of the aligned square crops it takes and returns

    def build_profile(self, samples: ProfileSamples) -> ActorProfile:
        """Build an actor profile from aligned crops of the actor's own footage."""
        ...

    def plan(self, mel: np.ndarray, speech: np.ndarray, fps: Fraction, profile: ActorProfile,
             points: np.ndarray | None = None) -> np.ndarray:
        """Motion for a whole dub: mel (N, MEL_BINS, MEL_WINDOW) float32, speech (N,) bool -> (N, D) float32.

        ``points``: (N, 468, 2) crop landmarks of the frames the motion will be rendered on (NaN rows where
        no face was found), when the caller knows them; a generator may use them (the learned one prefers
        references posed like each frame) or ignore them."""
        ...

    def render(
        self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile
    ) -> np.ndarray:
        """crops (n, S, S, 3) uint8 RGB, points (n, 468, 2) crop coords, motion (n, D) -> (n, S, S, 3) uint8 RGB."""
        ...
