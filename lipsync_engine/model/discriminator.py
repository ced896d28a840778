"""Patch discriminator for the renderer's adversarial loss (training only, never shipped).

Input (N, 3 + C, H, W) float in [0, 1]: the crop's lower region concatenated with the wanted mouth
shape map, so it judges realism and shape agreement together. Output (N, 1, H/8, W/8) real/fake logits.
"""
from __future__ import annotations

import torch
from torch import nn


def build_patch_discriminator(in_channels: int, width: int = 32, spectral_norm: bool = True) -> nn.Sequential:
    """A three-stride-2 PatchGAN (receptive field about 38 px), with spectral norm on every layer by default."""
    sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda layer: layer)
    return nn.Sequential(
        sn(nn.Conv2d(in_channels, width, 4, stride=2, padding=1)),
        nn.LeakyReLU(0.2),
        sn(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)),
        nn.LeakyReLU(0.2),
        sn(nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1)),
        nn.LeakyReLU(0.2),
        sn(nn.Conv2d(4 * width, 1, 3, padding=1)),
    )


def patch_features(disc: nn.Sequential, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(logits, activations after each hidden layer) of ``disc`` for feature matching."""
    features = []
    for layer in disc:
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            features.append(x)
    return x, features
