"""Keep the renderer's colours among the colours the actor's own pictures show.

The renderer adds its correction to the reference in logit space, per channel. Where the reference is
dark and saturated (an open mouth's shadow) and the wanted mouth is closed, that brightening stretches
the channels apart and paints a lipstick-red or magenta stroke that no frame of the actor has. Such
strokes are rare (about 0.5% of the repainted pixels on the eval's takes) but they are what a viewer sees
first. ``clamp_to_gamut`` lists the colours present in the target crop and its references under the repaint
mask (an RGB grid of GAMUT_BINS cells a side) and moves each generated pixel that lies more than
GAMUT_TOLERANCE cells from every listed colour to the edge of that reach of the nearest listed colour; every
other pixel is untouched. The references carry the mouth the wanted shape needs (teeth, tongue, lips), so
those colours stay available.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

GAMUT_BINS = 32  # grid cells per RGB channel (8 levels of 255 each)
GAMUT_TOLERANCE = 1.0  # cells a generated colour may lie from every listed one before it is moved


def clamp_to_gamut(painted: np.ndarray, seen: list[np.ndarray], region: np.ndarray) -> np.ndarray:
    """(S, S, 3) float ``painted`` in [0, 1] with its pixels in ``region`` ((S, S) bool) pulled into the
    gamut of the ``seen`` (S, S, 3) images (same scale) in that region; a new array, or ``painted`` itself
    when nothing had to move."""
    if not region.any():
        return painted
    grid = colour_grid([image[region] for image in seen])
    distance, nearest = ndimage.distance_transform_edt(~grid, return_indices=True)
    pixels = painted[region]
    cells = colour_cells(pixels)
    far = distance[tuple(cells.T)] > GAMUT_TOLERANCE
    if not far.any():
        return painted
    home = nearest[(slice(None), *cells[far].T)].T  # (k, 3) the nearest listed cell of each far pixel
    low, high = (home - GAMUT_TOLERANCE) / GAMUT_BINS, (home + 1 + GAMUT_TOLERANCE) / GAMUT_BINS
    pixels[far] = np.clip(pixels[far], low, high)
    out = painted.copy()
    out[region] = pixels
    return out


def colour_grid(colours: list[np.ndarray]) -> np.ndarray:
    """(GAMUT_BINS,) * 3 bool grid: the cells any of the (k, 3) colour lists (in [0, 1]) falls in."""
    grid = np.zeros((GAMUT_BINS,) * 3, bool)
    for listed in colours:
        grid[tuple(colour_cells(listed).T)] = True
    return grid


def colour_cells(pixels: np.ndarray) -> np.ndarray:
    """(k, 3) grid cells of (k, 3) colours in [0, 1]."""
    return np.clip((pixels * GAMUT_BINS).astype(np.int64), 0, GAMUT_BINS - 1)
