"""Track the dominant face through a shot: streaming over frames, keeping only landmarks.

Every few frames (and whenever a face is lost) the detector (<= 640 px) searches the whole frame and
every face found is measured by the mesh on its own crop; in between, each face is measured again on the
crop around where it was, and the mesh's own check (its detector on that crop) notices a face that is
covered or gone at once. When the shot is over, faces are linked into tracks by box overlap; the dominant track (largest area summed over its
frames: big and persistent) is the actor, the others are reported. Each frame of the actor is checked
(size, head turn, cut off by the border), dropouts of one or two frames are filled, and every unbroken
run is smoothed with zero-phase filters (see smoothing.py).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from lipsync_engine.errors import InputError, RenderCancelled
from lipsync_engine.faces.image import main_faces
from lipsync_engine.faces.landmarks import Box, FaceLandmarker, FaceLandmarks, as_uint8
from lipsync_engine.faces.quality import NO_FACE, FaceRules, eye_distance, face_problem
from lipsync_engine.faces.shot_track import ShotTrack
from lipsync_engine.faces.smoothing import SmoothingConfig, interpolate_gap, smooth_run
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
    jump_eye_fraction: float = 0.5  # stable points moving more than this many eye distances in one frame: a cut
    max_faces: int = 4  # faces measured per frame
    # The full-frame detector runs on every n-th frame and whenever a face is lost; in between, each face is
    # measured on the crop around its previous position (faster, and steadier than a new detector box).
    redetect_every: int = 8


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
            rgb = as_uint8(rgb)
            previous = per_frame[-1] if per_frame else []
            faces = None
            if previous and len(per_frame) % config.redetect_every:
                faces = _follow(landmarker, rgb, previous)
            if faces is None:
                faces = main_faces(landmarker.detect(rgb), config.rules)
            per_frame.append(faces)
            now = time.perf_counter()
            if progress is not None and (now - last_report > 0.25 or len(per_frame) == total):
                last_report = now
                progress(_progress(len(per_frame), total, now - started))
    finally:
        if own:
            landmarker.close()
    if first_index is None:
        raise InputError("the shot has no frames to track")
    return _assemble(per_frame, first_index, shape, fps, config)


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


def _assemble(per_frame: list[list[FaceLandmarks]], first_index: int, shape: tuple[int, ...], fps: float,
              config: TrackerConfig) -> ShotTrack:
    """Pick the actor's track, check, fill and smooth it."""
    n = len(per_frame)
    actor = _dominant_track(per_frame, config.link_iou, max(1, round(config.link_gap_s * fps)))
    raw = np.full((n, 468, 2), np.nan, dtype=np.float32)
    reasons: list[str | None] = [NO_FACE] * n
    other_faces = []
    for i, faces in enumerate(per_frame):
        chosen = actor.get(i)
        if chosen is not None:
            raw[i] = faces[chosen].points
            reasons[i] = face_problem(faces[chosen].points, shape, config.rules)
        extra = len(faces) - (chosen is not None)
        if extra > 0:
            other_faces.append((first_index + i, extra))
    valid = np.array([r is None for r in reasons])
    points = np.where(valid[:, None, None], raw, np.nan).astype(np.float32)
    interpolated = _fill_dropouts(points, valid, reasons, config)
    for start, stop in _runs(points, valid, config.jump_eye_fraction):
        points[start:stop] = smooth_run(points[start:stop], fps, config.smoothing)
    return ShotTrack(points=points, valid=valid, reasons=reasons, other_faces=other_faces, fps=float(fps),
                     raw_points=raw, interpolated=interpolated, first_index=first_index,
                     frame_size=(int(shape[1]), int(shape[0])))


def _dominant_track(per_frame: list[list[FaceLandmarks]], min_iou: float, max_gap: int) -> dict[int, int]:
    """Link faces across frames by box overlap; the actor's track as {frame: face position in that frame}."""
    tracks: list[dict] = []  # {"box", "last", "members": {frame: pos}, "area"}
    for i, faces in enumerate(per_frame):
        taken: set[int] = set()
        for pos, face in enumerate(faces):
            best, best_iou = None, min_iou
            for t, track in enumerate(tracks):
                if t in taken or i - track["last"] > max_gap:
                    continue
                overlap = _iou(track["box"], face.box)
                if overlap >= best_iou:
                    best, best_iou = t, overlap
            if best is None:
                tracks.append({"box": face.box, "last": i, "members": {i: pos}, "area": 0.0})
                best = len(tracks) - 1
            track = tracks[best]
            track["box"], track["last"] = face.box, i
            track["members"][i] = pos
            track["area"] += (face.box[2] - face.box[0]) * (face.box[3] - face.box[1])
            taken.add(best)
    return max(tracks, key=lambda t: t["area"])["members"] if tracks else {}


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _is_jump(a: np.ndarray, b: np.ndarray, fraction: float) -> bool:
    """Whether two consecutive frames' points are too far apart to be the same face moving."""
    dist = min(eye_distance(a), eye_distance(b))
    move = float(np.linalg.norm(a.mean(0) - b.mean(0)))
    return move > fraction * dist or abs(eye_distance(a) / eye_distance(b) - 1.0) > fraction


def _fill_dropouts(points: np.ndarray, valid: np.ndarray, reasons: list[str | None],
                   config: TrackerConfig) -> np.ndarray:
    """Interpolate short no-face dropouts between usable frames in place; returns (N,) bool filled frames."""
    filled = np.zeros(len(valid), dtype=bool)
    i = 0
    while i < len(valid):
        if valid[i]:
            i += 1
            continue
        j = i
        while j < len(valid) and not valid[j]:
            j += 1
        gap_ok = 0 < i and j < len(valid) and j - i <= config.fill_gap
        if gap_ok and all(r == NO_FACE for r in reasons[i:j]) \
                and not _is_jump(points[i - 1], points[j], config.jump_eye_fraction):
            points[i:j] = interpolate_gap(points[i - 1], points[j], j - i)
            valid[i:j], filled[i:j] = True, True
            reasons[i:j] = [None] * (j - i)
        i = j
    return filled


def _runs(points: np.ndarray, valid: np.ndarray, jump: float) -> list[tuple[int, int]]:
    """[start, stop) runs of valid frames with no jump (a cut, a swap) inside: smoothing never crosses them."""
    runs = []
    start = None
    for i in range(len(valid) + 1):
        broken = i == len(valid) or not valid[i] or (start is not None and _is_jump(points[i - 1], points[i], jump))
        if broken and start is not None:
            runs.append((start, i))
            start = None
        if i < len(valid) and valid[i] and start is None:
            start = i
    return runs
