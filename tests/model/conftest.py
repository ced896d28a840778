"""Model tests share a 2-core CI box with other suites: one torch thread keeps them from oversubscribing it.
The shipped generator and the GRID clip's aligned crops are loaded once for every test that needs them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lipsync_cli.main import main
from lipsync_engine.audio import frame_mel_windows, load_audio, log_mel
from lipsync_engine.audio.vad import voice_activity
from lipsync_engine.faces.tracker import track_shot
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.generator.loader import load_generator
from lipsync_engine.media import probe_video, read_frames
from lipsync_engine.pipeline.compose import crop_face


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


@pytest.fixture(scope="session")
def generator() -> LearnedGenerator:
    return load_generator("default", backend="torch")


@pytest.fixture(scope="session")
def footage(speech_clip: Path, generator: LearnedGenerator) -> dict:
    """Aligned crops, crop landmarks, mel windows and voice activity of the 3 s GRID clip (75 frames)."""
    info = probe_video(speech_clip)
    frames = [f.rgb for f in read_frames(speech_clip, info)]
    track = track_shot(enumerate(frames), fps=float(info.fps))
    assert track.valid.all()
    faces = [crop_face(f, p, generator.crop_size) for f, p in zip(frames, track.points)]
    pcm = load_audio(speech_clip)
    centres = (np.arange(len(frames)) + 0.5) / float(info.fps)
    return {
        "crops": np.stack([f.crop for f in faces]), "points": np.stack([f.points for f in faces]),
        "mel": frame_mel_windows(log_mel(pcm), centres), "speech": voice_activity(pcm, centres),
    }
