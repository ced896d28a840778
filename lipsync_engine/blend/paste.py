"""Paste a generated crop back into the full-resolution frame, touching only the mask's footprint.

What lands in the frame, per pixel of the warped mask m (all float work is inside the mask's bounding box):

    out = frame + m * (G + w * detail - frame),   detail = frame - up(crop(frame))

G is the generated crop, colour-matched to the source, pulled back to it near the mask's edge (below) and
warped up to the frame; ``detail`` is what the
source has above the crop's resolution (film grain, pores, sharpness). Where the generator left the
picture unchanged (w = 1) that detail is kept, so an unchanged crop gives back the frame exactly; where
it drew something new (w -> 0, e.g. an opened mouth) the old detail would ghost, so it is dropped and
replaced by synthetic grain of the same strength measured from the source (weighted sqrt(1 - w^2), so
the mix keeps the source's fine-detail variance). Pixels where m is 0 are copied bit for bit.

Near the mask's outline the generated crop is corrected toward the source by the low-passed difference:

    G <- G - r * blur(G - crop(frame)),   r = 1 at the outline, smoothly 0 at ``edge_reach`` inside it

The renderer repaints the whole lower face from a reference, so on the cheeks and the face's outline its
colour differs from the frame's by a smooth smear (background or clothes brought in where the reference's
silhouette lay); one gain and offset for the whole edge cannot follow it, and it read as a seam at the
mask's soft edge; so did its smeared texture (beard, skin pores). The low pass is about one crop pixel
wide, so both go near the outline, and the lips and chin lie beyond ``edge_reach`` (lip corners are
0.12-0.18 of S from the outline, the chin further), so the mouth's own change is kept (eval/HISTORY.md
has the measured trade). A jaw edge the generator moved is pulled back too where it comes within reach of
the outline: the cost of keeping the outline free of seams.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from lipsync_engine.errors import InputError
from lipsync_engine.faces.align import Alignment


@dataclass(frozen=True)
class PasteConfig:
    """How the generated pixels are fitted to the source."""

    colour_match: bool = True  # per-channel gain/offset fitted in the mask's soft edge
    max_gain: float = 1.25  # colour gain is limited to [1/max_gain, max_gain]
    # Generated minus source, as a fraction of full scale: below ``unchanged`` the source detail is kept
    # whole (covers 8-bit and fp16 rounding), above ``changed`` it is replaced by grain, linear between.
    unchanged: float = 0.02
    changed: float = 0.06
    grain: bool = True  # synthetic grain where the source detail had to be dropped
    # Edge correction (module docstring), fractions of the crop side S: how far inside the mask's outline
    # the generated colour is pulled back to the source's, and the Gaussian sigma of that low pass; reach
    # 0 turns it off. A sigma of about 1 crop pixel (0.005) pulls back the smeared texture too, not only
    # the colour: full eval, seam step 7.0 / 7.5 -> 5.9 / 6.4 and edge ratio 1.13 / 1.12 -> 1.08 / 1.07 against
    # sigma 0.02, with the same sync; a wider reach cost sync (docs/faces.md, "Blend").
    edge_reach: float = 0.18
    edge_sigma: float = 0.005


def paste(
    frame: np.ndarray,
    generated_crop: np.ndarray,
    alignment: Alignment,
    mask: np.ndarray,
    strength: float = 1.0,
    config: PasteConfig = PasteConfig(),
    *,
    inplace: bool = False,
) -> np.ndarray:
    """Blend a generated (S, S, 3) RGB crop into an HxWx3 uint8/uint16 frame; returns the blended frame.

    ``alignment`` is the frame -> crop similarity the crop was made with, ``mask`` (S, S) float32 in [0, 1]
    from ``lower_face_mask``, ``strength`` in [0, 1] scales it (fades at the edges of a passthrough). The
    crop is uint8 (scaled up for a uint16 frame) or of the frame's dtype. Pixels where the warped mask
    is 0 are bit-identical to ``frame``. ``inplace=True`` writes into ``frame`` and returns it (saves a
    full-frame copy, which dominates at 4K); otherwise ``frame`` is left untouched.
    """
    size = alignment.size
    _check(frame, generated_crop, mask, size)
    peak = float(np.iinfo(frame.dtype).max)
    out = frame if inplace else frame.copy()
    m = _crop_weight(mask, strength)
    box = _frame_box(m, alignment, frame.shape)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    source = alignment.crop(frame).astype(np.float32)
    gen = generated_crop.astype(np.float32) * (peak / np.iinfo(generated_crop.dtype).max)
    if config.colour_match:
        gen = _match_colour(gen, source, m, config.max_gain)
    if config.edge_reach > 0.0:
        low = cv2.GaussianBlur(gen - source, (0, 0), _edge_sigma(config, size))
        gen -= _edge_weight(m, config.edge_reach * size)[..., None] * low
    change = np.abs(gen - source).max(2)
    change = cv2.GaussianBlur(change, (0, 0), _change_sigma(size))
    keep = np.clip((config.changed * peak - change) / ((config.changed - config.unchanged) * peak), 0.0, 1.0)
    to_box = _box_matrix(alignment, box)
    dsize = (x1 - x0, y1 - y0)

    def warp(img: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(img, to_box, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0)

    mk = warp(np.dstack([m, keep]))
    m_up, keep_up = mk[..., 0], mk[..., 1]
    region = out[y0:y1, x0:x1]
    blended = region.astype(np.float32)
    grain = _grain(blended, m_up, region) if config.grain and keep.min() < 1.0 else None
    delta = warp(gen - keep[..., None] * source)  # up(G) - w * up(crop(frame)), linear in the warp
    blended *= (1.0 - m_up * (1.0 - keep_up))[..., None]
    delta *= m_up[..., None]
    blended += delta
    if grain is not None:
        # w * detail + sqrt(1 - w^2) * grain keeps the fine-detail variance where the two are mixed.
        grain *= (m_up * np.sqrt(1.0 - keep_up * keep_up))[..., None]
        blended += grain
    np.clip(blended, 0.0, peak, out=blended)
    np.copyto(region, np.rint(blended).astype(frame.dtype), where=(m_up > 0.0)[..., None])
    return out


def _check(frame: np.ndarray, crop: np.ndarray, mask: np.ndarray, size: int) -> None:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype not in (np.uint8, np.uint16):
        raise InputError(f"frame must be HxWx3 uint8 or uint16, got {frame.shape} {frame.dtype}")
    if crop.shape != (size, size, 3) or crop.dtype not in (np.uint8, frame.dtype):
        raise InputError(f"generated crop must be ({size}, {size}, 3) uint8 or {frame.dtype}, "
                         f"got {crop.shape} {crop.dtype}")
    if mask.shape != (size, size):
        raise InputError(f"mask must be ({size}, {size}), got {mask.shape}")


def _crop_weight(mask: np.ndarray, strength: float) -> np.ndarray:
    """The (S, S) float32 blend weight in crop pixels: ``mask`` scaled by ``strength``, 0 on the crop's border."""
    m = np.clip(mask.astype(np.float32) * float(strength), 0.0, 1.0)
    m[[0, -1], :] = 0.0  # nothing from the crop's outermost pixels: the warp beyond them has no source
    m[:, [0, -1]] = 0.0
    return m


def _edge_weight(m: np.ndarray, reach: float) -> np.ndarray:
    """(S, S) float32 share of the low-passed difference taken out of the generated crop: 1 at the outline
    of the blend weight ``m`` (and outside it), smoothstep down to 0 at ``reach`` crop pixels inside it."""
    inside = cv2.distanceTransform((m > 0.0).astype(np.uint8), cv2.DIST_L2, 5)
    t = np.clip(inside / max(reach, 1.0), 0.0, 1.0)
    return (1.0 - t * t * (3.0 - 2.0 * t)).astype(np.float32)


def _edge_sigma(config: PasteConfig, size: int) -> float:
    """Sigma (crop pixels) of the low pass in the edge correction."""
    return max(config.edge_sigma * size, 0.5)


def _change_sigma(size: int) -> float:
    """Sigma (crop pixels) of the Gaussian blur of the generated-minus-source change map."""
    return max(size / 128.0, 0.5)


def _box_matrix(alignment: Alignment, box: tuple[int, int, int, int]) -> np.ndarray:
    """The crop -> frame matrix shifted to the box origin: warps into the box only."""
    to_box = alignment.inverse.copy()
    to_box[:, 2] -= box[:2]
    return to_box


def _frame_box(m: np.ndarray, alignment: Alignment, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """Frame-pixel box (x0, y0, x1, y1), exclusive ends, that holds every pixel the warped mask reaches."""
    ys, xs = np.nonzero(m > 0.0)
    if len(xs) == 0:
        return None
    corners = np.array([[xs.min() - 1, ys.min() - 1], [xs.max() + 1, ys.min() - 1],
                        [xs.min() - 1, ys.max() + 1], [xs.max() + 1, ys.max() + 1]], dtype=np.float64)
    pts = alignment.to_frame(corners)
    h, w = shape[:2]
    x0, y0 = max(0, int(np.floor(pts[:, 0].min())) - 1), max(0, int(np.floor(pts[:, 1].min())) - 1)
    x1, y1 = min(w, int(np.ceil(pts[:, 0].max())) + 2), min(h, int(np.ceil(pts[:, 1].max())) + 2)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _match_colour(gen: np.ndarray, source: np.ndarray, m: np.ndarray, max_gain: float) -> np.ndarray:
    """Per-channel gain and offset that make the generated crop's soft mask edge match the source's."""
    ring = (m > 0.0) & (m < 0.999)
    if ring.sum() < 16:
        return gen
    g, s = gen[ring], source[ring]
    g_mean, s_mean = g.mean(0), s.mean(0)
    gain = np.clip(s.std(0) / np.maximum(g.std(0), 1e-6), 1.0 / max_gain, max_gain).astype(np.float32)
    return (gen - g_mean) * gain + s_mean


_DETAIL_SIGMA = 1.0  # the source's finest detail, for the grain's strength: minus a Gaussian blur of this sigma


def _grain(src: np.ndarray, face: np.ndarray, region: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 white noise as strong as the source's finest detail: its high-pass (minus a 1 px
    Gaussian blur) has the per-channel robust std of the source's high-pass where ``face`` > 0.5. Seeded
    from the pixels, so the same input gives the same take while each frame gets its own grain."""
    sel = face > 0.5
    if sel.sum() < 64:
        sel = np.ones(sel.shape, dtype=bool)
    sel[1::2] = False  # every other row is plenty for a median
    detail = (src - cv2.GaussianBlur(src, (0, 0), _DETAIL_SIGMA))[sel]
    target = 1.4826 * np.median(np.abs(detail - np.median(detail, 0)), 0)
    rng = np.random.default_rng(_grain_seed(region))
    noise = rng.standard_normal(src.shape, dtype=np.float32)
    noise *= (target / _HIGH_PASS_GAIN).astype(np.float32)
    return noise


def _grain_seed(region: np.ndarray) -> int:
    """The grain's seed: a checksum of the frame box's pixels (a sparse grid of them is enough)."""
    return zlib.crc32(region[::7, ::7].tobytes())


def _gaussian_ksize(sigma: float) -> int:
    """The kernel size OpenCV's GaussianBlur((0, 0), sigma) picks for a float image."""
    return int(np.rint(sigma * 8 + 1)) | 1


def _high_pass_gain() -> float:
    """Std of (n - blur(n)) for unit white noise n and the 1 px Gaussian blur used in ``_grain``."""
    ksize = _gaussian_ksize(_DETAIL_SIGMA)
    k = cv2.getGaussianKernel(ksize, _DETAIL_SIGMA, cv2.CV_64F)  # the kernel GaussianBlur((0, 0), sigma) uses
    impulse = -np.outer(k, k)
    impulse[ksize // 2, ksize // 2] += 1.0
    return float(np.sqrt((impulse ** 2).sum()))


_HIGH_PASS_GAIN = _high_pass_gain()
