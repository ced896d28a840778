"""From per-frame measurements to a usable track: fill short dropouts, remove flicker across the
thresholds, and split the track where the face jumps (a cut, a swap) so smoothing never crosses it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipsync_engine.faces.quality import FACE_TOO_SMALL, FACE_TURNED, NO_FACE, eye_distance
from lipsync_engine.faces.smoothing import interpolate_gap


def value_runs(flags: np.ndarray) -> list[tuple[bool, int, int]]:
    """(value, start, stop) of each run of equal values in a (N,) bool array."""
    if len(flags) == 0:
        return []
    edges = np.flatnonzero(np.diff(flags.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [len(flags)]])
    return [(bool(flags[a]), int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


@dataclass(frozen=True)
class JumpLimits:
    """Largest change between consecutive frames that is still one face moving (beyond it: a cut or a swap)."""

    move: float = 0.5  # centroid shift, in eye distances
    scale: float = 0.15  # relative change of the eye distance (a zoom cut; walking to the camera is ~2 %)


def is_jump(a: np.ndarray, b: np.ndarray, limits: JumpLimits) -> bool:
    """Whether two consecutive (468, 2) frames are too far apart to be one face moving."""
    da, db = eye_distance(a), eye_distance(b)
    move = float(np.linalg.norm(a.mean(0) - b.mean(0)))
    return move > limits.move * min(da, db) or abs(da / db - 1.0) > limits.scale


def fill_dropouts(points: np.ndarray, valid: np.ndarray, reasons: list[str | None], max_gap: int,
                  jump: JumpLimits) -> np.ndarray:
    """Interpolate no-face dropouts of at most ``max_gap`` frames between usable frames, in place (points
    (N, 468, 2), valid, reasons); returns (N,) bool, the filled frames."""
    filled = np.zeros(len(valid), dtype=bool)
    for run_valid, i, j in value_runs(valid):
        inside = 0 < i and j < len(valid) and j - i <= max_gap
        if not run_valid and inside and all(r == NO_FACE for r in reasons[i:j]) \
                and not is_jump(points[i - 1], points[j], jump):
            points[i:j] = interpolate_gap(points[i - 1], points[j], j - i)
            valid[i:j], filled[i:j] = True, True
            reasons[i:j] = [None] * (j - i)
    return filled


def debounce(points: np.ndarray, raw: np.ndarray, valid: np.ndarray, reasons: list[str | None],
             min_run: int) -> None:
    """Remove flicker across the size and head-turn thresholds, in place: a run shorter than ``min_run``
    frames of face_turned / face_too_small between usable frames becomes usable (points from ``raw``);
    then a usable run shorter than ``min_run`` next to unusable frames becomes unusable, with its
    neighbours' reason."""
    for run_valid, i, j in value_runs(valid):
        blip = not run_valid and i > 0 and j < len(valid) and j - i < min_run
        if blip and all(r in (FACE_TURNED, FACE_TOO_SMALL) for r in reasons[i:j]):
            valid[i:j] = True
            reasons[i:j] = [None] * (j - i)
            points[i:j] = raw[i:j]
    for run_valid, i, j in value_runs(valid):
        if run_valid and j - i < min_run and (i > 0 or j < len(valid)):
            valid[i:j] = False
            reasons[i:j] = [reasons[i - 1] if i > 0 else reasons[j]] * (j - i)
            points[i:j] = np.nan


def steady_runs(points: np.ndarray, valid: np.ndarray, jump: JumpLimits) -> list[tuple[int, int]]:
    """[start, stop) runs of valid frames with no jump inside."""
    runs = []
    for run_valid, i, j in value_runs(valid):
        if not run_valid:
            continue
        cuts = [k for k in range(i + 1, j) if is_jump(points[k - 1], points[k], jump)]
        bounds = [i, *cuts, j]
        runs += list(zip(bounds[:-1], bounds[1:]))
    return runs
