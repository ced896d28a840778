"""Caps on what a media input may claim, checked from container headers before anything is decoded."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from lipsync_engine.errors import MediaError


@dataclass(frozen=True)
class MediaLimits:
    """Largest input the engine accepts; a header claiming more is refused before decoding.

    The defaults admit 8K frames and three hours of 120 fps video; a daemon may pass tighter ones.
    """

    max_width: int = 8192  # display pixels, after rotation
    max_height: int = 8192
    max_frames: int = 3 * 3600 * 120  # three hours at 120 fps
    max_duration_s: float = 3 * 3600.0
    max_fps: float = 240.0
    max_audio_channels: int = 32

    def check(self, path: object, *, width: int, height: int, frames: int, duration: Fraction, fps: Fraction,
              audio_channels: int | None = None) -> None:
        """Raise MediaError naming the first header value over a limit and the limit itself."""
        checks = (
            ("width", width, self.max_width, "pixels"),
            ("height", height, self.max_height, "pixels"),
            ("frame count", frames, self.max_frames, "frames"),
            ("duration", float(duration), self.max_duration_s, "seconds"),
            ("frame rate", float(fps), self.max_fps, "fps"),
            ("audio channels", audio_channels or 0, self.max_audio_channels, "channels"),
        )
        for name, value, limit, unit in checks:
            if value > limit:
                raise MediaError(
                    f"'{path}' claims a {name} of {value:g} {unit}, over the limit of {limit:g} {unit}; "
                    f"cut or scale the input, or raise MediaLimits.max_{_field(name)}"
                )
        if width <= 0 or height <= 0:
            raise MediaError(f"'{path}' claims a frame size of {width}x{height}; the video stream is unusable")


def _field(name: str) -> str:
    return {"frame count": "frames", "duration": "duration_s", "frame rate": "fps",
            "audio channels": "audio_channels"}.get(name, name)
