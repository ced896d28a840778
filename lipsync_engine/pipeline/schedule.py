"""Which frames of a shot are edited, how strongly, and which pass through untouched (and why)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lipsync_engine.options import PassthroughSegment

SILENCE = "silence"


def edit_strength(edit: np.ndarray, fade_frames: int) -> np.ndarray:
    """Blend strength per frame: (N,) bool "edit this frame" -> (N,) float32 in [0, 1].

    Frames outside the edit get 0 (they pass through bit-exact). Inside an edited run, the strength
    ramps up over ``fade_frames`` frames after a passthrough frame and down before the next one, so the
    new mouth fades in and out instead of popping. The ends of the shot are no boundary: a shot that
    opens on an edited frame is edited at full strength from its first frame.
    """
    edit = np.asarray(edit, dtype=bool)
    n = edit.size
    distance = np.full(n, np.inf)
    off = np.flatnonzero(~edit)
    if off.size:
        index = np.arange(n)
        after = np.searchsorted(off, index)  # first passthrough frame at or after each frame
        nxt = np.where(after < off.size, off[np.minimum(after, off.size - 1)] - index, np.inf)
        prv = np.where(after > 0, index - off[np.maximum(after - 1, 0)], np.inf)
        distance = np.minimum(nxt, prv)
    strength = np.minimum(1.0, distance / (max(fade_frames, 0) + 1))
    strength[~edit] = 0.0
    return strength.astype(np.float32)


def passthrough_segments(
    valid: np.ndarray, reasons: Sequence[str | None], silent: np.ndarray | None
) -> list[PassthroughSegment]:
    """Runs of frames left as the source, each with one reason.

    ``valid`` (N,) bool: a usable face was tracked; ``reasons`` (N,) the tracker's reason where not
    valid; ``silent`` (N,) bool or None: frames kept because the dub is silent there
    ("keep_original" silence mode). A face reason wins over silence.
    """
    labels: list[str | None] = []
    for i, ok in enumerate(np.asarray(valid, dtype=bool)):
        if not ok:
            labels.append(reasons[i] or "no_face")
        elif silent is not None and silent[i]:
            labels.append(SILENCE)
        else:
            labels.append(None)
    segments: list[PassthroughSegment] = []
    for i, label in enumerate(labels):
        if label is None:
            continue
        if segments and segments[-1].reason == label and segments[-1].end == i - 1:
            segments[-1].end = i
        else:
            segments.append(PassthroughSegment(start=i, end=i, reason=label))
    return segments


def describe(segments: Sequence[PassthroughSegment]) -> list[str]:
    """One line per segment a person can act on, e.g. "frames 120-143 passed through: no_face"."""
    return [f"frames {s.start}-{s.end} passed through: {s.reason}" for s in segments]
