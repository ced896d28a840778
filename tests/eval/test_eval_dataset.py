"""Dataset cache builder on real footage, and the speaker split."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lipsync_engine.data import load_clip, load_clips
from lipsync_engine.data.builder import build_cache
from lipsync_engine.data.splits import VALIDATION_SPEAKERS, folder_sources, shared_data_sources
from lipsync_engine.errors import InputError


def test_cache_builder_on_real_clip(eval_cache, footage_sources):
    index = json.loads((eval_cache / "index.json").read_text())["clips"]
    entry = index["user_vr5_woman_glasses_take1"]
    assert entry["split"] == "val" and entry["n_frames"] == 50 and entry["av_offset_frames"] is None
    clip = load_clip(eval_cache, "user_vr5_woman_glasses_take1")
    assert clip.crops.shape == (50, 192, 192, 3) and clip.crops.dtype == np.uint8
    assert clip.points.shape == (50, 468, 2) and clip.mouths.shape == (50, 48, 64)
    assert clip.valid.all()
    assert clip.speech.shape == (50,) and clip.speech.dtype == bool and clip.speech.mean() > 0.5  # she speaks
    # The aligned framing puts the mouth near 0.63 of the crop height, centred.
    mouth = clip.points[:, [61, 291]].mean(axis=(0, 1))
    assert abs(mouth[0] / 192 - 0.5) < 0.05 and abs(mouth[1] / 192 - 0.63) < 0.05
    assert clip.mel.shape[0] == 80 and abs(clip.mel.shape[1] - 200) <= 5  # AAC priming may add a few ms
    assert clip.mel.std() > 0.3  # real speech, not padding
    assert clip.mel_windows(np.arange(3)).shape == (3, 80, 20)
    assert clip.fps == 25
    meta_path = eval_cache / "user_vr5_woman_glasses_take1" / "meta.json"
    written = meta_path.stat().st_mtime_ns
    build_cache(footage_sources, eval_cache)  # already cached from the same files: not decoded again
    assert meta_path.stat().st_mtime_ns == written
    assert [c.speaker_id for c in load_clips(eval_cache, "val", sync_ready=True)] == ["grid_s2", "vr5_woman_glasses"]


def test_speaker_split_never_overlaps(shared_data):
    sources = shared_data_sources(shared_data)
    train = {s.speaker_id for s in sources if s.split == "train"}
    val = {s.speaker_id for s in sources if s.split == "val"}
    assert not train & val
    assert val == VALIDATION_SPEAKERS  # every held-out speaker has clips
    assert {s.source for s in sources if s.speaker_id == "grid_s1"} == {"clips", "grid_s1"}
    assert all(s.split == "train" for s in sources if s.source == "grid_s1")
    assert all(s.appearance_only for s in sources if s.source == "unverified")
    assert len({s.clip_id for s in sources}) == len(sources)


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="MANIFEST"):
        shared_data_sources(tmp_path)
    with pytest.raises(InputError, match="no video files"):
        folder_sources(tmp_path)
    with pytest.raises(InputError, match="build-dataset"):
        load_clips(tmp_path, "val")


def test_build_dataset_command_reuses_the_cache(eval_cache, footage, capsys):
    from lipsync_cli.main import main

    meta_path = eval_cache / "user_grid_s2_take1" / "meta.json"
    written = meta_path.stat().st_mtime_ns
    assert main(["build-dataset", "--no-shared", "--add", str(footage), "--cache", str(eval_cache)]) == 0
    out = capsys.readouterr().out
    assert "val: 2 clips, 100 frames, 2 speakers" in out
    assert meta_path.stat().st_mtime_ns == written
