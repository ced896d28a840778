"""Interim crop-level metrics of the renderer on held-back frames (until/besides `lipsync eval`).

For each clip, the first ``profile_fraction`` of its valid frames build the actor profile and the rest
are re-rendered from their own mouth code (self-reconstruction). Reported: PSNR (dB) inside the repaint
mask, inside the sync expert's mouth box, inside the default-grown mask (``psnr_wide_mask``: the
same pixels whatever the weights' mask design, so designs compare) and in its part below the frame's own
lips + jaw hull (``psnr_below_jaw``: chin and collar, where a wide mask paints the reference's jaw); for
the network with retrieval, the network with one fixed reference (retrieval off), and the retrieved
reference pasted with the same mask (no network).
``evaluate_sync`` renders every held-back frame (retrieval) and reports the sync expert's verdict on the
rendered mouths against the clip's own speech, and their sharpness against the real mouths.
"""
from __future__ import annotations

import numpy as np

from lipsync_engine.eval.image_metrics import sharpness
from lipsync_engine.generator.base import ActorProfile
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.model.actor import actor_data, rest_of
from lipsync_engine.model.mouth_shape import MASK_GROW, below_jaw, displacement, encode, mouth_shape
from lipsync_engine.sync.model import SyncExpert
from lipsync_engine.sync.mouth import mouth_box, mouth_images
from lipsync_engine.sync.scoring import measure_sync
from lipsync_engine.train.clips import TrainClip

DESIGNS = ("retrieval", "fixed_reference", "paste_reference")
REGIONS = ("psnr_mask", "psnr_mouth_box", "psnr_wide_mask", "psnr_below_jaw")


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


def _own_codes(generator: LearnedGenerator, clip: TrainClip, profile: ActorProfile, rows: np.ndarray):
    """(crops, points, codes, nearest reference) of ``rows``: the frames' own mouth codes and retrieval."""
    points = np.asarray(clip.clip.points[clip.frames[rows]], dtype=np.float32)
    crops = np.asarray(clip.clip.crops[clip.frames[rows]])
    codes = encode(displacement(points, rest_of(profile), generator.crop_size), generator.bundle.basis)
    ref_codes = profile.data["ref_codes"]
    return crops, points, codes, np.argmin(((codes[:, None] - ref_codes[None]) ** 2).sum(-1), axis=1)


def _motion(codes: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Motion rows (code, ref_a, ref_b, fade) that hold one reference per frame."""
    return np.concatenate([codes, np.stack([ref, ref, np.zeros_like(ref)], 1)], 1).astype(np.float32)


def evaluate_clip(generator: LearnedGenerator, clip: TrainClip, profile: ActorProfile, rows: np.ndarray,
                  max_frames: int = 48, batch: int = 8) -> dict[str, dict[str, float]]:
    """Per-design PSNR (REGIONS) on ``rows`` (at most max_frames, evenly spaced) of ``clip``."""
    rows = rows[np.linspace(0, len(rows) - 1, min(max_frames, len(rows))).astype(int)]
    s = generator.crop_size
    crops, points, codes, nearest = _own_codes(generator, clip, profile, rows)
    top, bottom, left, right = mouth_box(s)
    box = np.zeros((1, 1, s, s), np.float32)
    box[..., top:bottom, left:right] = 1.0
    out: dict[str, list[np.ndarray]] = {d: [] for d in DESIGNS}
    truth, masks, wide, band = [], [], [], []
    for i in range(0, len(rows), batch):
        sl = slice(i, i + batch)
        for design in DESIGNS:
            ref = nearest[sl] if design != "fixed_reference" else np.zeros_like(nearest[sl])
            inputs = generator.renderer_inputs(crops[sl], points[sl], _motion(codes[sl], ref), profile)
            if design == "paste_reference":
                m = inputs["mask"]
                out[design].append(inputs["target"] * (1 - m) + inputs["reference"] * m)
            else:
                out[design].append(generator.engine_for(profile)(inputs))
        truth.append(crops[sl].transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
        masks.append(inputs["mask"])
        wide.append(generator.repaint_masks(points[sl], _motion(codes[sl], nearest[sl]), profile, below=MASK_GROW))
        band.append(np.stack([below_jaw(shape, s) for shape in mouth_shape(points[sl], s)])[:, None])
    gt, mask, wide_mask = np.concatenate(truth), np.concatenate(masks), np.concatenate(wide)
    regions = {"psnr_mask": mask, "psnr_mouth_box": np.broadcast_to(box, mask.shape), "psnr_wide_mask": wide_mask,
               "psnr_below_jaw": wide_mask * np.concatenate(band)}
    return {d: {k: psnr(np.concatenate(v), gt, region) for k, region in regions.items()} for d, v in out.items()}


def evaluate(generator: LearnedGenerator, clips: list[TrainClip], profile_fraction: float = 0.6) -> dict:
    """Mean per-design PSNRs over clips (each clip weighs the same) plus the per-clip table."""
    per_clip = {}
    for clip in clips:
        profile_rows, held = split_rows(clip, profile_fraction)
        if len(held) == 0:
            continue
        per_clip[clip.clip_id] = evaluate_clip(generator, clip, clip_profile(generator, clip, profile_rows), held)
    mean = {d: {k: float(np.mean([c[d][k] for c in per_clip.values()])) for k in REGIONS}
            for d in DESIGNS}
    return {"mean": mean, "clips": per_clip}


def sync_clip(generator: LearnedGenerator, clip: TrainClip, profile: ActorProfile, rows: np.ndarray,
              expert: SyncExpert, batch: int = 8) -> dict[str, float]:
    """The expert's sync confidence/offset on ``rows`` rendered from their own codes (retrieval) and on the
    real frames, and the rendered mouths' sharpness over the real ones' (variance of the Laplacian)."""
    crops, points, codes, nearest = _own_codes(generator, clip, profile, rows)
    rendered = np.concatenate([generator.render(crops[i:i + batch], points[i:i + batch],
                                                _motion(codes[i:i + batch], nearest[i:i + batch]), profile)
                               for i in range(0, len(rows), batch)])
    n, frames = clip.clip.n_frames, clip.frames[rows]
    valid = np.zeros(n, bool)
    valid[frames] = True
    speech = clip.clip.speech_at(np.arange(n))
    out: dict[str, float] = {}
    for name, images in (("rendered", rendered), ("real", crops)):
        mouths = np.zeros((n, *clip.clip.mouths.shape[1:]), np.uint8)
        mouths[frames] = mouth_images(images)
        sync = measure_sync(expert, mouths, clip.clip.mel, clip.clip.fps, valid, audio_shift=clip.clip.av_offset,
                            speech=speech)
        out[f"sync_conf_{name}"], out[f"sync_offset_{name}"] = sync.confidence, float(sync.offset)
        out[f"sync_margin_{name}"] = sync.score - float(np.median(sync.curve))  # the peak's height at offset 0
    top, bottom, left, right = mouth_box(generator.crop_size)
    out["sharpness_ratio"] = sharpness(rendered[:, top:bottom, left:right]) / max(
        sharpness(crops[:, top:bottom, left:right]), 1e-6)
    return out


def evaluate_sync(generator: LearnedGenerator, clips: list[TrainClip], expert: SyncExpert,
                  profile_fraction: float = 0.6) -> dict:
    """Mean of ``sync_clip`` over the sync-usable clips (each the same weight, offsets as within-1-frame
    shares) plus the per-clip table; the profile is built as in ``evaluate``."""
    per_clip = {}
    for clip in clips:
        profile_rows, held = split_rows(clip, profile_fraction)
        if clip.sync_ok and len(held):
            per_clip[clip.clip_id] = sync_clip(generator, clip, clip_profile(generator, clip, profile_rows), held,
                                               expert)
    mean = {}
    for key in ("sync_conf_rendered", "sync_conf_real", "sync_margin_rendered", "sync_margin_real", "sharpness_ratio"):
        mean[key] = float(np.mean([c[key] for c in per_clip.values()]))
    for name in ("rendered", "real"):
        mean[f"sync_within_1_{name}"] = float(np.mean([abs(c[f"sync_offset_{name}"]) <= 1 for c in per_clip.values()]))
    return {"mean": mean, "clips": per_clip}
