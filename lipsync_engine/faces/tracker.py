"""Track the dominant face through a shot: streaming over frames, keeping only landmarks.

Every few frames (and whenever a face is lost) the detector (<= 640 px) searches the whole frame and
every face found is measured by the mesh on its own crop; in between, each face is measured again on
the crop around where it was, and the mesh's own check (its detector on that crop) notices a face that
is covered or gone at once. When the shot is over, faces are linked into tracks by box overlap; the
dominant track (largest area summed over its frames: big and persistent) is the actor, the others are
reported. Each frame of the actor is checked (size, head turn, cut off by the border, mouth covered),
short dropouts are filled, threshold flicker is removed, and every unbroken run is smoothed with
zero-phase filters (cleanup.py, smoothing.py).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from lipsync_engine.errors import InputError, RenderCancelled
from lipsync_engine.faces.cleanup import JumpLimits, debounce, fill_dropouts, steady_runs
from lipsync_engine.faces.image import main_faces
from lipsync_engine.faces.landmarks import Box, FaceLandmarker, FaceLandmarks
from lipsync_engine.faces.occlusion import mouth_signature, occluded
from lipsync_engine.faces.quality import FACE_OCCLUDED, NO_FACE, FaceRules, eye_distance, face_problem
from lipsync_engine.faces.shot_track import ShotTrack
from lipsync_engine.faces.smoothing import SmoothingConfig, smooth_run
from lipsync_engine.options import Progress

__all__ = ["ShotTrack", "TrackerConfig", "track_shot"]


@dataclass(frozen=True)
class TrackerConfig:
    """How a shot is tracked."""

    rules: FaceRules = field(default_factory=FaceRules)  # what makes a face usable
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    link_iou: float = 0.3  # boxes in nearby frames overlapping at least this much are the same face
    link_gap_s: float = 1.0  # a face may vanish this long and still continue its track
    fill_gap: int = 2  # dropouts (no face) of at most this many frames between usable frames are interpolated
    jump: JumpLimits = field(default_factory=JumpLimits)  # a bigger change in one frame is a cut: not smoothed across
    max_faces: int = 4  # faces measured per frame
    # The full-frame detector runs on every n-th frame and whenever a face is lost; in between, each face is
    # measured on the crop around its previous position (faster, and steadier than a new detector box).
    redetect_every: int = 8
    min_valid_s: float = 0.2  # shorter usable / size-or-turn-unusable runs are merged into their neighbours
    occlusion_min_s: float = 0.2  # the mouth must look covered this long to count as occluded (see occlusion.py)


def track_shot(
    frames: Iterable[tuple[int, np.ndarray]],
    *,
    fps: float,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    total: int | None = None,
    config: TrackerConfig = TrackerConfig(),
    landmarker: FaceLandmarker | None = None,
) -> ShotTrack:
    """Track the actor's face through ``frames``: (shot frame index, HxWx3 uint8/uint16 RGB), consecutive.

    Frames are not kept. ``total`` (frame count, if known) only feeds progress events (stage "track").
    Raises RenderCancelled when ``cancel`` is set, InputError on non-consecutive indices or an empty shot.
    """
    if fps <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    own = landmarker is None
    landmarker = landmarker or FaceLandmarker(max_faces=config.max_faces)
    per_frame: list[list[FaceLandmarks]] = []
    signatures: list[np.ndarray] = []  # per frame: (faces, 3) mouth colour signatures, see occlusion.py
    first_index, shape = None, None
    started = last_report = time.perf_counter()
    try:
        for index, rgb in frames:
            if cancel is not None and cancel.is_set():
                raise RenderCancelled(f"face tracking cancelled at frame {index}")
            if first_index is None:
                first_index, shape = index, rgb.shape
            elif index != first_index + len(per_frame):
                raise InputError(f"frames must be consecutive: expected index {first_index + len(per_frame)}, "
                                 f"got {index}")
            faces = _follow(landmarker, rgb, per_frame[-1]) if per_frame and per_frame[-1] else None
            scheduled = len(per_frame) % config.redetect_every == 0
            if faces is None or scheduled:
                # Small faces (a costlier search) only on scheduled frames: a faceless stretch stays cheap.
                faces = _with_new_faces(landmarker, rgb, faces or [], config, small_faces=scheduled)
            per_frame.append(faces)
            signatures.append(np.array([mouth_signature(rgb, f.points) for f in faces], np.float32).reshape(-1, 3))
            now = time.perf_counter()
            if progress is not None and now - last_report > 0.25:
                last_report = now
                progress(_progress(len(per_frame), total, now - started))
    finally:
        if own:
            landmarker.close()
    if first_index is None:
        raise InputError("the shot has no frames to track")
    if progress is not None:
        progress(_progress(len(per_frame), total or len(per_frame), time.perf_counter() - started))
    return _assemble(per_frame, signatures, first_index, shape, fps, config)


def _follow(landmarker: FaceLandmarker, rgb: np.ndarray, previous: list[FaceLandmarks]) -> list[FaceLandmarks] | None:
    """The previous frame's faces measured again around where they were; None if any is lost (so the
    caller runs the detector)."""
    faces = []
    for face in previous:
        points = landmarker.landmarks_in_box(rgb, face.box)
        if points is None:
            return None
        faces.append(FaceLandmarks(points=points, box=_moved_box(face.box, face.points, points), score=face.score))
    return faces


def _with_new_faces(landmarker: FaceLandmarker, rgb: np.ndarray, followed: list[FaceLandmarks],
                    config: TrackerConfig, small_faces: bool) -> list[FaceLandmarks]:
    """``followed`` plus every face the detector finds elsewhere, measured on its detector box. Followed
    faces keep their own crop framing, so a detector frame does not make their landmarks jump."""
    faces = list(followed)
    for box, score in landmarker.detect_boxes(rgb, small_faces=small_faces):
        if len(faces) >= config.max_faces:
            break
        if any(_iou(box, face.box) >= config.link_iou for face in followed):
            continue
        points = landmarker.landmarks_in_box(rgb, box)
        if points is not None:
            faces.append(FaceLandmarks(points=points, box=box, score=score))
    return main_faces(faces, config.rules)


def _moved_box(box: Box, before: np.ndarray, after: np.ndarray) -> Box:
    """``box`` carried along with the landmarks from ``before`` to ``after`` (shift and scale)."""
    scale = eye_distance(after) / max(eye_distance(before), 1e-6)
    c0, c1 = before.mean(0), after.mean(0)
    x0, y0 = c1 + scale * (np.array(box[:2]) - c0)
    x1, y1 = c1 + scale * (np.array(box[2:]) - c0)
    return float(x0), float(y0), float(x1), float(y1)


def _progress(done: int, total: int | None, elapsed: float) -> Progress:
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if total and rate > 0 else None
    return Progress(stage="track", done=done, total=total or 0, fps=rate, eta_s=eta)


def _assemble(per_frame: list[list[FaceLandmarks]], signatures: list[np.ndarray], first_index: int,
              shape: tuple[int, ...], fps: float, config: TrackerConfig) -> ShotTrack:
    """Pick the actor's track, check, fill and smooth it."""
    n = len(per_frame)
    actor = _dominant_track(per_frame, config.link_iou, max(1, round(config.link_gap_s * fps)))
    raw = np.full((n, 468, 2), np.nan, dtype=np.float32)
    reasons: list[str | None] = [NO_FACE] * n
    mouth = np.full((n, 3), np.nan, dtype=np.float32)
    other_faces = []
    for i, faces in enumerate(per_frame):
        chosen = actor.get(i)
        if chosen is not None:
            raw[i] = faces[chosen].points
            mouth[i] = signatures[i][chosen]
            reasons[i] = face_problem(faces[chosen].points, shape, config.rules)
        extra = len(faces) - (chosen is not None)
        if extra > 0:
            other_faces.append((first_index + i, extra))
    usable = np.array([r is None for r in reasons])
    for i in np.flatnonzero(occluded(mouth, usable, max(3, round(config.occlusion_min_s * fps)))):
        reasons[i] = FACE_OCCLUDED
    valid = np.array([r is None for r in reasons])
    points = np.where(valid[:, None, None], raw, np.nan).astype(np.float32)
    interpolated = fill_dropouts(points, valid, reasons, config.fill_gap, config.jump)
    debounce(points, raw, valid, reasons, max(1, round(config.min_valid_s * fps)))
    interpolated &= valid
    for start, stop in steady_runs(points, valid, config.jump):
        points[start:stop] = smooth_run(points[start:stop], fps, config.smoothing)
    return ShotTrack(points=points, valid=valid, reasons=reasons, other_faces=other_faces, fps=float(fps),
                     raw_points=raw, interpolated=interpolated, first_index=first_index,
                     frame_size=(int(shape[1]), int(shape[0])))


@dataclass(eq=False)
class _Track:
    """Faces linked across frames."""

    box: Box  # latest box
    last: int  # latest frame
    members: dict[int, int] = field(default_factory=dict)  # frame -> face position in that frame
    area: float = 0.0  # box area summed over the frames: size times persistence


def _dominant_track(per_frame: list[list[FaceLandmarks]], min_iou: float, max_gap: int) -> dict[int, int]:
    """Link faces across frames by box overlap; the actor's track as {frame: face position in that frame}."""
    tracks: list[_Track] = []
    active: list[_Track] = []  # tracks seen within max_gap frames: the only ones a face may join
    for i, faces in enumerate(per_frame):
        active = [t for t in active if i - t.last <= max_gap]
        taken: list[_Track] = []
        for pos, face in enumerate(faces):
            candidates = [(_iou(t.box, face.box), n) for n, t in enumerate(active) if t not in taken]
            overlap, n = max(candidates, default=(0.0, -1))
            if overlap >= min_iou:
                track = active[n]
            else:
                track = _Track(box=face.box, last=i)
                tracks.append(track)
                active.append(track)
            track.box, track.last = face.box, i
            track.members[i] = pos
            track.area += (face.box[2] - face.box[0]) * (face.box[3] - face.box[1])
            taken.append(track)
    return max(tracks, key=lambda t: t.area).members if tracks else {}


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
