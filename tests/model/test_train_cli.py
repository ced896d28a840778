"""`lipsync train` end to end on a tiny dataset cache built from two 2-second cuts of real footage."""
from __future__ import annotations

from pathlib import Path

import pytest

from lipsync_cli.main import main
from lipsync_engine.audio import load_audio
from lipsync_engine.generator.learned import load_learned


@pytest.fixture
def tiny_cache(cut_clip, speech_clip: Path, tmp_path: Path) -> Path:
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


def test_train_writes_loadable_weights_with_its_numbers_and_resumes(
    tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, work = tmp_path / "gen.safetensors", tmp_path / "work"
    args = ["train", "--cache", str(tiny_cache), "--out", str(out), "--work", str(work),
            "--minutes", "0.05", "--motion-steps", "30"]
    assert main(args) == 0
    generator = load_learned(str(out), backend="torch")
    notes = generator.bundle.notes
    assert set(notes["crop_psnr_validation"]) == {"retrieval", "fixed_reference", "paste_reference"}
    assert notes["renderer"]["steps"] >= 1
    assert (work / "renderer.pt").is_file()
    capsys.readouterr()
    assert main(args) == 0  # the renderer's budget is spent: the rerun resumes and only re-exports
    assert "resumed renderer training" in capsys.readouterr().out
    assert load_learned(str(out), backend="torch").bundle.notes["renderer"]["steps"] == notes["renderer"]["steps"]


def test_train_without_a_cache_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--cache", str(tmp_path / "none"), "--out", str(tmp_path / "g.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "build-dataset" in err and "Traceback" not in err
