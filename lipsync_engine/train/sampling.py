"""Self-reconstruction batches for the renderer: target frames t and t+1, a retrieved reference, the
mouth shape decoded from frame t's own code, and the repaint mask inference would use.

The reference is the nearest-code frame among ``pool`` random frames of the same clip at least
``min_gap`` frames away, which mimics retrieval from a profile of about that many references. With
``mask_decoy`` the mask of some samples also covers another frame's mouth, as a wanted mouth that differs
from the frame's own widens it at run time.

Sync windows (for the sync-expert loss) are the same kind of crops for ``frames`` consecutive frames
centred on a speech frame of a clip whose audio belongs to the picture, with the speech windows of the
centre frame's audio shifted by -shift..shift frames (the expert's positive and shifted negatives).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipsync_engine.errors import InputError
from lipsync_engine.model.config import RendererConfig
from lipsync_engine.model.mouth_shape import decode, repaint_mask, shape_map
from lipsync_engine.model.reference_warp import warp_reference
from lipsync_engine.train.clips import TrainClip


@dataclass(frozen=True)
class SamplingConfig:
    pool: int = 24  # candidate references per sample (a profile keeps about this many)
    min_gap: int = 12  # frames between target and reference, so the net cannot copy the answer
    retrieve: bool = True  # False: a random reference frame (the "retrieval off" design)
    # Share of samples whose repaint mask also covers a random other frame's mouth (placed under the target's
    # nose). At run time the mask is the hull of the frame's own and the wanted mouth, which differ; trained
    # only on the hull of the own mouth, the net can read the real jaw off the mask's edge and the chin left
    # visible below it instead of following the wanted shape. Measured: decoys raised self-reconstruction
    # PSNR; they did not bring back the sync a tight mask costs (design comparison 13, docs/model.md).
    mask_decoy: float = 0.0


@dataclass
class RendererBatch:
    """2B crops: rows 0..B-1 are frames t, rows B..2B-1 frames t+1 (same reference). float32 NCHW in [0, 1]."""

    target: np.ndarray  # (2B, 3, S, S) ground truth (also the unmasked renderer input)
    mask: np.ndarray  # (2B, 1, S, S)
    shape: np.ndarray  # (2B, C, S, S)
    reference: np.ndarray  # (2B, 3, S, S)

    def inputs(self) -> dict[str, np.ndarray]:
        return {"target": self.target, "mask": self.mask, "shape": self.shape, "reference": self.reference}


@dataclass
class SyncBatch:
    """B windows of T consecutive frames (crops window-major: row b * T + t) and their speech."""

    crops: RendererBatch  # (B * T, ...) as in RendererBatch
    mel: np.ndarray  # (B, 2 * shift + 1, 80, 20) float32: the centre frame's speech window moved -shift..shift frames


class PairSampler:
    """Draws RendererBatches from training clips (clip chosen with probability ~ sqrt(frames))."""

    def __init__(self, clips: list[TrainClip], basis: np.ndarray, renderer: RendererConfig, config: SamplingConfig,
                 seed: int = 0) -> None:
        self.clips = [c for c in clips if len(c.consecutive()) > 0]
        weights = np.sqrt([len(c.frames) for c in self.clips])
        self.weights = weights / weights.sum()
        self.basis, self.renderer, self.config = basis, renderer, config
        self.rng = np.random.default_rng(seed)
        self.sync_rng = np.random.default_rng(seed + 1)  # own stream: sync windows leave the pairs unchanged
        self._sync_centres: dict[int, list[np.ndarray]] = {}

    def batch(self, pairs: int) -> RendererBatch:
        items = []
        for _ in range(pairs):
            clip = self.clips[self.rng.choice(len(self.clips), p=self.weights)]
            row = int(self.rng.choice(clip.consecutive()))
            items.append(self._window(clip, np.array([row, row + 1]), row, self.rng))
        return RendererBatch(*(np.concatenate([it[k][0:1] for it in items] + [it[k][1:2] for it in items])
                               for k in range(4)))

    def sync_windows(self, count: int, frames: int, shift: int) -> SyncBatch:
        """``count`` windows of ``frames`` consecutive frames from sync-usable clips (see the module docstring).

        Raises InputError when no training clip has such a window on a speech frame.
        """
        clips, centres = self._sync_pool(frames)
        sizes = np.sqrt([len(c) for c in centres])
        half = frames // 2
        items, mel = [], []
        for i in self.sync_rng.choice(len(clips), size=count, p=sizes / sizes.sum()):
            clip, centre = clips[i], int(self.sync_rng.choice(centres[i]))
            items.append(self._window(clip, np.arange(centre - half, centre + half + 1), centre, self.sync_rng))
            mel.append(clip.clip.mel_windows(clip.frames[centre] + np.arange(-shift, shift + 1)))
        return SyncBatch(RendererBatch(*(np.concatenate([it[k] for it in items]) for k in range(4))),
                         np.stack(mel).astype(np.float32))

    def _sync_pool(self, frames: int) -> tuple[list[TrainClip], list[np.ndarray]]:
        """Clips with sync-usable audio and, per clip, the rows centring ``frames`` consecutive frames on speech."""
        if frames not in self._sync_centres:
            half = frames // 2
            pool = []
            for n, clip in enumerate(self.clips):
                if not clip.sync_ok or len(clip.frames) < frames:
                    continue
                run = np.lib.stride_tricks.sliding_window_view(clip.frames, frames)
                rows = np.flatnonzero(run[:, -1] - run[:, 0] == frames - 1) + half
                rows = rows[clip.clip.speech_at(clip.frames[rows])]
                if len(rows):
                    pool.append((n, rows))
            self._sync_centres[frames] = pool
        pool = self._sync_centres[frames]
        if not pool:
            raise InputError(f"no training clip has {frames} consecutive face frames on speech with usable audio: "
                             "the sync loss needs some (set its weight to 0 or add footage)")
        return [self.clips[n] for n, _ in pool], [rows for _, rows in pool]

    def _window(self, clip: TrainClip, rows: np.ndarray, anchor: int,
                rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """Target, mask, shape map and reference (one, retrieved for ``anchor``) of consecutive ``rows``."""
        ref = self._reference(clip, anchor, rng)
        size = clip.clip.crops.shape[1]
        crops = np.asarray(clip.clip.crops[clip.frames[rows]])
        wanted = decode(clip.codes[rows], self.basis, clip.rest, clip.anchors[rows])
        top, below = self.renderer.region_top, self.renderer.mask_below
        trim = self.renderer.mask_jaw_trim
        hulls = [[clip.shapes[r], w, clip.shapes[ref]] for r, w in zip(rows, wanted)]
        if self.config.mask_decoy and rng.random() < self.config.mask_decoy:
            decoy = decode(np.repeat(clip.codes[rng.integers(len(clip.frames))][None], len(rows), axis=0),
                           self.basis, clip.rest, clip.anchors[rows])
            hulls = [shapes + [d] for shapes, d in zip(hulls, decoy)]
        masks = [repaint_mask(shapes, size, top, below, trim) for shapes in hulls]
        reference = np.asarray(clip.clip.crops[clip.frames[ref]])
        if self.renderer.warp_reference:  # as LearnedGenerator does at run time
            ref_points, points = clip.clip.points[clip.frames[ref]], clip.clip.points[clip.frames[rows]]
            references = np.stack([warp_reference(reference, ref_points, p, w) for p, w in zip(points, wanted)])
        else:
            references = np.repeat(reference[None], len(rows), axis=0)
        return (
            crops.transpose(0, 3, 1, 2).astype(np.float32) / 255.0,
            np.stack(masks)[:, None],
            np.stack([shape_map(w, size) for w in wanted]),
            references.transpose(0, 3, 1, 2).astype(np.float32) / 255.0,
        )

    def _reference(self, clip: TrainClip, row: int, rng: np.random.Generator) -> int:
        far = np.flatnonzero(np.abs(clip.frames - clip.frames[row]) >= self.config.min_gap)
        if len(far) == 0:
            far = np.arange(len(clip.frames))
        pool = rng.choice(far, size=min(self.config.pool, len(far)), replace=False)
        if not self.config.retrieve:
            return int(pool[0])
        dist = np.linalg.norm(clip.codes[pool] - clip.codes[row], axis=1)
        return int(pool[np.argmin(dist)])
