"""Self-reconstruction batches for the renderer: target frames t and t+1, a retrieved reference, the
mouth shape decoded from frame t's own code, and the repaint mask inference would use.

The reference is the nearest-code frame among ``pool`` random frames of the same clip at least
``min_gap`` frames away, which mimics retrieval from a profile of about that many references.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipsync_engine.model.mouth_shape import decode, repaint_mask, shape_map
from lipsync_engine.train.clips import TrainClip


@dataclass(frozen=True)
class SamplingConfig:
    pool: int = 24  # candidate references per sample (a profile keeps about this many)
    min_gap: int = 12  # frames between target and reference, so the net cannot copy the answer
    retrieve: bool = True  # False: a random reference frame (the "retrieval off" design)


@dataclass
class RendererBatch:
    """2B crops: rows 0..B-1 are frames t, rows B..2B-1 frames t+1 (same reference). float32 NCHW in [0, 1]."""

    target: np.ndarray  # (2B, 3, S, S) ground truth (also the unmasked renderer input)
    mask: np.ndarray  # (2B, 1, S, S)
    shape: np.ndarray  # (2B, C, S, S)
    reference: np.ndarray  # (2B, 3, S, S)

    def inputs(self) -> dict[str, np.ndarray]:
        return {"target": self.target, "mask": self.mask, "shape": self.shape, "reference": self.reference}


class PairSampler:
    """Draws RendererBatches from training clips (clip chosen with probability ~ sqrt(frames))."""

    def __init__(self, clips: list[TrainClip], basis: np.ndarray, region_top: int, config: SamplingConfig,
                 seed: int = 0) -> None:
        self.clips = [c for c in clips if len(c.consecutive()) > 0]
        weights = np.sqrt([len(c.frames) for c in self.clips])
        self.weights = weights / weights.sum()
        self.basis, self.region_top, self.config = basis, region_top, config
        self.rng = np.random.default_rng(seed)

    def batch(self, pairs: int) -> RendererBatch:
        items = [self._pair() for _ in range(pairs)]
        cols = [np.concatenate([it[k][0] for it in items] + [it[k][1] for it in items]) for k in range(4)]
        return RendererBatch(*cols)

    def _pair(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        clip = self.clips[self.rng.choice(len(self.clips), p=self.weights)]
        row = int(self.rng.choice(clip.consecutive()))
        ref = self._reference(clip, row)
        size = clip.clip.crops.shape[1]
        rows = [row, row + 1]
        crops = np.asarray(clip.clip.crops[clip.frames[rows]])
        wanted = decode(clip.codes[rows], self.basis, clip.rest, clip.anchors[rows])
        masks = [repaint_mask([clip.shapes[r], w, clip.shapes[ref]], size, self.region_top) for r, w in zip(rows, wanted)]
        reference = np.asarray(clip.clip.crops[clip.frames[ref]])
        return tuple(
            (x[0:1], x[1:2]) for x in (
                crops.transpose(0, 3, 1, 2).astype(np.float32) / 255.0,
                np.stack(masks)[:, None],
                np.stack([shape_map(w, size) for w in wanted]),
                np.repeat(reference[None].transpose(0, 3, 1, 2).astype(np.float32) / 255.0, 2, axis=0),
            )
        )

    def _reference(self, clip: TrainClip, row: int) -> int:
        far = np.flatnonzero(np.abs(clip.frames - clip.frames[row]) >= self.config.min_gap)
        if len(far) == 0:
            far = np.arange(len(clip.frames))
        pool = self.rng.choice(far, size=min(self.config.pool, len(far)), replace=False)
        if not self.config.retrieve:
            return int(pool[0])
        dist = np.linalg.norm(clip.codes[pool] - clip.codes[row], axis=1)
        return int(pool[np.argmin(dist)])
