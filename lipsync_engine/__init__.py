"""lipsync_engine: offline lip-sync for video dubbing.

Public API (see docs/TEAM_CONTRACTS.md)::

    load_generator(name="default", *, backend="auto", device="cpu", precision="fp32",
                   engine_options=None) -> Generator
    sync_frame(image, pcm, generator=None) -> HxWx3 uint8 RGB
    sync_frames(image, pcm, fps=Fraction(25), generator=None) -> Iterator[HxWx3 uint8 RGB]
    render_video(video, audio, out, generator=None, options=RenderOptions(), *, actor=None, track=None,
                 progress=None, cancel=None) -> RenderReport

Images are HxWx3 uint8 RGB; speech is float32 mono 16 kHz. Errors are ``lipsync_engine.errors``
(root LipsyncError). The heavy parts (media, faces, models) are imported on first use, so importing
this package stays cheap for a daemon or a plugin that only needs the types.
"""
from __future__ import annotations

import importlib
from typing import Any

from lipsync_engine import errors
from lipsync_engine.errors import (
    AudioError,
    FaceError,
    InputError,
    LipsyncError,
    MediaError,
    ModelError,
    MultipleFacesError,
    NoFaceError,
    OutputError,
    RenderCancelled,
)
from lipsync_engine.options import PassthroughSegment, Progress, RenderOptions, RenderReport

_LAZY = {
    "load_generator": "lipsync_engine.generator.loader",
    "render_video": "lipsync_engine.pipeline.render",
    "sync_frame": "lipsync_engine.pipeline.still",
    "sync_frames": "lipsync_engine.pipeline.still",
}

__all__ = [
    *_LAZY,
    "RenderOptions",
    "Progress",
    "RenderReport",
    "PassthroughSegment",
    "errors",
    "LipsyncError",
    "InputError",
    "AudioError",
    "MediaError",
    "FaceError",
    "NoFaceError",
    "MultipleFacesError",
    "ModelError",
    "RenderCancelled",
    "OutputError",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lipsync_engine' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
