"""Real face frames for the faces and blend tests, cut from ../shared/data clips with PyAV at test time."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import media_factory

CLIPS = Path(__file__).resolve().parents[2] / "../shared/data" / "clips"

needs_clips = pytest.mark.skipif(not (CLIPS / "MANIFEST.csv").is_file(),
                                 reason=f"development clips not found at {CLIPS.resolve()} (shared/ beside the repo)")


def clip_frames(name: str, count: int, start: int = 0) -> list[np.ndarray]:
    """Frames ``start`` .. ``start + count - 1`` of clip ``name`` (all clips are 25 fps) as HxWx3 uint8 RGB."""
    return media_factory.clip_frames(CLIPS / name, start=start / 25, count=count)


def on_canvas(rgb: np.ndarray, size: tuple[int, int], height_fraction: float, x_centre: float = 0.5,
              background: int = 90) -> np.ndarray:
    """``rgb`` scaled to ``height_fraction`` of a (w, h) grey canvas, centred at ``x_centre`` of its width."""
    w, h = size
    canvas = np.full((h, w, 3), background, dtype=np.uint8)
    side = max(2, round(h * height_fraction))
    scaled = cv2.resize(rgb, (round(side * rgb.shape[1] / rgb.shape[0]), side), interpolation=cv2.INTER_AREA)
    y0 = (h - scaled.shape[0]) // 2
    x0 = min(max(0, round(w * x_centre - scaled.shape[1] / 2)), w - scaled.shape[1])
    canvas[y0:y0 + scaled.shape[0], x0:x0 + scaled.shape[1]] = scaled
    return canvas


@pytest.fixture(scope="module")
def landmarker():
    """One FaceLandmarker per test module (import this fixture by name)."""
    from lipsync_engine.faces import FaceLandmarker

    with FaceLandmarker() as lm:
        yield lm
