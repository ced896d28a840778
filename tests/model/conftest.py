"""Model tests share a 2-core CI box with other suites: one torch thread keeps them from oversubscribing it."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lipsync_cli.main import main
from lipsync_engine.audio import load_audio


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def tiny_cache(cut_clip, speech_clip: Path, tmp_path: Path) -> Path:
    """A dataset cache of two 2-second cuts of real footage with their speech: one training, one validation clip."""
    pcm = load_audio(speech_clip)
    train_dir, val_dir = tmp_path / "actor_a", tmp_path / "grid_s2"  # grid_s2 is a validation speaker
    train_dir.mkdir()
    val_dir.mkdir()
    cut_clip(frames=50, out_name="actor_a/a.mp4", audio=pcm[:32000], audio_rate=16000)
    cut_clip(start=1.0, frames=50, out_name="grid_s2/b.mp4", audio=pcm[16000:48000], audio_rate=16000)
    cache = tmp_path / "cache"
    assert main(["build-dataset", "--no-shared", "--add", str(train_dir), "--add", str(val_dir),
                 "--cache", str(cache)]) == 0
    return cache
