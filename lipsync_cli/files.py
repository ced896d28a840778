"""Images and text files the CLI reads and writes (writes are atomic: temp beside, fsync, replace)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lipsync_engine.errors import MediaError, OutputError
from lipsync_engine.media.atomic import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def read_image(path: Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (alpha dropped, 16-bit scaled to 8-bit)."""
    if not path.is_file():
        raise MediaError(f"image file not found: '{path}'; pass a PNG, JPEG or TIFF file")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise MediaError(f"'{path}' is not a readable image (damaged or unsupported); pass a PNG, JPEG or TIFF file")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write HxWx3 uint8 RGB atomically; the format follows the extension."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise OutputError(f"output image '{path}' has no image extension; use one of {', '.join(IMAGE_SUFFIXES)}")
    ok, encoded = cv2.imencode(path.suffix.lower(), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"cannot encode the image as '{path.suffix}'; use .png")
    write_bytes(path, encoded.tobytes())


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as temp:
        temp.write_bytes(data)
