"""ShotTrack: the landmarks of one shot, measured once and reused for every language of the dub."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lipsync_engine.errors import InputError
from lipsync_engine.options import PassthroughSegment

_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class ShotTrack:
    """The dominant face of a shot, frame by frame. Frame ``i`` here is frame ``first_index + i`` of the shot."""

    points: np.ndarray  # (N, 468, 2) float32 frame pixels, temporally smoothed; NaN where not valid
    valid: np.ndarray  # (N,) bool: a usable face the pipeline may edit
    reasons: list[str | None]  # why each invalid frame is invalid ("no_face", "face_too_small", ...); None if valid
    other_faces: list[tuple[int, int]]  # (frame index, count of extra faces) where more than the actor showed
    fps: float  # frames per second of the shot (smoothing windows were set from it)
    raw_points: np.ndarray  # (N, 468, 2) float32 as measured, before smoothing and gap filling; NaN if no face
    interpolated: np.ndarray  # (N,) bool: short dropouts filled from their neighbours
    first_index: int = 0
    frame_size: tuple[int, int] = (0, 0)  # (width, height) of the frames tracked
    source: str = ""  # what was tracked (file, its size and mtime, frame range), see pipeline.shot.source_key

    def __len__(self) -> int:
        return len(self.valid)

    def segments(self) -> list[PassthroughSegment]:
        """Runs of invalid frames with one reason, as shot frame indices (inclusive ends)."""
        out: list[PassthroughSegment] = []
        for i, reason in enumerate(self.reasons):
            if self.valid[i]:
                continue
            frame = self.first_index + i
            if out and out[-1].end == frame - 1 and out[-1].reason == reason:
                out[-1].end = frame
            else:
                out.append(PassthroughSegment(start=frame, end=frame, reason=str(reason)))
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write the track to ``path`` (.npz) atomically."""
        path = Path(path)
        arrays = dict(
            version=np.int64(_FORMAT_VERSION), points=self.points, valid=self.valid,
            reasons=np.array([r or "" for r in self.reasons], dtype=np.str_),
            other_faces=np.array(self.other_faces, dtype=np.int64).reshape(-1, 2), fps=np.float64(self.fps),
            raw_points=self.raw_points, interpolated=self.interpolated, first_index=np.int64(self.first_index),
            frame_size=np.array(self.frame_size, dtype=np.int64), source=np.str_(self.source),
        )
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ShotTrack":
        """Read a track written by ``save``; InputError if it is not one or of another format version."""
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                version = int(z["version"])
                if version != _FORMAT_VERSION:
                    raise InputError(f"face track {path} has format version {version}; this engine reads "
                                     f"version {_FORMAT_VERSION}: track the shot again")
                return cls(
                    points=z["points"], valid=z["valid"].astype(bool),
                    reasons=[str(r) or None for r in z["reasons"]],
                    other_faces=[(int(a), int(b)) for a, b in z["other_faces"]], fps=float(z["fps"]),
                    raw_points=z["raw_points"], interpolated=z["interpolated"].astype(bool),
                    first_index=int(z["first_index"]), frame_size=tuple(int(v) for v in z["frame_size"]),
                    source=str(z["source"]) if "source" in z.files else "",
                )
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"cannot read face track {path}: {exc}; pass a .npz written by ShotTrack.save "
                             "or track the shot again") from exc
