"""Interim crop-level metrics of the renderer on held-back frames (until/besides `lipsync eval`).

For each clip, the first ``profile_fraction`` of its valid frames build the actor profile and the rest
are re-rendered from their own mouth code (self-reconstruction). Reported: PSNR (dB) inside the repaint
mask, and inside the sync expert's mouth box; for the network with retrieval, the network with one
fixed reference (retrieval off), and the retrieved reference pasted with the same mask (no network).
"""
from __future__ import annotations

import numpy as np

from lipsync_engine.generator.base import ActorProfile
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.model.actor import actor_data, rest_of
from lipsync_engine.model.mouth_shape import displacement, encode
from lipsync_engine.sync.mouth import mouth_box
from lipsync_engine.train.clips import TrainClip

DESIGNS = ("retrieval", "fixed_reference", "paste_reference")


def split_rows(clip: TrainClip, profile_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(profile rows, held-back rows) of a clip's valid frames: the earlier part and the later part."""
    cut = max(1, int(len(clip.frames) * profile_fraction))
    return np.arange(cut), np.arange(cut, len(clip.frames))


def clip_profile(generator: LearnedGenerator, clip: TrainClip, rows: np.ndarray) -> ActorProfile:
    crops = np.asarray(clip.clip.crops[clip.frames[rows]])
    points = np.asarray(clip.clip.points[clip.frames[rows]], dtype=np.float32)
    return ActorProfile(generator=generator.name, data=actor_data(crops, points, generator.bundle.basis),
                        source=clip.clip_id)


def psnr(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> float:
    """PSNR (dB, peak 1) of float images (n, 3, H, W) over pixels where weight (n, 1, H, W) > 0.5."""
    sel = np.broadcast_to(weight > 0.5, a.shape)
    mse = float(((a - b) ** 2)[sel].mean()) if sel.any() else 0.0
    return 10.0 * np.log10(1.0 / max(mse, 1e-10))


def evaluate_clip(generator: LearnedGenerator, clip: TrainClip, profile: ActorProfile, rows: np.ndarray,
                  max_frames: int = 48, batch: int = 8) -> dict[str, dict[str, float]]:
    """Per-design PSNR (mask, mouth box) on ``rows`` (at most max_frames, evenly spaced) of ``clip``."""
    rows = rows[np.linspace(0, len(rows) - 1, min(max_frames, len(rows))).astype(int)]
    s = generator.crop_size
    points = np.asarray(clip.clip.points[clip.frames[rows]], dtype=np.float32)
    crops = np.asarray(clip.clip.crops[clip.frames[rows]])
    codes = encode(displacement(points, rest_of(profile), s), generator.bundle.basis)
    ref_codes = profile.data["ref_codes"]
    nearest = np.argmin(((codes[:, None] - ref_codes[None]) ** 2).sum(-1), axis=1)
    top, bottom, left, right = mouth_box(s)
    box = np.zeros((1, 1, s, s), np.float32)
    box[..., top:bottom, left:right] = 1.0
    out: dict[str, list[np.ndarray]] = {d: [] for d in DESIGNS}
    truth, masks = [], []
    for i in range(0, len(rows), batch):
        sl = slice(i, i + batch)
        for design in DESIGNS:
            ref = nearest[sl] if design != "fixed_reference" else np.zeros_like(nearest[sl])
            motion = np.concatenate([codes[sl], np.stack([ref, ref, np.zeros_like(ref)], 1)], 1).astype(np.float32)
            inputs = generator.renderer_inputs(crops[sl], points[sl], motion, profile)
            if design == "paste_reference":
                m = inputs["mask"]
                out[design].append(inputs["target"] * (1 - m) + inputs["reference"] * m)
            else:
                out[design].append(generator.engine_for(profile)(inputs))
        truth.append(crops[sl].transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
        masks.append(inputs["mask"])
    gt, mask = np.concatenate(truth), np.concatenate(masks)
    return {d: {"psnr_mask": psnr(np.concatenate(v), gt, mask),
                "psnr_mouth_box": psnr(np.concatenate(v), gt, np.broadcast_to(box, mask.shape))}
            for d, v in out.items()}


def evaluate(generator: LearnedGenerator, clips: list[TrainClip], profile_fraction: float = 0.6) -> dict:
    """Mean per-design PSNRs over clips (each clip weighs the same) plus the per-clip table."""
    per_clip = {}
    for clip in clips:
        profile_rows, held = split_rows(clip, profile_fraction)
        if len(held) == 0:
            continue
        per_clip[clip.clip_id] = evaluate_clip(generator, clip, clip_profile(generator, clip, profile_rows), held)
    mean = {d: {k: float(np.mean([c[d][k] for c in per_clip.values()])) for k in ("psnr_mask", "psnr_mouth_box")}
            for d in DESIGNS}
    return {"mean": mean, "clips": per_clip}
