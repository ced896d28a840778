"""Run a generator over held-out clips (self-reconstruction and cross-dub) and measure every take.

Self-reconstruction drives a clip with its own audio and compares with its real frames; cross-dub
drives it with another held-out speaker's speech and compares the mouth with that speaker's real mouth
on the same speech (opening, width, rounding, closures), with the speech itself (sync expert, envelope)
and with the target's own real footage (flicker, lip motion, sharpness, the mouth's expression). Sync is
scored only on speech frames, so a mouth that just follows loudness is not rewarded for silences. Both
kinds also measure the seam along the blend mask's soft edge. Every measure is taken on the take as a
render shows it: the harness blends each generated crop into the real crop as the pipeline does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lipsync_engine.data.cache import ClipData
from lipsync_engine.eval import geometry, image_metrics, seam
from lipsync_engine.eval.harness import Take, actor_profile, blend_masks, run_take
from lipsync_engine.faces import FaceLandmarker
from lipsync_engine.generator.base import ActorProfile, Generator
from lipsync_engine.sync.model import SyncExpert
from lipsync_engine.sync.mouth import mouth_box, mouth_images
from lipsync_engine.sync.scoring import measure, similarity_by_offset, stack_centres


@dataclass(frozen=True)
class EvalConfig:
    """What an evaluation covers."""

    max_frames: int = 250  # frames per take (10 s at 25 fps)
    one_clip_per_speaker: bool = False  # quick runs: the first clip of each held-out speaker only


@dataclass
class TakeResult:
    """Measures of one take plus the curves the report plots."""

    take: Take
    metrics: dict[str, float]
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # opening_generated, opening_real, ...


def cross_pairs(clips: list[ClipData]) -> list[tuple[ClipData, ClipData]]:
    """(target, driver) pairs: each clip driven by the next clip, in order, of another speaker."""
    pairs = []
    for n, target in enumerate(clips):
        driver = next((c for c in clips[n + 1:] + clips[:n] if c.speaker_id != target.speaker_id), None)
        if driver is not None:
            pairs.append((target, driver))
    return pairs


def choose_clips(clips: list[ClipData], config: EvalConfig) -> list[ClipData]:
    if not config.one_clip_per_speaker:
        return clips
    seen, chosen = set(), []
    for clip in clips:
        if clip.speaker_id not in seen:
            seen.add(clip.speaker_id)
            chosen.append(clip)
    return chosen


def evaluate_generator(
    generator: Generator, clips: list[ClipData], expert: SyncExpert, landmarker: FaceLandmarker,
    config: EvalConfig = EvalConfig(), measured_real: dict | None = None,
    profiles: dict[str, ActorProfile] | None = None,
) -> list[TakeResult]:
    """Every self-reconstruction and cross-dub take of ``generator`` on ``clips`` (held-out, sync-ready).

    ``measured_real`` keeps the landmarks found on the real crops (``real_landmarks``) between calls: pass
    one dict for every generator of a run so each clip's real frames are measured once. ``profiles`` (by
    clip id; default: each from the clip's own frames) are the actors' profiles (eval/held_back.py)."""
    clips = choose_clips(clips, config)
    if profiles is None:
        profiles = {c.clip_id: actor_profile(generator, c) for c in clips}
    measured_real = {} if measured_real is None else measured_real
    results = []
    for target, driver, kind in [(c, c, "self") for c in clips] + [(t, d, "cross") for t, d in cross_pairs(clips)]:
        take = run_take(generator, profiles[target.clip_id], target, driver, config.max_frames, kind)
        results.append(measure_take(take, expert, landmarker, measured_real))
    return results


def measure_take(take: Take, expert: SyncExpert, landmarker: FaceLandmarker,
                 measured_real: dict | None = None) -> TakeResult:
    """All measures of one take (see module docstring); NaN where a measure has nothing to work on."""
    valid = take.valid
    generated_points = generated_landmarks(landmarker, take.generated, np.asarray(take.target.points[take.frames]))
    real_points = np.asarray(take.target.points[take.frames])
    # The expression compares like with like: the real crops measured by the same landmarker.
    real_expression = geometry.expression(real_landmarks(landmarker, take, measured_real)[valid])
    gen_expression = geometry.expression(generated_points[valid])
    top, bottom, left, right = mouth_box(take.generated.shape[1])
    gen_box = take.generated[valid, top:bottom, left:right]
    real_box = take.real[valid, top:bottom, left:right]
    gen_open = geometry.opening(generated_points)
    m: dict[str, float] = {}

    centres = stack_centres(valid, expert.config.frames)
    centres = centres[take.speech[centres]]
    sim = similarity_by_offset(expert, mouth_images(take.generated), take.driver.mel, take.driver.fps, centres,
                               audio_shift=take.driver.av_offset)
    sync = measure(sim)
    m["sync_score"], m["sync_conf"], m["sync_offset"] = sync.score, sync.confidence, float(sync.offset)
    m["sync_within_1"] = float(abs(sync.offset) <= 1)
    m["env_corr"] = geometry.pearson(gen_open[valid], take.energy[valid])
    m["flicker_ratio"] = image_metrics.flicker(gen_box) / max(image_metrics.flicker(real_box), 1e-6)
    m["sharpness_ratio"] = image_metrics.sharpness(gen_box) / max(image_metrics.sharpness(real_box), 1e-6)
    gen_speed = np.nanmean(geometry.lip_speed(generated_points[valid]))
    m["motion_ratio"] = float(gen_speed / max(np.nanmean(geometry.lip_speed(real_points[valid])), 1e-9))
    masks = blend_masks(real_points[valid], take.generated.shape[1])
    m["seam_edge_ratio"] = seam.edge_ratio(take.generated[valid], take.real[valid], masks)
    m["seam_step"] = seam.colour_step(take.generated[valid], take.real[valid], masks)
    m["colour_outliers"] = image_metrics.colour_outliers(take.generated[valid], take.real[valid], masks)
    m["ghost_ratio"] = seam.ghost_ratio(take.generated[valid], take.real[valid], masks, real_points[valid],
                                        generated_points[valid])
    curves = {"opening_generated": gen_open, "opening_real": geometry.opening(real_points), "energy": take.energy,
              "speech": take.speech.astype(np.float32)}
    if take.kind == "self":
        m["psnr_mouth"] = image_metrics.psnr(gen_box, real_box)
        m["ssim_mouth"] = image_metrics.ssim(gen_box, real_box)
        m["lip_dist_pct"] = 100.0 * float(np.nanmean(geometry.lip_distance(generated_points[valid], real_points[valid])))
        m["open_corr"] = geometry.pearson(gen_open[valid], curves["opening_real"][valid])
        lift, width = 100.0 * geometry.expression_error(gen_expression, real_expression)
        m["lift_err_pct"], m["width_err_pct"] = float(lift), float(width)
    else:
        driver_points = np.asarray(take.driver.points[take.frames])
        both = valid & np.asarray(take.driver.valid[take.frames])
        curves["opening_driver"] = geometry.opening(driver_points)
        m["open_corr"] = geometry.pearson(gen_open[both], curves["opening_driver"][both])
        m["width_corr"] = geometry.pearson(geometry.width(generated_points)[both], geometry.width(driver_points)[both])
        m["rounding_corr"] = geometry.pearson(geometry.rounding(generated_points)[both],
                                              geometry.rounding(driver_points)[both])
        driver_closed, generated_closed = geometry.closed(driver_points), geometry.closed(generated_points)
        closures, shut = both & take.speech & driver_closed, both & take.speech & generated_closed
        m["closure_recall"] = float(np.mean(generated_closed[closures])) if closures.any() else float("nan")
        # A mouth that closes whenever unsure would score recall for free: the share of its closures in speech
        # that fall on the speaker's own closures says whether they are the right ones.
        m["closure_precision"] = float(np.mean(driver_closed[shut])) if shut.any() else float("nan")
        lift, width = 100.0 * geometry.expression_shift(gen_expression, real_expression)
        m["lift_shift_pct"], m["width_shift_pct"] = float(lift), float(width)
        m["lift_shift_abs_pct"], m["width_shift_abs_pct"] = abs(float(lift)), abs(float(width))
    return TakeResult(take, m, curves)


def real_landmarks(landmarker: FaceLandmarker, take: Take, memo: dict | None = None) -> np.ndarray:
    """(M, 468, 2) landmarks the landmarker finds on the take's real crops (``generated_landmarks``).

    Every generator's self and cross takes of a clip show the same real frames, and the face mesh runs in
    static-image mode, so ``memo`` keeps the result per clip and frames."""
    key = (take.target.clip_id, take.frames.tobytes())
    if memo is not None and key in memo:
        return memo[key]
    points = generated_landmarks(landmarker, take.real, np.asarray(take.target.points[take.frames]))
    if memo is not None:
        memo[key] = points
    return points


def generated_landmarks(landmarker: FaceLandmarker, crops: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(M, 468, 2) landmarks of (generated or real) crops, measured in the box of the real face; NaN where not found."""
    out = np.full(reference.shape, np.nan, np.float32)
    for i, (crop, ref) in enumerate(zip(crops, reference)):
        if not np.isfinite(ref).all():
            continue
        lo, hi = ref.min(axis=0), ref.max(axis=0)
        found = landmarker.landmarks_in_box(crop, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
        if found is not None:
            out[i] = found
    return out


def summarise(results: list[TakeResult]) -> dict[str, float]:
    """Mean of every measure over takes, keyed "<kind>_<measure>" (NaNs ignored)."""
    keys = sorted({(r.take.kind, k) for r in results for k in r.metrics})
    summary = {}
    for kind, key in keys:
        values = [r.metrics[key] for r in results if r.take.kind == kind and key in r.metrics]
        finite = [v for v in values if np.isfinite(v)]
        summary[f"{kind}_{key}"] = float(np.mean(finite)) if finite else float("nan")
    return summary
