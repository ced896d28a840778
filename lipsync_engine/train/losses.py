"""Renderer losses on the crop's lower region. Images are (N, 3, H, W) float in [0, 1]."""
from __future__ import annotations

import torch
from torch.nn import functional as F


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


def hinge_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()
