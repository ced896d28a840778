"""Audio-video offsets found with the audio-to-motion network and checked by the sync expert (real clips,
the shipped networks)."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lipsync_cli.main import main
from lipsync_engine.audio.features import SILENCE
from lipsync_engine.data.cache import load_clip
from lipsync_engine.generator.learned import DEFAULT_WEIGHTS
from lipsync_engine.model.bundle import load_bundle
from lipsync_engine.train.av_offsets import MAX_SHIFT, motion_curve, offset_to_record
from lipsync_engine.train.clips import load_train_clips

COLUMNS_PER_FRAME = 4  # 100 mel columns a second at 25 fps


def _delayed(mel: np.ndarray, frames: int) -> np.ndarray:
    """The clip's audio played ``frames`` video frames later (silence before it), same length."""
    cut = frames * COLUMNS_PER_FRAME
    return np.pad(np.asarray(mel), ((0, 0), (cut, 0)), constant_values=SILENCE)[:, :mel.shape[1]].astype(np.float32)


def test_the_motion_curve_peaks_where_the_audio_lines_up(eval_cache: Path) -> None:
    bundle = load_bundle(DEFAULT_WEIGHTS)
    clip = next(c for c in load_train_clips(eval_cache, "val") if c.clip.speaker_id == "grid_s2")
    in_sync = motion_curve(clip, bundle)
    assert abs(int(np.argmax(in_sync)) - MAX_SHIFT) <= 1  # studio speech, audio on the picture
    late = dataclasses.replace(clip, clip=dataclasses.replace(clip.clip, mel=_delayed(clip.clip.mel, 3)))
    assert int(np.argmax(motion_curve(late, bundle))) - int(np.argmax(in_sync)) == 3


@pytest.mark.parametrize("suspect, motion, expert, recorded", [
    (True, 3, -5, 3),  # a suspect clip takes the network's clear peak, whatever the weak expert says
    (True, None, 3, None),  # no clear peak: nothing recorded
    (False, 3, 2, 3),  # another clip: 2 or more frames off and the expert agrees within a frame
    (False, 3, 0, None),  # ... but not on the network's word alone
    (False, 1, 1, None),  # a frame is within what both detectors can tell
    (False, -2, -2, -2),
])
def test_which_offsets_are_recorded(suspect: bool, motion: int | None, expert: int, recorded: int | None) -> None:
    assert offset_to_record(suspect, motion, expert) == recorded


def test_measure_offsets_records_a_clip_whose_audio_trails(eval_cache: Path, tmp_path: Path, capsys) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(eval_cache, cache)
    clip_id = next(c.clip_id for c in load_train_clips(cache, "val") if c.clip.speaker_id == "grid_s2")
    mel_path = cache / clip_id / "mel.npy"
    np.save(mel_path, _delayed(np.load(mel_path), 3))
    assert main(["measure-offsets", "--cache", str(cache)]) == 0
    out = capsys.readouterr().out
    assert f"{clip_id}" in out and "clips measured" in out
    meta = json.loads((cache / clip_id / "meta.json").read_text())
    assert meta["av_offset_frames"] == 3 and meta["av_offset_method"] == "audio-to-motion correlation"
    assert load_clip(cache, clip_id).av_offset == 3
    assert json.loads((cache / "index.json").read_text())["clips"][clip_id]["av_offset_frames"] == 3


def test_the_expert_alone_does_not_overwrite_an_offset_measure_offsets_recorded(eval_cache: Path, tmp_path: Path):
    from lipsync_engine.data.cache import read_meta, write_meta
    from lipsync_engine.sync.checkpoint import load_sync_expert
    from lipsync_engine.sync.offsets import record_offsets

    cache = tmp_path / "cache"
    shutil.copytree(eval_cache, cache)
    measured, plain = (load_clip(cache, c.clip_id) for c in load_train_clips(cache, "val")[:2])
    write_meta(cache, read_meta(cache, measured.clip_id) | {
        "av_offset_frames": 4, "av_offset_confidence": 0.4, "av_offset_method": "audio-to-motion correlation"})
    write_meta(cache, read_meta(cache, plain.clip_id) | {"av_offset_frames": 4, "av_offset_confidence": 0.4})
    found = record_offsets(load_sync_expert(None), cache, [load_clip(cache, c) for c in (measured.clip_id, plain.clip_id)])
    assert set(found) == {measured.clip_id, plain.clip_id}
    assert load_clip(cache, measured.clip_id).av_offset == 4  # kept
    assert read_meta(cache, plain.clip_id)["av_offset_confidence"] != 0.4  # the expert's own verdict written
