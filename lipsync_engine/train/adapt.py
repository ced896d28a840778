"""`lipsync adapt`: an actor profile from the actor's own footage, optionally with a fine-tuned renderer.

The footage is decoded twice (track the face, then crop the valid frames), the profile's references
come from all of it, and the optional fine-tune trains a copy of the renderer on self-reconstruction of
the earlier ``1 - holdout`` of the frames. Both renderers are then measured on the held-back later
frames; the fine-tuned one is kept only when it is better there.
"""
from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lipsync_engine.audio import frame_mel_windows, load_audio, log_mel
from lipsync_engine.audio.vad import voice_activity
from lipsync_engine.data import ClipData
from lipsync_engine.errors import AudioError, NoFaceError
from lipsync_engine.faces.tracker import track_shot
from lipsync_engine.generator.base import ActorProfile, ProfileSamples
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.media import probe_video, read_frames
from lipsync_engine.model.actor import actor_data
from lipsync_engine.pipeline.compose import crop_face
from lipsync_engine.train.clips import TrainClip, attach_codes, train_clip
from lipsync_engine.train.crop_eval import evaluate_clip
from lipsync_engine.train.renderer_training import RendererTrainConfig, train_renderer
from lipsync_engine.train.sampling import PairSampler, SamplingConfig

MIN_FRAMES = 12  # fewer usable face frames than this cannot make a profile


@dataclass(frozen=True)
class AdaptConfig:
    max_frames: int = 1500  # footage frames kept (evenly spaced) for references and fine-tuning
    references: int = 48  # reference crops in the profile
    finetune_minutes: float = 0.0  # 0: no fine-tune (index + rest pose only)
    holdout: float = 0.2  # later fraction of the frames held back to judge the fine-tune
    lr: float = 1e-4


def footage_samples(video: str | Path, crop_size: int, max_frames: int, log=print) -> ProfileSamples:
    """Aligned crops, crop landmarks, own-audio mel windows and speech flags of the footage's face frames."""
    info = probe_video(video)
    log(f"tracking the face in {info.frame_count} frames of '{video}'")
    track = track_shot(((f.index, f.rgb) for f in read_frames(info.path, info)), fps=float(info.fps),
                       total=info.frame_count)
    valid = np.flatnonzero(track.valid)
    if len(valid) < MIN_FRAMES:
        raise NoFaceError(f"'{video}' has only {len(valid)} frames with a usable face; adapt needs at least "
                          f"{MIN_FRAMES}: pass footage where the actor's face is visible")
    keep = set(valid[np.linspace(0, len(valid) - 1, min(max_frames, len(valid))).round().astype(int)].tolist())
    crops, points, times = [], [], []
    for frame in read_frames(info.path, info):
        if frame.index in keep:
            face = crop_face(frame.rgb, track.points[frame.index], crop_size)
            crops.append(face.crop)
            points.append(face.points)
            times.append(float(frame.index + 0.5) / float(info.fps))
    mel = speech = None
    if info.has_audio:
        try:
            pcm = load_audio(info.path)
            mel, speech = frame_mel_windows(log_mel(pcm), np.array(times)), voice_activity(pcm, np.array(times))
        except AudioError:
            pass  # the profile needs pictures only
    return ProfileSamples(crops=np.stack(crops), points=np.stack(points).astype(np.float32), mel=mel, speech=speech)


def adapt_actor(generator: LearnedGenerator, samples: ProfileSamples, config: AdaptConfig, source: str,
                work: Path | None = None, log=print) -> tuple[ActorProfile, dict]:
    """Build the profile (and fine-tune when asked); returns it with the held-back measurements."""
    profile = ActorProfile(generator=generator.name, source=source,
                           data=actor_data(samples.crops, samples.points, generator.bundle.basis, config.references))
    report: dict = {"frames": int(len(samples.crops)), "references": int(len(profile.data["ref_crops"]))}
    if config.finetune_minutes <= 0:
        return profile, report
    clip = _footage_clip(samples.crops, samples.points, generator.bundle.basis)
    cut = int(len(clip.frames) * (1.0 - config.holdout))
    fit_rows, held_rows = np.arange(cut), np.arange(cut, len(clip.frames))
    fit_clip = _footage_clip(samples.crops[:cut], samples.points[:cut], generator.bundle.basis)
    held_profile = ActorProfile(generator=generator.name, source=source, data=actor_data(
        samples.crops[fit_rows], samples.points[fit_rows], generator.bundle.basis, config.references))
    generic = evaluate_clip(generator, clip, held_profile, held_rows)["retrieval"]
    tuned = copy.deepcopy(generator.bundle.renderer)
    sampler = PairSampler([fit_clip], generator.bundle.basis, generator.bundle.config.renderer, SamplingConfig(min_gap=6))
    tc = RendererTrainConfig(minutes=config.finetune_minutes, lr=config.lr, gan_weight=0.0, feature_match_weight=0.0,
                             sync_weight=0.0, log_every=20)  # footage without speech, no discriminator
    with tempfile.TemporaryDirectory(prefix="lipsync-adapt-", dir=work) as tmp:
        train_renderer(tuned, sampler, tc, Path(tmp) / "finetune.pt", log)
    state = {k: v.detach().clone() for k, v in tuned.state_dict().items()}
    held_profile.data["renderer_state"] = state
    adapted = evaluate_clip(generator, clip, held_profile, held_rows)["retrieval"]
    report.update({"held_back_frames": int(len(held_rows)), "generic": generic, "adapted": adapted})
    if adapted["psnr_mask"] > generic["psnr_mask"]:
        profile.data["renderer_state"] = state
        report["kept"] = "adapted"
    else:
        report["kept"] = "generic"
    log(f"held-back PSNR (mask): generic {generic['psnr_mask']:.2f} dB, adapted {adapted['psnr_mask']:.2f} dB "
        f"-> keeping the {report['kept']} renderer")
    return profile, report


def _footage_clip(crops: np.ndarray, points: np.ndarray, basis: np.ndarray) -> TrainClip:
    """Footage frames as a training clip (pictures only: no audio is needed to fine-tune the renderer)."""
    n = len(crops)
    clip = train_clip(ClipData(
        clip_id="actor", meta={"fps": "25", "n_frames": n}, crops=crops, points=points, valid=np.ones(n, bool),
        mel=np.zeros((80, 1), np.float32), speech=np.zeros(n, bool), mouths=np.zeros((0, 48, 64), np.uint8)))
    attach_codes([clip], basis)
    return clip
