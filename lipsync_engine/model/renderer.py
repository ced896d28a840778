"""The renderer: a U-Net that repaints the mouth and jaw of an aligned crop from references of the same actor.

It works only on the lower part of the crop (rows ``region_top`` .. S), the part the blend mask can
change, so no compute goes to eyes and forehead. Inputs (all float32 or float16, batch axis 0):

- ``target``    (N, 3, S, S) in [0, 1]: the aligned target crop (RGB).
- ``mask``      (N, 1, S, S) in [0, 1]: 1 where the mouth/jaw must be regenerated (feathered).
- ``shape``     (N, C, S, S) in [0, 1]: the wanted mouth shape, rasterised (lip/jaw contours, opening).
- ``reference`` (N, 3K, S, S) in [0, 1]: K crops of the same actor whose mouths match the wanted shape.

Output (N, 3, S, S) in [0, 1]: the target with the masked region repainted; every pixel where the
mask is 0 equals the target exactly, so pasting the crop back cannot leave a box.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lipsync_engine.model.config import RendererConfig


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.LeakyReLU(0.2, inplace=True))


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(cin, cout, stride=2), _conv(cout, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _Up(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.reduce = _conv(cin, cout)
        self.merge = nn.Sequential(_conv(cout + cskip, cout), _conv(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.reduce(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return self.merge(torch.cat([x, skip], dim=1))


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(width, width), nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.body(x), 0.2)


class MouthRenderer(nn.Module):
    """U-Net over the crop's lower region; see the module docstring for inputs and output."""

    def __init__(self, config: RendererConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        widths = config.widths
        cin = 3 + 1 + config.shape_channels + 3 * config.references
        self.stem = nn.Sequential(_conv(cin, widths[0]), _conv(widths[0], widths[0]))
        self.downs = nn.ModuleList(_Down(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.middle = nn.Sequential(_Residual(widths[-1]), _Residual(widths[-1]))
        self.ups = nn.ModuleList(
            _Up(widths[i + 1], widths[i], widths[i]) for i in reversed(range(len(widths) - 1))
        )
        # A correction added to the first reference: where the reference already fits, copying it is the
        # best guess, so the head starts at zero and learns what to change.
        self.head = nn.Conv2d(widths[0], 3, 3, padding=1)
        with torch.no_grad():
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()

    def forward(
        self, target: torch.Tensor, mask: torch.Tensor, shape: torch.Tensor, reference: torch.Tensor
    ) -> torch.Tensor:
        top = self.config.region_top
        region = target[:, :, top:]
        region_mask = mask[:, :, top:]
        x = torch.cat([region * (1.0 - region_mask), region_mask, shape[:, :, top:], reference[:, :, top:]], dim=1)
        x = self.stem(x)
        skips = [x]
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.middle(skips.pop())
        for up in self.ups:
            x = up(x, skips.pop())
        # Residual in logit space: never saturates to a dead clamp, and stays in (0, 1).
        ref = reference[:, 0:3, top:].clamp(0.01, 0.99)
        painted = torch.sigmoid(torch.log(ref / (1.0 - ref)) + self.head(x))
        region_out = region * (1.0 - region_mask) + painted * region_mask
        return torch.cat([target[:, :, :top], region_out], dim=2)


def build_renderer(config: RendererConfig) -> MouthRenderer:
    """A freshly initialised renderer for ``config`` (load weights with ``load_state_dict``)."""
    return MouthRenderer(config)


def renderer_example_inputs(config: RendererConfig, batch: int = 1) -> dict[str, torch.Tensor]:
    """Named example inputs in forward's order, float32 in [0, 1], dynamic batch axis 0 (for export)."""
    s = config.crop_size
    generator = torch.Generator().manual_seed(0)

    def rand(channels: int) -> torch.Tensor:
        return torch.rand(batch, channels, s, s, generator=generator)

    return {
        "target": rand(3),
        "mask": rand(1),
        "shape": rand(config.shape_channels),
        "reference": rand(3 * config.references),
    }


def count_flops_per_frame(model: MouthRenderer) -> int:
    """Multiply-adds x 2 of the convolutions for one frame (biases and activations ignored)."""
    flops = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal flops
        kh, kw = module.kernel_size
        flops += 2 * output[0].numel() * module.in_channels * kh * kw // module.groups

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(**renderer_example_inputs(model.config, 1))
    finally:
        for handle in handles:
            handle.remove()
    return flops
