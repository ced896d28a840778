"""The renderer's sync-expert and adversarial losses: shapes, where gradients go, and a short real run."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from lipsync_engine.data import load_clips
from lipsync_engine.errors import InputError
from lipsync_engine.model import RendererConfig, build_renderer, renderer_example_inputs
from lipsync_engine.model.discriminator import build_patch_discriminator, patch_features
from lipsync_engine.model.mouth_shape import fit_basis
from lipsync_engine.sync import load_sync_expert
from lipsync_engine.sync.train import MIN_SHIFT
from lipsync_engine.train import losses
from lipsync_engine.train.clips import attach_codes, load_train_clips, train_clip
from lipsync_engine.train.renderer_training import RendererTrainConfig, train_renderer
from lipsync_engine.train.sampling import PairSampler, SamplingConfig

SMALL = RendererConfig(widths=(8, 8, 12, 12, 16))


def test_sync_loss_reaches_the_renderer_and_leaves_the_expert_frozen() -> None:
    torch.manual_seed(0)
    expert = losses.freeze(load_sync_expert())
    before = {k: v.clone() for k, v in expert.state_dict().items()}
    model = build_renderer(SMALL)
    inputs = renderer_example_inputs(SMALL, batch=10)  # 2 windows of the expert's 5 frames
    mel = torch.randn(2, 17, 80, 20).clamp(-4.0, 4.0)
    out = model(**inputs)
    loss, cos = losses.sync_nce(expert, out.view(2, 5, *out.shape[1:]), mel, MIN_SHIFT)
    assert loss.shape == () and torch.isfinite(loss) and float(loss.detach()) > 0
    assert cos.shape == () and -1.0 <= float(cos) <= 1.0
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss.backward()
    assert float(model.head.weight.grad.abs().sum()) > 0 and float(model.stem[0][0].weight.grad.abs().sum()) > 0
    optimiser.step()
    assert all(p.grad is None and not p.requires_grad for p in expert.parameters())
    assert not any(m.training for m in expert.modules())  # BatchNorm statistics stay put
    after = expert.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_sync_loss_counts_only_far_shifts_as_negatives() -> None:
    expert = losses.freeze(load_sync_expert())
    crops = torch.rand(1, 5, 3, 96, 96)
    mel = torch.randn(1, 17, 80, 20)
    loss, _ = losses.sync_nce(expert, crops, mel, MIN_SHIFT)
    changed = mel.clone()
    changed[:, 8 + 1] = changed[:, 8 - 2] = 4.0  # offsets +1 and -2 overlap the positive: not negatives
    assert torch.allclose(losses.sync_nce(expert, crops, changed, MIN_SHIFT)[0], loss)
    changed[:, 8 + MIN_SHIFT] = 4.0
    assert not torch.allclose(losses.sync_nce(expert, crops, changed, MIN_SHIFT)[0], loss)


def test_patch_features_feature_matching_and_mask_weighted_hinge() -> None:
    torch.manual_seed(0)
    disc = build_patch_discriminator(5, spectral_norm=False)
    real = torch.rand(2, 5, 112, 192)
    fake = (real + 0.1 * torch.randn_like(real)).requires_grad_(True)
    logits, features = patch_features(disc, fake)
    assert logits.shape == (2, 1, 14, 24) and len(features) == 3
    assert torch.equal(logits, disc(fake))
    _, real_features = patch_features(disc, real)
    assert float(losses.feature_matching_l1(real_features, real_features)) == 0.0
    fm = losses.feature_matching_l1(features, real_features)
    assert float(fm) > 0
    fm.backward()
    assert float(fake.grad.abs().sum()) > 0

    mask = torch.zeros(2, 1, 112, 192)
    mask[:, :, 40:100, 60:140] = 1.0
    weight = losses.patch_weights(mask, logits)
    assert weight.shape == logits.shape and float(weight[:, :, :4].sum()) == 0.0  # no mask up there
    noisy = logits.detach().clone()
    noisy[:, :, :4] = 50.0  # patches outside the mask do not count
    assert torch.allclose(losses.hinge_g(noisy, weight), losses.hinge_g(logits.detach(), weight))
    assert torch.allclose(losses.hinge_d(noisy, noisy, weight), losses.hinge_d(logits.detach(), logits.detach(), weight))


def _sampler(cache: Path) -> PairSampler:
    clips = load_train_clips(cache, "train")
    basis = fit_basis(np.concatenate([c.disp for c in clips]), 10)
    attach_codes(clips, basis)
    return PairSampler(clips, basis, SMALL, SamplingConfig(min_gap=6))


def test_sync_windows_are_consecutive_frames_with_shifted_speech(tiny_cache: Path) -> None:
    sampler = _sampler(tiny_cache)
    batch = sampler.sync_windows(3, 5, 8)
    assert batch.crops.target.shape == (15, 3, 192, 192) and batch.crops.mask.shape == (15, 1, 192, 192)
    assert batch.mel.shape == (3, 17, 80, 20) and batch.mel.dtype == np.float32
    clip = sampler.clips[0]
    crops = np.asarray(clip.clip.crops).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    for w in range(3):
        window = batch.crops.target[5 * w:5 * w + 5]
        first = int(np.flatnonzero([np.array_equal(window[0], c) for c in crops])[0])
        assert np.array_equal(window, crops[first:first + 5])  # five consecutive frames
        assert clip.clip.speech_at(np.array([first + 2]))[0]  # centred on speech
        assert np.array_equal(batch.mel[w], clip.clip.mel_windows(first + 2 + np.arange(-8, 9)))
        assert all(np.array_equal(batch.crops.reference[5 * w], r) for r in batch.crops.reference[5 * w:5 * w + 5])
    quiet = train_clip(dataclasses.replace(load_clips(tiny_cache, "train")[0], meta={
        **clip.clip.meta, "appearance_only": True}))
    attach_codes([quiet], sampler.basis)
    with pytest.raises(InputError, match="sync loss"):
        PairSampler([quiet], sampler.basis, SMALL, SamplingConfig()).sync_windows(1, 5, 8)


def test_a_short_run_with_every_loss_trains_and_resumes(tiny_cache: Path, tmp_path: Path) -> None:
    sampler = _sampler(tiny_cache)
    model = build_renderer(SMALL)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    tc = RendererTrainConfig(minutes=10, max_steps=2, pairs=2, sync_weight=0.01, gan_weight=0.01,
                             feature_match_weight=1.0, gan_start_step=0, disc_pretrain_steps=2, log_every=1)
    lines: list[str] = []
    stats = train_renderer(model, sampler, tc, tmp_path / "r.pt", lines.append)
    assert stats["steps"] == 2 and {"l1", "sync", "sync_cos", "gan", "fm", "d"} <= set(stats)
    assert all(np.isfinite(v) for v in stats.values())
    assert any("discriminator pretraining 2/2" in line for line in lines)
    assert not all(torch.equal(start[k], v) for k, v in model.state_dict().items())
    state = torch.load(tmp_path / "r.pt", weights_only=True)
    assert (state["step"], state["disc_steps"]) == (2, 4)  # 2 pretraining + 1 per renderer step
    resumed = train_renderer(build_renderer(SMALL), sampler, dataclasses.replace(tc, max_steps=3), tmp_path / "r.pt",
                             lines.append)
    assert resumed["steps"] == 3 and any("resumed renderer training at step 2" in line for line in lines)
    assert torch.load(tmp_path / "r.pt", weights_only=True)["disc_steps"] == 5
