"""Train the audio-to-motion network and fit the mouth-code basis (cheap: no images).

Targets are per-clip mouth displacements from the clip's own rest pose, projected on an uncentred PCA
basis fitted on the training clips. Loss: L1 on codes plus L1 on the frame-to-frame velocity of
consecutive frames. Each batch is augmented with a random level shift (loudness differs between
recordings and dubs) and a masked band of mel bins. The validation speakers pick the best checkpoint
(early stopping: 12 minutes of speech overfit fast), and a per-code gain fitted on them restores
the natural amount of motion that regression shrinks.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from lipsync_engine.audio.features import SILENCE
from lipsync_engine.model.audio_motion import AudioToMotion, build_audio_motion
from lipsync_engine.model.config import MotionConfig
from lipsync_engine.model.mouth_shape import fit_basis
from lipsync_engine.train.clips import TrainClip, attach_codes


@dataclass(frozen=True)
class MotionTrainConfig:
    steps: int = 1250
    batch: int = 256  # temporal pairs per step
    lr: float = 1e-3
    velocity_weight: float = 1.0
    level_shift: float = 1.0  # +/- this much added to a sample's normalised log-mel (about +/- 12 dB)
    band_mask: int = 12  # up to this many adjacent mel bins set to silence per sample
    validate_every: int = 250
    seed: int = 0


@dataclass
class MotionSet:
    """Paired windows of consecutive frames and their codes, stacked over clips."""

    mel: np.ndarray  # (K, 2, 80, 20) float32
    codes: np.ndarray  # (K, 2, D) float32


def motion_set(clips: list[TrainClip]) -> MotionSet:
    mels, codes = [], []
    for c in clips:
        if not c.sync_ok:
            continue
        rows = c.consecutive()
        windows = c.mel_windows()
        mels.append(np.stack([windows[rows], windows[rows + 1]], axis=1))
        codes.append(np.stack([c.codes[rows], c.codes[rows + 1]], axis=1))
    return MotionSet(mel=np.concatenate(mels), codes=np.concatenate(codes))


def train_motion(
    train: list[TrainClip], val: list[TrainClip], config: MotionConfig, tc: MotionTrainConfig, log=print
) -> tuple[AudioToMotion, np.ndarray, np.ndarray, dict]:
    """Fit basis, train the network; returns (network, basis (D, 2P), gain (D,), metrics)."""
    basis = fit_basis(np.concatenate([c.disp for c in train]), config.code_dim)
    attach_codes(train, basis)
    attach_codes(val, basis)
    data, held = motion_set(train), motion_set(val)
    torch.manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    model = build_audio_motion(config)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, tc.steps)
    scale = torch.from_numpy(data.codes.reshape(-1, config.code_dim).std(axis=0) + 1e-6)
    start = time.time()
    best: tuple = (np.inf, None, 0)
    for step in range(1, tc.steps + 1):
        model.train()
        idx = rng.integers(0, len(data.mel), tc.batch)
        mel = torch.from_numpy(augment(data.mel[idx], tc, rng)).flatten(0, 1)
        target = torch.from_numpy(data.codes[idx])
        pred = model(mel).view(tc.batch, 2, -1)
        loss = F.l1_loss(pred / scale, target / scale) + tc.velocity_weight * F.l1_loss(
            (pred[:, 1] - pred[:, 0]) / scale, (target[:, 1] - target[:, 0]) / scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % tc.validate_every == 0 or step == tc.steps:
            model.eval()
            held_l1 = motion_metrics(predict(model, held.mel[:, 0]), held.codes[:, 0], scale.numpy())["l1_norm"]
            if held_l1 < best[0]:
                best = (held_l1, {k: v.clone() for k, v in model.state_dict().items()}, step)
            log(f"motion step {step}/{tc.steps} loss {loss.item():.4f} validation {held_l1:.4f} "
                f"({time.time() - start:.0f} s)")
    model.load_state_dict(best[1])
    model.eval()
    log(f"motion: kept step {best[2]} (validation L1 {best[0]:.4f})")
    pred_val = predict(model, held.mel[:, 0])
    gain = fit_gain(pred_val, held.codes[:, 0])
    metrics = motion_metrics(pred_val * gain, held.codes[:, 0], scale.numpy())
    log(f"motion validation: {metrics}")
    return model, basis, gain, metrics


def augment(mel: np.ndarray, tc: MotionTrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Level shift and band masking of (B, 2, 80, W) windows; both frames of a pair get the same change."""
    out = mel + rng.uniform(-tc.level_shift, tc.level_shift, (len(mel), 1, 1, 1)).astype(np.float32)
    width = rng.integers(0, tc.band_mask + 1, len(mel))
    first = rng.integers(0, mel.shape[2] - tc.band_mask, len(mel))
    for i in np.flatnonzero(width):
        out[i, :, first[i]:first[i] + width[i]] = SILENCE
    return np.clip(out, SILENCE, -SILENCE)


def predict(model: AudioToMotion, mel: np.ndarray, batch: int = 2048) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate([model(torch.from_numpy(mel[i:i + batch])).numpy() for i in range(0, len(mel), batch)])


def fit_gain(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-code gain g (D,) matching the spread of g * pred to the truth's, clipped to [1, 3].

    Regression on weakly predictable targets shrinks towards the mean: an under-moving, mumbling
    mouth (lipsync eval measured lip motion at 0.47x real footage with a least-squares gain).
    """
    g = target.std(axis=0) / np.maximum(pred.std(axis=0), 1e-9)
    return np.clip(g, 1.0, 3.0).astype(np.float32)


def motion_metrics(pred: np.ndarray, target: np.ndarray, scale: np.ndarray) -> dict:
    """Normalised L1 and the correlation of the first code (mostly mouth opening) with the truth."""
    return {
        "l1_norm": float(np.abs((pred - target) / scale).mean()),
        "corr_code0": float(np.corrcoef(pred[:, 0], target[:, 0])[0, 1]),
        "frames": int(len(pred)),
    }
