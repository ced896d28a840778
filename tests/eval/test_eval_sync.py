"""The sync expert: differentiable mouth input, checkpoints, and (with the shipped weights) sync detection."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lipsync_engine.data import load_clip
from lipsync_engine.errors import ModelError
from lipsync_engine.sync import DEFAULT_WEIGHTS, build_sync_expert, load_sync_expert, save_sync_expert
from lipsync_engine.sync.checkpoint import file_sha256, record_path
from lipsync_engine.sync.scoring import similarity_by_offset, stack_centres

SHIFT = 10  # frames: a strongly shifted pair (400 ms at 25 fps)


def test_mouth_stack_is_differentiable_and_sized():
    model = build_sync_expert()
    crops = torch.rand(2, 5, 3, 192, 192, requires_grad=True)
    mouths = model.mouth_stack_from_crops(crops)
    assert mouths.shape == (2, 5, 48, 64) and 0.0 <= float(mouths.detach().min()) and float(mouths.detach().max()) <= 1.0
    score = model(mouths, torch.randn(2, 80, 20))
    assert score.shape == (2,) and float(score.detach().abs().max()) <= 1.0 + 1e-5
    score.sum().backward()
    assert crops.grad is not None and float(crops.grad.abs().sum()) > 0
    # Only the mouth box feeds the expert: the eyes get no gradient.
    assert float(crops.grad[:, :, :, :80].abs().sum()) == 0.0


def test_checkpoint_round_trip_and_errors(tmp_path):
    model = build_sync_expert().eval()
    path = tmp_path / "expert.safetensors"
    digest = save_sync_expert(model, path, {"steps": 0})
    assert digest == file_sha256(path)
    loaded = load_sync_expert(path)
    mouths, mel = torch.rand(3, 5, 48, 64), torch.randn(3, 80, 20)
    with torch.no_grad():
        assert torch.allclose(loaded(mouths, mel), model.half().float()(mouths, mel), atol=1e-3)
    with pytest.raises(ModelError, match="not found"):
        load_sync_expert(tmp_path / "missing.safetensors")
    assert json.loads(record_path(path).read_text())["sha256"] == digest
    with open(path, "r+b") as f:  # flip one byte of the weights: the recorded checksum catches it
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 1]))
    with pytest.raises(ModelError, match="checksum"):
        load_sync_expert(path)
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="corrupt"):
        load_sync_expert(tmp_path / "bad.safetensors")


def test_trained_expert_prefers_in_sync_audio(eval_cache):
    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip(f"no trained sync expert at {DEFAULT_WEIGHTS}; run `lipsync train-sync`")
    expert = load_sync_expert()
    for clip_id in ("user_vr5_woman_glasses_take1", "user_grid_s2_take1"):
        clip = load_clip(eval_cache, clip_id)
        centres = stack_centres(clip.valid)
        centres = centres[(centres >= SHIFT) & (centres < clip.n_frames - SHIFT)]  # shifted audio stays real
        sim = similarity_by_offset(expert, clip.mouths, clip.mel, clip.fps, centres, max_offset=SHIFT)
        in_sync, shifted = sim[SHIFT].mean(), np.r_[sim[0], sim[-1]].mean()
        assert in_sync > shifted + 0.05, clip_id
