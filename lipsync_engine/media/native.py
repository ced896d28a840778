"""The source's own decoded samples, kept so a take re-encodes them instead of an RGB round trip.

Converting a YUV frame to RGB and back is not lossless (chroma is resampled, the matrix rounds), so a
take written from RGB alone differs from its source by a few levels on most pixels even where nothing
was edited. The reader can hand over the decoded ``av.VideoFrame`` of planar YUV sources
(:data:`NATIVE_FORMATS`); the writer encodes those samples as they are and replaces them only in the
:class:`ChangedRegion`: luma where a pixel changed, chroma for every subsampled block that touches a
changed pixel, converted from RGB with the take's own matrix and range.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

# Planar YUV layouts the writer can keep sample for sample (8, 10 and 12 bits, 4:2:0 / 4:2:2 / 4:4:4).
NATIVE_FORMATS = frozenset(f"yuv{chroma}p{depth}" for chroma in ("420", "422", "444") for depth in ("", "10le", "12le"))
# Extra source pixels around the changed blocks given to the RGB -> YUV conversion, so its chroma filter
# sees the same neighbours it would in a whole frame (swscale's filters reach at most a few pixels).
CONVERSION_MARGIN = 8


@dataclass(frozen=True)
class ChangedRegion:
    """Where an RGB frame differs from the source frame it was read as.

    mask: (h, w) bool, True where the pixel changed; it covers frame pixels [y0, y0 + h) x [x0, x0 + w).
    """

    x0: int
    y0: int
    mask: np.ndarray

    @staticmethod
    def between(before: np.ndarray, after: np.ndarray, x0: int, y0: int) -> ChangedRegion | None:
        """The changes from ``before`` to ``after`` (two HxWx3 crops of one frame at x0, y0), trimmed to
        their bounding box; None when the two are equal."""
        changed = np.any(before != after, axis=2)
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        if len(rows) == 0:
            return None
        return ChangedRegion(x0 + int(cols[0]), y0 + int(rows[0]),
                             changed[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def keeps_native(frame: av.VideoFrame) -> bool:
    """True when ``frame``'s samples can be written back as they are (a planar YUV layout the writer keeps)."""
    return frame.format.name in NATIVE_FORMATS


def patch_native(native: av.VideoFrame, rgb: np.ndarray, region: ChangedRegion,
                 convert: Callable[[av.VideoFrame], av.VideoFrame]) -> av.VideoFrame:
    """Write the changed pixels of ``rgb`` (HxWx3, rgb24 uint8 or rgb48le uint16) into ``native``'s planes.

    ``convert`` turns an RGB frame into ``native``'s pixel format with the take's matrix and range (the
    writer's own conversion, so the patch and a whole converted frame agree). Only a box around the
    region is converted. ``native`` is made writable first (copied if a decoder still references it)
    and returned with the patch applied.
    """
    height, width = rgb.shape[:2]
    sub_x, sub_y = _subsampling(native.format)
    mask_h, mask_w = region.mask.shape
    # the changed pixels' chroma blocks, then the conversion box around them (block-aligned on the left/top)
    bx0, by0 = region.x0 - region.x0 % sub_x, region.y0 - region.y0 % sub_y
    bx1, by1 = min(width, _ceil_to(region.x0 + mask_w, sub_x)), min(height, _ceil_to(region.y0 + mask_h, sub_y))
    cx0, cy0 = max(0, bx0 - CONVERSION_MARGIN), max(0, by0 - CONVERSION_MARGIN)
    cx1, cy1 = min(width, bx1 + CONVERSION_MARGIN), min(height, by1 + CONVERSION_MARGIN)
    box_rgb = np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1])
    converted = convert(av.VideoFrame.from_ndarray(box_rgb, format="rgb24" if rgb.dtype == np.uint8 else "rgb48le"))
    native.make_writable()
    dtype = np.uint16 if native.format.components[0].bits > 8 else np.uint8
    luma, box_luma = _plane(native, 0, dtype), _plane(converted, 0, dtype)
    ry, rx = region.y0 - cy0, region.x0 - cx0
    np.copyto(luma[region.y0:region.y0 + mask_h, region.x0:region.x0 + mask_w],
              box_luma[ry:ry + mask_h, rx:rx + mask_w], where=region.mask)
    blocks = _touched_blocks(region, bx0, by0, bx1, by1, sub_x, sub_y)
    px0, py0, qx0, qy0 = bx0 // sub_x, by0 // sub_y, (bx0 - cx0) // sub_x, (by0 - cy0) // sub_y
    bh, bw = blocks.shape
    for index in (1, 2):
        np.copyto(_plane(native, index, dtype)[py0:py0 + bh, px0:px0 + bw],
                  _plane(converted, index, dtype)[qy0:qy0 + bh, qx0:qx0 + bw], where=blocks)
    return native


def _touched_blocks(region: ChangedRegion, bx0: int, by0: int, bx1: int, by1: int,
                    sub_x: int, sub_y: int) -> np.ndarray:
    """(blocks high, blocks wide) bool over the block-aligned box [by0, by1) x [bx0, bx1): True for every
    chroma block holding a changed pixel (a frame edge block may be partial)."""
    padded = np.zeros((_ceil_to(by1 - by0, sub_y), _ceil_to(bx1 - bx0, sub_x)), dtype=bool)
    mask_h, mask_w = region.mask.shape
    padded[region.y0 - by0:region.y0 - by0 + mask_h, region.x0 - bx0:region.x0 - bx0 + mask_w] = region.mask
    rows, cols = padded.shape[0] // sub_y, padded.shape[1] // sub_x
    return padded.reshape(rows, sub_y, cols, sub_x).any(axis=(1, 3))


def _subsampling(fmt: av.VideoFormat) -> tuple[int, int]:
    """(horizontal, vertical) luma pixels per chroma sample: (2, 2) for 4:2:0, (2, 1) for 4:2:2, (1, 1) for 4:4:4."""
    return 64 // fmt.chroma_width(64), 64 // fmt.chroma_height(64)


def _plane(frame: av.VideoFrame, index: int, dtype: type) -> np.ndarray:
    """A writable (rows, samples) view of one plane of ``frame``, without the line padding."""
    plane = frame.planes[index]
    item = np.dtype(dtype).itemsize
    rows = np.frombuffer(plane, dtype=dtype).reshape(-1, plane.line_size // item)
    return rows[:plane.height, :plane.width]


def _ceil_to(value: int, step: int) -> int:
    return -(-value // step) * step
