"""Score audio-video sync with the expert: similarity per audio offset, the best offset, and its confidence.

Frame i of a clip at ``fps`` is paired with the speech window centred at (i + offset + 0.5) / fps, so a
positive offset pairs the picture with later audio (audio lags the picture). ``offset_curve`` slides the
audio over a range of offsets, SyncNet-style; confidence is the curve's peak over its median.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from lipsync_engine.audio import frame_mel_windows
from lipsync_engine.sync.model import SyncExpert

MAX_OFFSET = 15  # frames slid each way when searching the offset


@dataclass(frozen=True)
class SyncMeasure:
    """Sync of one stretch of video with one audio track."""

    offset: int  # frames; the audio offset with the highest mean similarity (0 = in sync)
    confidence: float  # peak of the offset curve minus its median (SyncNet-style; larger = clearer)
    score: float  # mean cosine similarity at offset 0, in [-1, 1]
    curve: np.ndarray  # (2 * max_offset + 1,) mean similarity per offset, offset -max_offset first


def stack_centres(valid: np.ndarray, frames: int = 5) -> np.ndarray:
    """Indices i whose ``frames`` consecutive frames centred on i are all valid; (M,) int64."""
    valid = np.asarray(valid, bool)
    half = frames // 2
    ok = np.zeros(len(valid), bool)
    if len(valid) >= frames:
        window = np.lib.stride_tricks.sliding_window_view(valid, frames).all(axis=1)
        ok[half:half + len(window)] = window
    return np.flatnonzero(ok)


@torch.no_grad()
def embed_clip(
    model: SyncExpert, mouths: np.ndarray, centres: np.ndarray, batch: int = 256
) -> torch.Tensor:
    """Video embeddings (len(centres), D) of the mouth stacks centred on ``centres``.

    mouths: (N, H, W) uint8 grayscale mouth images (sync.mouth_images of aligned crops).
    """
    half = model.config.frames // 2
    out = []
    for i in range(0, len(centres), batch):
        idx = centres[i:i + batch, None] + np.arange(-half, half + 1)[None, :]
        stack = torch.from_numpy(np.ascontiguousarray(mouths[idx])).float() / 255.0
        out.append(model.embed_video(stack))
    return torch.cat(out) if out else torch.zeros(0, model.config.embed_dim)


@torch.no_grad()
def embed_speech(model: SyncExpert, mel: np.ndarray, centre_times: np.ndarray, batch: int = 512) -> torch.Tensor:
    """Audio embeddings (len(centre_times), D) of the speech windows centred at ``centre_times`` seconds."""
    windows = frame_mel_windows(mel, centre_times, model.config.mel_window)
    out = [model.embed_audio(torch.from_numpy(windows[i:i + batch])) for i in range(0, len(windows), batch)]
    return torch.cat(out) if out else torch.zeros(0, model.config.embed_dim)


@torch.no_grad()
def similarity_by_offset(
    model: SyncExpert, mouths: np.ndarray, mel: np.ndarray, fps: Fraction | float, centres: np.ndarray,
    max_offset: int = MAX_OFFSET, audio_shift: int = 0,
) -> np.ndarray:
    """(2 * max_offset + 1, len(centres)) float32 cosine similarity of each mouth stack with the speech
    window ``offset + audio_shift`` frames later, for offset = -max_offset .. max_offset."""
    centres = np.asarray(centres, np.int64)
    if len(centres) == 0:
        return np.zeros((2 * max_offset + 1, 0), np.float32)
    video = embed_clip(model, mouths, centres)
    first, last = int(centres.min()) - max_offset, int(centres.max()) + max_offset
    audio_frames = np.arange(first, last + 1)
    audio = embed_speech(model, mel, (audio_frames + audio_shift + 0.5) / float(fps))
    full = (video @ audio.T).numpy()  # (M, frames of audio): every pairing
    columns = centres[None, :] - first + np.arange(-max_offset, max_offset + 1)[:, None]
    return full[np.arange(len(centres))[None, :], columns].astype(np.float32)


def measure(similarity: np.ndarray, max_offset: int = MAX_OFFSET) -> SyncMeasure:
    """Offset, confidence and score from a (2 * max_offset + 1, M) similarity_by_offset array."""
    curve = similarity.mean(axis=1) if similarity.shape[1] else np.zeros(similarity.shape[0], np.float32)
    best = int(np.argmax(curve))
    return SyncMeasure(offset=best - max_offset, confidence=float(curve[best] - np.median(curve)),
                       score=float(curve[max_offset]), curve=curve)


def measure_sync(
    model: SyncExpert, mouths: np.ndarray, mel: np.ndarray, fps: Fraction | float, valid: np.ndarray,
    max_offset: int = MAX_OFFSET, audio_shift: int = 0, speech: np.ndarray | None = None,
) -> SyncMeasure:
    """Sync of a whole clip: mouths (N, H, W) uint8, mel (80, T) of its audio, valid (N,) bool frames to use;
    ``speech`` (N,) bool, when given, keeps only stacks centred on speech frames."""
    centres = stack_centres(valid, model.config.frames)
    if speech is not None:
        centres = centres[np.asarray(speech, bool)[centres]]
    return measure(similarity_by_offset(model, mouths, mel, fps, centres, max_offset, audio_shift), max_offset)
