"""The mouth region the sync expert looks at: a fixed box of the aligned face crop, in grayscale.

The aligned crop (``faces.align.align_face(points, S)``) puts the mouth near y = 0.63 S with its
corners near x = 0.5 +/- 0.125 S, so a fixed box holds the lips and chin on every frame.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

MOUTH_ROWS = (0.48, 0.88)  # top, bottom of the mouth box as fractions of the crop side
MOUTH_COLS = (0.22, 0.78)  # left, right
MOUTH_HW = (48, 64)  # (height, width) of the grayscale mouth image the expert sees
_LUMA = (0.299, 0.587, 0.114)


def mouth_box(size: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) pixel bounds of the mouth box in a ``size`` x ``size`` crop."""
    return (round(MOUTH_ROWS[0] * size), round(MOUTH_ROWS[1] * size),
            round(MOUTH_COLS[0] * size), round(MOUTH_COLS[1] * size))


def mouth_stack_from_crops(crops: torch.Tensor, hw: tuple[int, int] = MOUTH_HW) -> torch.Tensor:
    """Differentiable mouth images of aligned crops.

    crops: (B, T, 3, S, S) float RGB in [0, 1] (T consecutive frames, usually 5) -> (B, T, H, W) float
    grayscale in [0, 1], H x W = ``hw``. Gradients flow back to the crops.
    """
    if crops.ndim != 5 or crops.shape[2] != 3:
        raise ValueError(f"crops must be (B, T, 3, S, S), got {tuple(crops.shape)}")
    b, t, _, s, _ = crops.shape
    top, bottom, left, right = mouth_box(s)
    region = crops[:, :, :, top:bottom, left:right]
    luma = torch.tensor(_LUMA, dtype=crops.dtype, device=crops.device).view(1, 1, 3, 1, 1)
    gray = (region * luma).sum(dim=2).reshape(b * t, 1, bottom - top, right - left)
    small = F.interpolate(gray, size=hw, mode="bilinear", align_corners=False, antialias=True)
    return small.reshape(b, t, *hw).clamp(0.0, 1.0)


def mouth_images(crops: np.ndarray, hw: tuple[int, int] = MOUTH_HW, batch: int = 256) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB aligned crops -> (N, H, W) uint8 grayscale mouth images (same resampling)."""
    out = np.empty((len(crops), *hw), dtype=np.uint8)
    with torch.no_grad():
        for i in range(0, len(crops), batch):
            chunk = torch.from_numpy(np.ascontiguousarray(crops[i:i + batch])).permute(0, 3, 1, 2).float() / 255.0
            small = mouth_stack_from_crops(chunk[None], hw)[0]
            out[i:i + batch] = (small * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).numpy()
    return out
