"""Voice activity per video frame, checked against GRID's word alignments and synthetic edge cases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipsync_engine.audio import SAMPLE_RATE, VadConfig, load_audio, voice_activity
from lipsync_engine.errors import AudioError

GRID = ("bbaf2n", "bbal9a", "bbaz5s")
FPS = 25
CENTRES = (np.arange(75) + 0.5) / FPS  # GRID clips: 3 s at 25 fps


def _grid(data_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(pcm, truth): 16 kHz speech and per-frame 'a word is being said' from the alignment (1/25000 s units)."""
    pcm = load_audio(data_dir / "grid_s1" / "video" / f"{name}.mp4")
    truth = np.zeros(CENTRES.size, bool)
    for line in (data_dir / "grid_s1" / "align" / f"{name}.align").read_text().split("\n"):
        if line.strip():
            start, end, word = line.split()
            if word not in ("sil", "sp"):
                truth |= (CENTRES >= int(start) / 25000) & (CENTRES < int(end) / 25000)
    return pcm, truth


@pytest.mark.parametrize("name", GRID)
def test_agrees_with_word_alignment(data_dir: Path, name: str) -> None:
    pcm, truth = _grid(data_dir, name)
    raw = voice_activity(pcm, CENTRES, VadConfig(onset_s=0.0, hangover_s=0.0))
    assert (raw == truth).mean() >= 0.9
    smoothed = voice_activity(pcm, CENTRES)
    assert (smoothed & truth).sum() >= 0.97 * truth.sum()  # no word is missed
    first_word = int(np.argmax(truth))
    assert not smoothed[: first_word - 3].any()  # the leading silence stays silent


@pytest.mark.parametrize("noise_dbfs", [-50.0, -40.0])
def test_robust_to_a_noise_floor(data_dir: Path, noise_dbfs: float) -> None:
    pcm, truth = _grid(data_dir, GRID[0])
    noise = np.random.default_rng(0).standard_normal(pcm.size).astype(np.float32) * 10 ** (noise_dbfs / 20)
    active = voice_activity(pcm + noise, CENTRES)
    assert (active & truth).sum() >= 0.9 * truth.sum()
    assert not active[: int(np.argmax(truth)) - 3].any()  # hiss alone is not speech


def test_silence_and_near_silence_are_not_speech() -> None:
    centres = (np.arange(50) + 0.5) / FPS
    assert not voice_activity(np.zeros(2 * SAMPLE_RATE, np.float32), centres).any()
    hiss = np.random.default_rng(1).standard_normal(2 * SAMPLE_RATE).astype(np.float32) * 1e-4
    assert not voice_activity(hiss, centres).any()


def test_click_dropped_pause_filled_hangover_applied() -> None:
    rng = np.random.default_rng(2)
    pcm = np.zeros(3 * SAMPLE_RATE, np.float32)
    pcm[4000:4160] = 0.5 * rng.standard_normal(160)  # a 10 ms click at 0.25 s
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    pcm[SAMPLE_RATE:SAMPLE_RATE + 8000] = tone[:8000]  # speech-band sound 1.0-1.5 s
    pcm[SAMPLE_RATE + 9600:2 * SAMPLE_RATE] = tone[9600:]  # a 100 ms pause, then on to 2.0 s
    centres = np.array([0.25, 1.2, 1.55, 2.1, 2.5, 5.0])
    assert voice_activity(pcm, centres).tolist() == [False, True, True, True, False, False]


def test_empty_audio_refused() -> None:
    with pytest.raises(AudioError, match="empty"):
        voice_activity(np.zeros(0, np.float32), CENTRES)
