"""Train the sync expert contrastively on the cached mouth images and speech of the training speakers.

A batch holds ``groups`` stretches of clips, each contributing ``per_group`` frames from the same clip
at least MIN_SHIFT frames apart and at most SPAN frames apart. InfoNCE over the whole batch then treats
audio of the same clip a few frames away as shifted negatives and every other clip's audio as mismatched
negatives, without extra encoder passes. Mouth stacks are read from the cache, never decoded or warped.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from lipsync_engine.data.cache import ClipData
from lipsync_engine.errors import InputError
from lipsync_engine.sync.model import SyncExpert, SyncExpertConfig, build_sync_expert
from lipsync_engine.sync.scoring import stack_centres

MIN_SHIFT = 3  # frames between two samples of one clip: closer audio is too similar to be a negative
SPAN = 15  # frames: the furthest two samples of one group are apart


@dataclass(frozen=True)
class TrainSyncConfig:
    """Training run settings."""

    steps: int = 3000  # optimiser steps (cosine learning-rate decay over them)
    max_minutes: float = 25.0  # wall-time budget: training stops (and the learning rate reaches 0) by then
    groups: int = 16  # clip stretches per batch
    per_group: int = 4  # frames per stretch (batch = groups * per_group)
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1  # torch threads: the machine is shared with generator training
    select_every: int = 250  # steps between model-selection checks (when a ``select`` score is given)


@dataclass
class _TrainClip:
    mouths: np.ndarray  # (N, H, W) uint8, in RAM
    windows: np.ndarray  # (N, 80, 20) float16 speech windows of every frame (av offset applied)
    centres: np.ndarray  # usable stack centres on speech frames


def train_sync_expert(
    clips: list[ClipData],
    config: TrainSyncConfig = TrainSyncConfig(),
    model_config: SyncExpertConfig = SyncExpertConfig(),
    on_step: Callable[[int, float, SyncExpert], None] | None = None,
    select: Callable[[SyncExpert], float] | None = None,
) -> SyncExpert:
    """Train a new expert on ``clips`` (sync-ready training clips); returns it in eval mode.

    ``on_step(step, loss, model)`` is called after every step (progress). ``select(model)`` (model in
    eval mode), when given, scores the model every ``select_every`` steps and at the end; the
    best-scoring weights are returned.
    """
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    kept = [(c.speaker_id, _prepare(c, model_config)) for c in clips]
    kept = [(speaker, d) for speaker, d in kept if len(d.centres) >= config.per_group * MIN_SHIFT]
    if len(kept) < 2:
        raise InputError(f"need at least 2 clips with usable faces to train the sync expert, got {len(kept)}; "
                         "run `lipsync build-dataset` first")
    data = [d for _, d in kept]
    weights = _sampling_weights([speaker for speaker, _ in kept], [len(d.centres) for d in data])
    model = build_sync_expert(model_config).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    started = time.monotonic()
    best: tuple[float, dict] | None = None
    budget_s = config.max_minutes * 60.0
    for step in range(config.steps):
        # Cosine decay over whichever runs out first, the steps or the time budget.
        done = max(step / config.steps, (time.monotonic() - started) / budget_s)
        if done >= 1.0:
            break
        for group in optimiser.param_groups:
            group["lr"] = config.lr * 0.5 * (1.0 + math.cos(math.pi * done))
        mouths, windows = _batch(data, weights, config, model_config.frames, rng)
        video, audio = model.embed_video(mouths), model.embed_audio(windows)
        logits = model.logit_scale.exp().clamp(max=100.0) * video @ audio.T
        target = torch.arange(len(logits))
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if on_step is not None:
            on_step(step, loss.item(), model)
        if select is not None and (step + 1) % config.select_every == 0:
            best = _keep_best(model, select, best)
    if select is not None:
        best = _keep_best(model, select, best)
        model.load_state_dict(best[1])
    return model.eval()


def _keep_best(
    model: SyncExpert, select: Callable[[SyncExpert], float], best: tuple[float, dict] | None
) -> tuple[float, dict]:
    model.eval()
    score = select(model)
    model.train()
    if best is None or score > best[0]:
        return score, {k: v.detach().clone() for k, v in model.state_dict().items()}
    return best


def _sampling_weights(speakers: list[str], frames: list[int]) -> np.ndarray:
    """Clip sampling probabilities: a speaker's share grows with the square root of their footage (so one
    long-recorded speaker cannot dominate), split over their clips by frame count."""
    total: dict[str, int] = {}
    for speaker, n in zip(speakers, frames):
        total[speaker] = total.get(speaker, 0) + n
    weights = np.array([np.sqrt(total[s]) * n / total[s] for s, n in zip(speakers, frames)], np.float64)
    return weights / weights.sum()


def _prepare(clip: ClipData, model_config: SyncExpertConfig) -> _TrainClip:
    """RAM copy of a clip's mouths and speech windows; samples are centred on speech frames only
    (silence pairs a still mouth with any quiet audio and teaches nothing about sync)."""
    windows = clip.mel_windows(window=model_config.mel_window).astype(np.float16)
    centres = stack_centres(clip.valid, model_config.frames)
    return _TrainClip(np.array(clip.mouths), windows, centres[clip.speech_at(centres)])


def _batch(
    data: list[_TrainClip], weights: np.ndarray, config: TrainSyncConfig, frames: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, frames, H, W) float mouth stacks in [0, 1] (augmented) and (B, 80, 20) float speech windows."""
    half = frames // 2
    stacks, windows = [], []
    for clip_index in rng.choice(len(data), size=config.groups, p=weights):
        clip = data[clip_index]
        for centre in _group_centres(clip.centres, config.per_group, rng):
            stacks.append(clip.mouths[centre - half:centre + half + 1])
            windows.append(clip.windows[centre])
    mouths = torch.from_numpy(np.stack(stacks)).float() / 255.0
    mel = torch.from_numpy(np.stack(windows).astype(np.float32))
    return _augment_video(mouths, rng), mel + torch.from_numpy(rng.uniform(-0.3, 0.3, (len(mel), 1, 1))).float()


def _group_centres(centres: np.ndarray, count: int, rng: np.random.Generator) -> list[int]:
    """``count`` usable centres of one clip, pairwise >= MIN_SHIFT apart and within SPAN of the first."""
    usable = set(centres.tolist())
    for _ in range(20):
        anchor = int(rng.choice(centres))
        near = [c for c in range(anchor - SPAN, anchor + SPAN + 1) if c in usable]
        rng.shuffle(near)
        chosen: list[int] = []
        for c in near:
            if all(abs(c - o) >= MIN_SHIFT for o in chosen):
                chosen.append(c)
            if len(chosen) == count:
                return chosen
    return [int(c) for c in rng.choice(centres, size=count, replace=False)]  # short clip: any frames


def _augment_video(mouths: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Per-sample contrast/brightness jitter, a shift of up to 2 px and a horizontal flip, same for all frames."""
    b = len(mouths)
    gain = torch.from_numpy(rng.uniform(0.75, 1.25, (b, 1, 1, 1))).float()
    bias = torch.from_numpy(rng.uniform(-0.1, 0.1, (b, 1, 1, 1))).float()
    mean = mouths.mean(dim=(1, 2, 3), keepdim=True)
    out = ((mouths - mean) * gain + mean + bias).clamp(0.0, 1.0)
    padded = F.pad(out, (2, 2, 2, 2), mode="replicate")
    h, w = mouths.shape[2:]
    shifted = torch.empty_like(out)
    for i, (dy, dx) in enumerate(rng.integers(0, 5, (b, 2))):
        shifted[i] = padded[i, :, dy:dy + h, dx:dx + w]
    flip = torch.from_numpy(rng.random(b) < 0.5)
    shifted[flip] = shifted[flip].flip(-1)
    return shifted
