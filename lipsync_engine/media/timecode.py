"""SMPTE timecode arithmetic: the timecode of a frame some frames after a known one.

A take of a range of a shot carries the source timecode of the range's first frame, so an editor can
conform it. Timecodes count frames at the nominal integer rate (24 for 24000/1001); drop-frame
timecode (``;`` or ``.`` before the frames, 30000/1001 and 60000/1001 only) skips frame numbers 0 and
1 (0-3 at 60) at the start of every minute except each tenth. The count wraps at 24 hours.
"""
from __future__ import annotations

import re
from fractions import Fraction

from lipsync_engine.errors import MediaError

_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def offset_timecode(timecode: str, frames: int, fps: Fraction) -> str:
    """The timecode ``frames`` frames after ``timecode`` of a ``fps`` stream, in the same notation.

    Raises MediaError for a timecode that is not ``HH:MM:SS:FF`` (or ``;FF`` drop-frame) at this rate.
    """
    number, base, drop, separator, width = _parse(timecode, fps)
    day = _to_frames(24, 0, 0, 0, base, drop)
    return _to_timecode((number + frames) % day, base, drop, separator, width)


def timecode_frames(timecode: str, fps: Fraction | float) -> int:
    """Frames from 00:00:00:00 to ``timecode`` at ``fps`` (86400 for 01:00:00:00 at 24 or 23.976 fps)."""
    return _parse(timecode, fps)[0]


def _parse(timecode: str, fps: Fraction | float) -> tuple[int, int, bool, str, int]:
    """(frame number, frames per second counted, drop-frame, separator before the frames, their digits)."""
    match = _TIMECODE.match(timecode.strip())
    base = max(1, round(fps))
    if match is None:
        raise MediaError(f"the source timecode '{timecode}' is not HH:MM:SS:FF; re-wrap the shot with a valid "
                         f"start timecode")
    hours, minutes, seconds, separator, frame = match.groups()
    drop = separator in ";." and base % 30 == 0
    values = (int(hours), int(minutes), int(seconds), int(frame))
    if values[1] > 59 or values[2] > 59 or values[3] >= base:
        raise MediaError(f"the source timecode '{timecode}' is out of range for {base} frames per second")
    return _to_frames(*values, base, drop), base, drop, separator, len(frame)


def _dropped_per_minute(base: int) -> int:
    return base // 15  # 2 at 30 fps, 4 at 60 fps


def _to_frames(hours: int, minutes: int, seconds: int, frame: int, base: int, drop: bool) -> int:
    count = ((hours * 60 + minutes) * 60 + seconds) * base + frame
    if drop:
        total_minutes = hours * 60 + minutes
        count -= _dropped_per_minute(base) * (total_minutes - total_minutes // 10)
    return count


def _to_timecode(number: int, base: int, drop: bool, separator: str, width: int) -> str:
    if drop:
        dropped = _dropped_per_minute(base)
        per_ten_minutes = base * 600 - dropped * 9
        per_minute = base * 60 - dropped
        tens, rest = divmod(number, per_ten_minutes)
        number += dropped * 9 * tens + (dropped * ((rest - dropped) // per_minute) if rest >= dropped else 0)
    frame = number % base
    seconds = number // base
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{separator}{frame:0{width}d}"
