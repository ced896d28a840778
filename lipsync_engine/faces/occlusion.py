"""Is the mouth covered (a hand, a microphone, a black box)? A colour check over the whole shot.

Lips keep their colour relative to the cheeks while a person speaks, whatever the light does to both.
Each frame gives a three-number signature: log(lip colour / cheek colour) per RGB channel, sampled at
the middle of the lip band (between the outer and inner lip contours, so an open mouth does not count)
and on both cheeks. Runs of frames whose signature is far from the shot's median (robust z-score and
an absolute floor, lasting at least a fifth of a second) have something else where the lips should
be. Needs a shot where the mouth is visible most of the time; a mouth covered in most frames is not
caught.
"""
from __future__ import annotations

import numpy as np

from lipsync_engine.faces import topology
from lipsync_engine.faces.cleanup import value_runs

_CHEEKS = (50, 101, 205, 280, 330, 425)  # cheek centres, left and right, beside and below the nose
MIN_FRAMES = 10  # fewer measured frames than this: no statistics, nothing flagged


def mouth_signature(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(3,) float32 log(lip / cheek) mean colour of an HxWx3 uint8/uint16 frame with (468, 2) landmarks."""
    lips = (points[list(topology.OUTER_LIPS)] + points[list(topology.INNER_LIPS)]) / 2.0
    lip = _mean_colour(rgb, lips)
    cheek = _mean_colour(rgb, points[list(_CHEEKS)])
    dark = 4.0 * (np.iinfo(rgb.dtype).max / 255.0)  # keeps near-black pixels from dominating the ratio
    return np.log((lip + dark) / (cheek + dark)).astype(np.float32)


def _mean_colour(rgb: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Mean RGB of the 3x3 neighbourhoods of (K, 2) pixel positions (clamped to the frame)."""
    h, w = rgb.shape[:2]
    offsets = np.array([(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    pix = np.rint(xy).astype(int)[:, None, :] + offsets[None]
    x = np.clip(pix[..., 0], 0, w - 1)
    y = np.clip(pix[..., 1], 0, h - 1)
    return rgb[y, x].reshape(-1, 3).mean(0)


def occluded(signatures: np.ndarray, measured: np.ndarray, min_run: int, z_limit: float = 4.0,
             min_shift: float = 0.25) -> np.ndarray:
    """(N,) bool: frames whose (N, 3) signature is an outlier among the ``measured`` (N,) frames.

    An outlier differs from the median by more than ``z_limit`` robust standard deviations and by more
    than ``min_shift`` (log units: 0.25 is a 28 % change of the lip/cheek colour ratio) in some channel,
    in a run of at least ``min_run`` consecutive frames: lips pressed together for a "b" or "m" look
    like skin for a frame or three; a hand stays longer.
    """
    flagged = np.zeros(len(signatures), dtype=bool)
    if measured.sum() < MIN_FRAMES:
        return flagged
    sig = signatures[measured]
    median = np.median(sig, 0)
    spread = 1.4826 * np.median(np.abs(sig - median), 0)
    deviation = np.abs(signatures - median)
    outlier = (deviation > z_limit * np.maximum(spread, 1e-3)) & (deviation > min_shift)
    flagged[measured] = outlier[measured].any(1)
    for run_flagged, i, j in value_runs(flagged):
        if run_flagged and j - i < min_run:
            flagged[i:j] = False
    return flagged
