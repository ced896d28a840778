"""Reference retrieval that does not chatter: pick the actor's reference frames by mouth code.

A profile keeps a few reference crops spread over the actor's mouth-code space (farthest-point
sampling). For a dub, the reference of each frame is a Viterbi path over those candidates: the cost of
a frame is its code distance, and every switch costs extra, so the reference changes only when the
wanted mouth really moves elsewhere; a switch is cross-faded over a few frames.
"""
from __future__ import annotations

import numpy as np

SWITCH_COST = 0.5  # cost of changing reference, in units of the mean squared code distance
FADE_FRAMES = 4  # frames over which a reference switch is cross-faded


def spread_references(codes: np.ndarray, count: int) -> np.ndarray:
    """Indices of up to ``count`` rows of (M, D) ``codes`` spread over code space, most closed first."""
    norms = np.linalg.norm(codes, axis=1)
    chosen = [int(np.argmin(norms))]
    dist = np.linalg.norm(codes - codes[chosen[0]], axis=1)
    while len(chosen) < min(count, len(codes)):
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0.0:
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(codes - codes[nxt], axis=1))
    return np.array(chosen, dtype=np.int64)


def reference_path(wanted: np.ndarray, candidates: np.ndarray, switch_cost: float = SWITCH_COST) -> np.ndarray:
    """Viterbi choice of one candidate per frame: wanted (N, D), candidates (R, D) codes -> (N,) int64."""
    cost = ((wanted[:, None, :] - candidates[None, :, :]) ** 2).sum(-1)  # (N, R)
    scale = float(cost.mean()) or 1.0
    penalty = switch_cost * scale
    n, r = cost.shape
    total = cost[0].copy()
    back = np.zeros((n, r), dtype=np.int64)
    for t in range(1, n):
        best_prev = int(np.argmin(total))
        stay = total
        switch = total[best_prev] + penalty
        back[t] = np.where(stay <= switch, np.arange(r), best_prev)
        total = np.minimum(stay, switch) + cost[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmin(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def crossfade(path: np.ndarray, fade: int = FADE_FRAMES) -> np.ndarray:
    """(N,) reference path -> (N, 3) float32 columns [ref_a, ref_b, weight of b] fading at each switch."""
    n = len(path)
    out = np.stack([path, path, np.zeros(n)], axis=1).astype(np.float32)
    for t in np.flatnonzero(path[1:] != path[:-1]) + 1:  # path[t-1] -> path[t]
        start = max(0, t - fade // 2)
        for i, frame in enumerate(range(start, min(n, start + fade))):
            out[frame] = (path[t - 1], path[t], (i + 1) / (fade + 1))
    return out
