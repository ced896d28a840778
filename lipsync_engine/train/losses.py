"""Renderer losses on the crop's lower region. Images are (N, 3, H, W) float in [0, 1]."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lipsync_engine.sync.model import SyncExpert


def masked_l1(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error inside the (N, 1, H, W) mask (the only place the renderer changes pixels)."""
    return ((out - target).abs() * mask).sum() / (mask.sum() * out.shape[1] + 1e-6)


def multiscale_gradient_l1(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """L1 of image gradients at 1x, 1/2x, 1/4x: keeps edges (lips, teeth) sharp where plain L1 blurs."""
    total = out.new_zeros(())
    for level in range(scales):
        if level:
            out, target, mask = (F.avg_pool2d(x, 2) for x in (out, target, mask))
        for dim in (2, 3):
            d_out, d_tgt = torch.diff(out, dim=dim), torch.diff(target, dim=dim)
            m = mask.narrow(dim, 0, mask.shape[dim] - 1)
            total = total + masked_l1(d_out, d_tgt, m) + masked_l1(out, target, mask) * (level > 0)
    return total / scales


def temporal_l1(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, pairs: int) -> torch.Tensor:
    """Frame-to-frame change of the output vs the truth; rows i and i + pairs are consecutive frames."""
    d_out = out[pairs:] - out[:pairs]
    d_tgt = target[pairs:] - target[:pairs]
    return masked_l1(d_out, d_tgt, torch.maximum(mask[pairs:], mask[:pairs]))


def patch_weights(mask: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The repaint mask's share of each discriminator patch (N, 1, h, w). Outside the mask output and truth
    are the same pixels, so those patches can only be scored alike; their hinge terms would swamp the rest."""
    return F.adaptive_avg_pool2d(mask, logits.shape[-2:])


def _weighted_mean(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (x * weight).sum() / (weight.sum() + 1e-6)


def hinge_d(real_logits: torch.Tensor, fake_logits: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss, patches weighted by ``patch_weights``."""
    return _weighted_mean(F.relu(1.0 - real_logits), weight) + _weighted_mean(F.relu(1.0 + fake_logits), weight)


def hinge_g(fake_logits: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Generator hinge loss, patches weighted by ``patch_weights``."""
    return -_weighted_mean(fake_logits, weight)


def feature_matching_l1(disc_fake: list[torch.Tensor], disc_real: list[torch.Tensor]) -> torch.Tensor:
    """Mean over the discriminator's layers of the L1 between its features of output and truth (pix2pixHD):
    a paired, bounded adversarial signal that cannot run away like the hinge term alone."""
    return sum((f - r.detach()).abs().mean() for f, r in zip(disc_fake, disc_real)) / len(disc_fake)


def sync_nce(expert: SyncExpert, crops: torch.Tensor, mel: torch.Tensor, negatives_from: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The frozen sync expert's contrastive loss, as it was trained, for rendered windows.

    crops (B, T, 3, S, S) rendered consecutive crops (T = expert.config.frames); mel (B, 2K + 1, 80, 20):
    the centre frame's speech window moved -K..K frames. The speech at offset 0 is the positive, offsets
    with ``|k| >= negatives_from`` the negatives (nearer ones overlap the positive too much); the loss is
    cross-entropy over them at the expert's own temperature. Returns (loss, mean cosine at offset 0).
    Gradients reach ``crops`` only: the expert is used as is (call it in eval mode, parameters frozen).
    """
    k = (mel.shape[1] - 1) // 2
    offsets = torch.arange(-k, k + 1)
    keep = (offsets == 0) | (offsets.abs() >= negatives_from)
    video = expert.embed_video(expert.mouth_stack_from_crops(crops))
    with torch.no_grad():
        audio = expert.embed_audio(mel[:, keep].flatten(0, 1)).view(len(mel), int(keep.sum()), -1)
        scale = expert.logit_scale.exp().clamp(max=100.0)
    cos = torch.einsum("bd,bkd->bk", video, audio)
    positive = int(torch.nonzero(offsets[keep] == 0))
    target = torch.full((len(cos),), positive, dtype=torch.long)
    return F.cross_entropy(scale * cos, target), cos[:, positive].mean()


def freeze(module: nn.Module) -> nn.Module:
    """``module`` in eval mode with no trainable parameters (a fixed loss network)."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
