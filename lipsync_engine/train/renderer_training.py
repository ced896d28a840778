"""Train the renderer on self-reconstruction: L1 + multi-scale gradient + temporal, plus (when weighted) the
frozen sync expert's loss and a hinge patch-GAN with feature matching.

Time-boxed (``minutes``) rather than step-counted, since this is tuned for a shared 2-core CPU; a
checkpoint (renderer, discriminator, optimisers, step, discriminator steps, elapsed time) is written every
few minutes and a run resumes from it, with the learning rates of the current config.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from lipsync_engine.media.atomic import atomic_path
from lipsync_engine.model.discriminator import build_patch_discriminator, patch_features
from lipsync_engine.model.renderer import MouthRenderer
from lipsync_engine.sync.checkpoint import load_sync_expert
from lipsync_engine.sync.train import MIN_SHIFT
from lipsync_engine.train import losses
from lipsync_engine.train.sampling import PairSampler, RendererBatch, SyncBatch


@dataclass(frozen=True)
class RendererTrainConfig:
    minutes: float = 20.0  # wall-clock training budget (resumed runs count earlier time)
    pairs: int = 4  # temporal pairs per step (8 crops)
    lr: float = 2e-4
    clip_grad: float = 1.0  # gradient norm clip: without it the CPU run diverged after ~450 steps
    gradient_weight: float = 1.0
    temporal_weight: float = 0.5
    # Sync expert (losses.sync_nce): ``sync_windows`` windows of the expert's frame count (5) per step,
    # rendered from their own mouth codes on speech of sync-usable clips; they count in the reconstruction
    # losses too. One 5-crop window makes a step about 1.8x as long on the CPU. Off: a 38-minute CPU
    # fine-tune at 0.003 gave no clear gain (docs/model.md, design comparison 3).
    sync_weight: float = 0.0
    sync_windows: int = 1
    sync_shift: int = 8  # negatives: the speech moved 3..sync_shift frames either way (as the expert trained)
    sync_expert: str | None = None  # expert weights file; None = the shipped lipsync_engine/weights/sync_expert
    # The hinge patch-GAN alone at 0.02 collapsed the renderer within ~100 steps of the 40-minute CPU run
    # (masked L1 0.022 -> 0.40). Safer: the discriminator first learns on the frozen renderer
    # (disc_pretrain_steps), learns slower than the renderer (disc_lr), is scored only where the mask is
    # (losses.patch_weights), and the renderer mostly gets the paired feature-matching term
    # (feature_match_weight) with a small hinge term (gan_weight). Off: tried at gan 0.003 + feature
    # matching 5 in the same fine-tune, the discriminator barely learned (hinge loss 2.00 -> 1.96).
    gan_weight: float = 0.0
    feature_match_weight: float = 0.0
    gan_start_step: int = 300  # reconstruction-only warm-up before the discriminator joins
    disc_pretrain_steps: int = 200  # discriminator-only steps (renderer frozen) before its losses reach the renderer
    disc_lr: float = 1e-4
    # With spectral norm the discriminator could not tell the 42-minute renderer's crops from the truth
    # (logit gap 0.005 after 150 steps, 0.010 without), so it is off; the guards above keep it stable.
    disc_spectral_norm: bool = False
    max_steps: int = 0  # stop after this many renderer steps (0: only the time budget stops the run)
    checkpoint_every_s: float = 180.0
    log_every: int = 25

    @property
    def adversarial(self) -> bool:
        return self.gan_weight > 0 or self.feature_match_weight > 0


def train_renderer(
    model: MouthRenderer, sampler: PairSampler, tc: RendererTrainConfig, checkpoint: Path, log=print
) -> dict:
    """Train ``model`` in place until the time budget is spent; returns the last loss values."""
    torch.manual_seed(0)
    disc = build_patch_discriminator(3 + model.config.shape_channels, spectral_norm=tc.disc_spectral_norm)
    opt_g = torch.optim.Adam(model.parameters(), lr=tc.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=tc.disc_lr, betas=(0.5, 0.999))
    expert = losses.freeze(load_sync_expert(tc.sync_expert)) if tc.sync_weight > 0 else None
    step, disc_steps, spent = 0, 0, 0.0
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state["renderer"])
        opt_g.load_state_dict(state["opt_g"])
        step, spent = int(state["step"]), float(state["spent"])
        log(f"resumed renderer training at step {step} ({spent / 60:.1f} min spent)")
        if state["disc"].keys() == disc.state_dict().keys():
            disc.load_state_dict(state["disc"])
            opt_d.load_state_dict(state["opt_d"])
            disc_steps = int(state.get("disc_steps", 0))
        else:
            log("the checkpoint's discriminator has another form (spectral norm): it starts afresh")
    for opt, lr in ((opt_g, tc.lr), (opt_d, tc.disc_lr)):  # a resumed fine-tune may use other rates
        for group in opt.param_groups:
            group["lr"] = lr
    model.train()
    start, last_save = time.time() - spent, time.time()
    running: dict[str, float] = {}
    best_l1 = float("inf")
    while time.time() - start < tc.minutes * 60 and not (tc.max_steps and step >= tc.max_steps):
        if tc.adversarial and step >= tc.gan_start_step and disc_steps < tc.disc_pretrain_steps:
            d_loss = _pretrain_disc_step(model, disc, opt_d, sampler.batch(tc.pairs))
            disc_steps += 1
            if disc_steps % tc.log_every == 0 or disc_steps == tc.disc_pretrain_steps:
                log(f"discriminator pretraining {disc_steps}/{tc.disc_pretrain_steps} d {d_loss:.4f}")
            continue
        step += 1
        use_gan = tc.adversarial and step > tc.gan_start_step
        windows = (sampler.sync_windows(tc.sync_windows, expert.config.frames, tc.sync_shift)
                   if expert is not None else None)
        parts, shown, d_inputs = _step_losses(model, sampler.batch(tc.pairs), windows, tc, disc, expert, use_gan)
        opt_g.zero_grad()
        sum(parts.values()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip_grad)
        opt_g.step()
        if use_gan:
            shown["d"] = _disc_step(disc, opt_d, *d_inputs)
            disc_steps += 1
        for k, v in {**parts, **shown}.items():
            value = float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
            running[k] = 0.9 * running.get(k, value) + 0.1 * value
        if step % tc.log_every == 0:
            elapsed = time.time() - start
            log(f"renderer step {step} {elapsed / 60:.1f}/{tc.minutes:.0f} min "
                + " ".join(f"{k} {v:.4f}" for k, v in running.items()))
        best_l1 = min(best_l1, running["l1"])
        if time.time() - last_save > tc.checkpoint_every_s and running["l1"] < 2.0 * best_l1:  # never save a diverged net
            _save(checkpoint, model, disc, opt_g, opt_d, step, disc_steps, time.time() - start)
            last_save = time.time()
    if running.get("l1", 0.0) >= 2.0 * best_l1 and checkpoint.is_file():
        log(f"renderer diverged (L1 {running['l1']:.3f}, best {best_l1:.3f}): keeping the last good checkpoint")
        model.load_state_dict(torch.load(checkpoint, weights_only=True)["renderer"])
    else:
        _save(checkpoint, model, disc, opt_g, opt_d, step, disc_steps, time.time() - start)
    model.eval()
    return {"steps": step, "minutes": (time.time() - start) / 60, **running}


def _step_losses(model: MouthRenderer, batch: RendererBatch, windows: SyncBatch | None, tc: RendererTrainConfig,
                 disc, expert, use_gan: bool):
    """(loss terms, values only logged, (real, fake) discriminator inputs) of one renderer step.

    The pairs and the sync windows go through the renderer as one batch: pairs first (rows 0..2P-1).
    """
    inputs = batch.inputs()
    if windows is not None:
        inputs = {k: torch.cat([torch.from_numpy(v), torch.from_numpy(windows.crops.inputs()[k])]) for k, v in inputs.items()}
    else:
        inputs = {k: torch.from_numpy(v) for k, v in inputs.items()}
    out = model(**inputs)
    top, n = model.config.region_top, len(batch.target)
    gt, region, mask = inputs["target"][:, :, top:], out[:, :, top:], inputs["mask"][:, :, top:]
    parts = {
        "l1": losses.masked_l1(region, gt, mask),
        "grad": tc.gradient_weight * losses.multiscale_gradient_l1(region, gt, mask),
        "temporal": tc.temporal_weight * losses.temporal_l1(region[:n], gt[:n], mask[:n], tc.pairs),
    }
    shown: dict[str, torch.Tensor] = {}
    if windows is not None:
        frames = expert.config.frames
        sync, shown["sync_cos"] = losses.sync_nce(expert, out[n:].view(-1, frames, *out.shape[1:]),
                                                  torch.from_numpy(windows.mel), MIN_SHIFT)
        parts["sync"] = tc.sync_weight * sync
    shape = inputs["shape"][:, :, top:]
    real, fake = torch.cat([gt, shape], 1), torch.cat([region, shape], 1)
    if use_gan:
        disc.requires_grad_(False)  # the renderer's step needs no discriminator gradients
        logits, fake_features = patch_features(disc, fake)
        if tc.gan_weight > 0:
            parts["gan"] = tc.gan_weight * losses.hinge_g(logits, losses.patch_weights(mask, logits))
        if tc.feature_match_weight > 0:
            with torch.no_grad():
                _, real_features = patch_features(disc, real)
            parts["fm"] = tc.feature_match_weight * losses.feature_matching_l1(fake_features, real_features)
        disc.requires_grad_(True)
    return parts, shown, (real, fake.detach(), mask)


def _disc_step(disc, opt_d, real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor) -> float:
    real_logits, fake_logits = disc(real), disc(fake)
    d_loss = losses.hinge_d(real_logits, fake_logits, losses.patch_weights(mask, real_logits))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    return float(d_loss.detach())


def _pretrain_disc_step(model: MouthRenderer, disc, opt_d, batch: RendererBatch) -> float:
    """One discriminator step against the current (frozen) renderer."""
    inputs = {k: torch.from_numpy(v) for k, v in batch.inputs().items()}
    top = model.config.region_top
    with torch.no_grad():
        region = model(**inputs)[:, :, top:]
    shape = inputs["shape"][:, :, top:]
    return _disc_step(disc, opt_d, torch.cat([inputs["target"][:, :, top:], shape], 1), torch.cat([region, shape], 1),
                      inputs["mask"][:, :, top:])


def _save(path: Path, model, disc, opt_g, opt_d, step: int, disc_steps: int, spent: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        torch.save({"renderer": model.state_dict(), "disc": disc.state_dict(), "opt_g": opt_g.state_dict(),
                    "opt_d": opt_d.state_dict(), "step": step, "disc_steps": disc_steps, "spent": spent}, temp)
