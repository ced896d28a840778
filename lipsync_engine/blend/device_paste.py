"""``paste`` with torch on a device (a CUDA GPU, or the CPU), so a GPU server is not held to the CPU's blend.

The maths is paste.py's, step for step (read its docstring); only the frame box travels: the box's pixels
go to the device once, the blended box comes back once. Parity with ``paste``:

- the warp samples where cv2.warpAffine(INTER_LINEAR) does: OpenCV rounds each source coordinate to 1/32
  of a crop pixel in fixed point, and so does ``_source_grid``, so the two agree to float rounding
  (``grid_sample`` on exact coordinates would differ by up to 1/64 px times the crop's gradient);
- the blurs are the same separable Gaussian kernels with OpenCV's default border (reflect-101); the edge
  correction's weight (a distance transform of the mask) is made on the host by paste's own function;
- the grain has the same strength and seed, drawn from a torch Generator: other numbers than numpy's.

Pixels where the warped mask is 0 are bit-identical to the frame, as with ``paste``.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from lipsync_engine.blend.paste import (
    _DETAIL_SIGMA, _HIGH_PASS_GAIN, PasteConfig, _box_matrix, _change_sigma, _check, _crop_weight, _edge_sigma,
    _edge_weight, _frame_box, _gaussian_ksize, _grain_seed,
)
from lipsync_engine.faces.align import Alignment

_TORCH_DTYPES = {np.dtype(np.uint8): torch.uint8, np.dtype(np.uint16): torch.uint16}
# cv2.warpAffine's fixed point: coordinates in 1/2**AB_BITS px, rounded to 1/2**INTER_BITS px for the taps.
_AB_BITS, _INTER_BITS = 10, 5


def device_paste(
    frame: np.ndarray,
    generated_crop: np.ndarray,
    alignment: Alignment,
    mask: np.ndarray,
    strength: float = 1.0,
    config: PasteConfig = PasteConfig(),
    *,
    device: str | torch.device = "cpu",
    inplace: bool = False,
) -> np.ndarray:
    """``paste`` (same arguments, same result up to float rounding and the grain's draw) run on ``device``.

    ``frame`` stays on the host: only the box the warped mask reaches is sent to the device and back.
    """
    size = alignment.size
    _check(frame, generated_crop, mask, size)
    out = frame if inplace else frame.copy()
    m = _crop_weight(mask, strength)
    box = _frame_box(m, alignment, frame.shape)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    region = out[y0:y1, x0:x1]
    device = torch.device(device)
    peak = float(np.iinfo(frame.dtype).max)
    with torch.inference_mode():
        source = _upload(alignment.crop(frame), device)
        gen = _upload(generated_crop, device) * (peak / np.iinfo(generated_crop.dtype).max)
        weight = torch.from_numpy(m).to(device)
        if config.colour_match:
            gen = _match_colour(gen, source, weight, config.max_gain)
        if config.edge_reach > 0.0:
            edge = torch.from_numpy(_edge_weight(m, config.edge_reach * size)).to(device)
            gen = gen - edge * _blur(gen - source, _edge_sigma(config, size))
        change = _blur((gen - source).abs().amax(0, keepdim=True), _change_sigma(size))[0]
        keep = ((config.changed * peak - change) / ((config.changed - config.unchanged) * peak)).clamp(0.0, 1.0)
        # up(G) - w * up(crop(frame)) is linear in the warp: one warp of [m, w, G - w * crop(frame)]
        planes = torch.cat([weight[None], keep[None], gen - keep * source])
        grid = _source_grid(_box_matrix(alignment, box), x1 - x0, y1 - y0, size, device)
        warped = F.grid_sample(planes[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
        m_up, keep_up, delta = warped[0], warped[1], warped[2:]
        src = _upload(region, device)
        blended = src * (1.0 - m_up * (1.0 - keep_up)) + delta * m_up
        if config.grain and bool(keep.min() < 1.0):
            # w * detail + sqrt(1 - w^2) * grain keeps the fine-detail variance where the two are mixed.
            grain = _grain(src, m_up, _grain_seed(region))
            blended += grain * (m_up * torch.sqrt(1.0 - keep_up * keep_up))
        blended = torch.where(m_up > 0.0, blended.clamp(0.0, peak).round(), src)
        region[...] = blended.permute(1, 2, 0).to(_TORCH_DTYPES[frame.dtype]).cpu().numpy()
    return out


def _upload(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 uint8/uint16 host image -> (3, H, W) float32 on ``device`` (sent at its own width)."""
    pixels = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return pixels.permute(2, 0, 1).float()


def _match_colour(gen: torch.Tensor, source: torch.Tensor, m: torch.Tensor, max_gain: float) -> torch.Tensor:
    """paste._match_colour on (3, S, S) tensors: gain and offset fitted in the mask's soft edge."""
    ring = (m > 0.0) & (m < 0.999)
    if int(ring.sum()) < 16:
        return gen
    g, s = gen[:, ring], source[:, ring]
    g_mean, s_mean = g.mean(1), s.mean(1)
    gain = (s.std(1, correction=0) / g.std(1, correction=0).clamp_min(1e-6)).clamp(1.0 / max_gain, max_gain)
    return (gen - g_mean[:, None, None]) * gain[:, None, None] + s_mean[:, None, None]


def _blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """cv2.GaussianBlur(image, (0, 0), sigma) of a (C, H, W) float32 tensor: separable, reflect-101 border."""
    ksize = _gaussian_ksize(sigma)
    kernel = torch.from_numpy(cv2.getGaussianKernel(ksize, sigma, cv2.CV_32F)[:, 0]).to(image.device)
    channels, height, width = image.shape
    padded = image.index_select(1, _reflect101(height, ksize // 2, image.device))
    padded = padded.index_select(2, _reflect101(width, ksize // 2, image.device))
    # one group per channel: a depthwise convolution runs ~3x faster on CPU than channels as a batch
    rows = F.conv2d(padded[None], kernel.view(1, 1, ksize, 1).expand(channels, 1, ksize, 1), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, 1, ksize).expand(channels, 1, 1, ksize), groups=channels)[0]


def _reflect101(n: int, radius: int, device: torch.device) -> torch.Tensor:
    """Indices of ``n`` samples padded by ``radius`` on each side the way BORDER_REFLECT_101 pads (gfedcb|abcdefgh|gfedcba),
    reflecting again where the padding is longer than the samples."""
    index = np.arange(-radius, n + radius)
    if n == 1:
        return torch.zeros(len(index), dtype=torch.long, device=device)
    period = 2 * (n - 1)
    index = np.abs(index) % period
    index = np.where(index >= n, period - index, index)
    return torch.from_numpy(index).to(device)


def _source_grid(to_box: np.ndarray, width: int, height: int, size: int, device: torch.device) -> torch.Tensor:
    """(1, height, width, 2) grid_sample grid (align_corners=False) of the crop points that
    cv2.warpAffine(crop, to_box, (width, height), INTER_LINEAR) samples for each box pixel.

    OpenCV inverts the matrix, steps it in 1/1024 px fixed point (rounded per row and per column) and keeps
    1/32 px for the taps; the same integers are made here, so the taps and weights are OpenCV's."""
    inv = cv2.invertAffineTransform(to_box)
    scale, round_delta = 1 << _AB_BITS, 1 << (_AB_BITS - _INTER_BITS - 1)
    xs, ys = np.arange(width), np.arange(height)
    per_column = [np.rint(inv[i, 0] * xs * scale).astype(np.int64) for i in (0, 1)]
    per_row = [np.rint((inv[i, 1] * ys + inv[i, 2]) * scale).astype(np.int64) + round_delta for i in (0, 1)]
    axes = []
    for column, row in zip(per_column, per_row):
        fixed = (torch.from_numpy(row).to(device)[:, None] + torch.from_numpy(column).to(device)[None, :])
        crop_px = (fixed >> (_AB_BITS - _INTER_BITS)).float() / (1 << _INTER_BITS)
        axes.append((2.0 * crop_px + 1.0) / size - 1.0)  # pixel centre i of S sits at (2i + 1) / S - 1
    return torch.stack(axes, dim=-1)[None]


def _grain(src: torch.Tensor, face: torch.Tensor, seed: int) -> torch.Tensor:
    """paste._grain on (3, h, w) tensors: white noise as strong as the source's finest detail where
    ``face`` > 0.5, drawn from a torch Generator on the source's device seeded with ``seed``."""
    sel = face > 0.5
    if int(sel.sum()) < 64:
        sel = torch.ones_like(sel)
    sel[1::2] = False  # every other row is plenty for a median
    detail = (src - _blur(src, _DETAIL_SIGMA))[:, sel]
    target = 1.4826 * (detail - detail.median(1, keepdim=True).values).abs().median(1).values
    draw = torch.Generator(device=src.device)
    draw.manual_seed(seed)
    noise = torch.randn(src.shape, generator=draw, device=src.device)
    return noise * (target / _HIGH_PASS_GAIN)[:, None, None]
