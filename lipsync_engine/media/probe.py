"""Probe a video file: size, exact frame rate, frame count, timing, colour tags, timecode, audio.

Everything comes from the container header and one pass over the packets (demuxed, not decoded),
except rotation, which needs the first decoded frame. Limits are checked from the header before
any of that. A probe may describe a range of the file's frames instead of the whole file (a clip's
source range on a timeline): read_frames then decodes only that range and a take of it is a file of
its own, starting at the file's start time with the source timecode of the range's first frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lipsync_engine.errors import InputError, MediaError
from lipsync_engine.media.colour import COLOR_PRIMARIES, COLOR_RANGE, COLOR_SPACE, COLOR_TRC, name_of
from lipsync_engine.media.limits import MediaLimits
from lipsync_engine.media.opening import open_media, picture_stream
from lipsync_engine.media.timecode import offset_timecode

# Broadcast rates a float rate snaps to when it is within 0.05 % of one of them.
STANDARD_RATES = tuple(Fraction(n, d) for n, d in (
    (24000, 1001), (24, 1), (25, 1), (30000, 1001), (30, 1), (48, 1), (50, 1), (60000, 1001), (60, 1),
    (100, 1), (120000, 1001), (120, 1)))
TRUNCATION_SLACK_FRAMES = 2  # header duration may overstate the packets by this much


@dataclass(frozen=True)
class VideoInfo:
    """What the engine knows of a video (or of a range of its frames) before decoding it.

    Times are exact rationals in seconds. For a range, frame_count, duration and timecode are the
    range's, and the range is placed at the file's start time: its frame 0 is the file's frame
    ``first_frame``, which the file shows ``range_start`` seconds after its own first frame.
    """

    path: str
    width: int  # display size: rotation applied
    height: int
    rotation: int  # 0/90/180/270, counter-clockwise turn read_frames applies to make frames upright
    fps: Fraction  # nominal rate, e.g. 24000/1001; the mean rate for VFR input
    time_base: Fraction  # of the stream's timestamps
    frame_count: int
    duration: Fraction  # from the first frame's start to the last frame's end
    codec: str  # FFmpeg decoder name: h264, hevc, prores, ffv1, ...
    pix_fmt: str  # e.g. yuv420p, yuv422p10le, gbrp10le
    bit_depth: int  # bits per component: 8, 10, 12, 16
    color_range: str | None  # "tv" / "pc"
    color_space: str | None  # "bt709", "bt2020nc", ...
    color_primaries: str | None
    color_trc: str | None
    timecode: str | None  # timecode of frame 0, e.g. "01:00:00:00" or drop-frame "00:59:59;28"
    is_vfr: bool  # frame durations differ: per-frame pts must be kept
    has_audio: bool
    audio_rate: int | None
    audio_channels: int | None
    start_time: Fraction = Fraction(0)  # pts of the file's first frame, seconds
    container: str = ""  # demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    first_frame: int = 0  # index in the file of frame 0 here (0 unless a range was probed)
    range_start: Fraction = Fraction(0)  # seconds from the file's first frame to frame 0 here

    @property
    def frame_duration(self) -> Fraction:
        """Nominal seconds per frame, 1 / fps."""
        return 1 / self.fps


def probe_video(path: str | Path, limits: MediaLimits = MediaLimits(), *,
                frame_range: tuple[int, int] | None = None) -> VideoInfo:
    """Probe ``path``; raise MediaError for a missing, non-media, video-less, truncated, empty or
    over-limit file. Reads the packets once (no decoding) to count frames and detect VFR.

    ``frame_range``: (first frame, frame count), 0-based in presentation order, to describe only those
    frames of the file; InputError when it is not inside the file. Limits apply to the whole file.
    """
    with open_media(path, MediaError, "video") as container:
        stream = picture_stream(container)
        if stream is None:
            raise MediaError(f"'{path}' has no video stream (cover art does not count); pass a video file "
                             f"(.mov, .mp4, .mkv)")
        ctx = stream.codec_context
        if ctx.pix_fmt is None or not ctx.width:
            raise MediaError(f"'{path}': the video codec '{ctx.name}' could not be read; the file is damaged "
                             f"or uses a codec this build cannot decode")
        header_rate = _header_rate(stream)
        header_duration = _header_duration(container, stream)
        header_frames = stream.frames or int(round(header_duration * header_rate))
        audio = container.streams.audio[0] if container.streams.audio else None
        audio_channels = audio.codec_context.channels if audio is not None else None
        limits.check(path, width=ctx.width, height=ctx.height, frames=header_frames, duration=header_duration,
                     fps=header_rate, audio_channels=audio_channels)
        timecode = _timecode(container)
        pts = _packet_pts(container, stream, limits.max_frames, path)
        # read while the container is open: closing it frees the AVStream these fields live in
        stored_frames, time_base = stream.frames, Fraction(stream.time_base)
    if pts.size == 0:
        raise MediaError(f"'{path}' has a video stream with no frames; pass a video with at least one frame")
    deltas = np.diff(pts)
    is_vfr = _is_vfr(deltas)
    # a VFR header rate is the finest tick, not the mean rate: only the frame count can be compared
    _check_complete(path, pts.size, stored_frames, header_duration, Fraction(0) if is_vfr else header_rate)
    span = (int(pts[-1] - pts[0]) + int(np.median(deltas))) * time_base if deltas.size else Fraction(0)
    fps = _snap_rate(pts.size / span) if (is_vfr or header_rate <= 0) and span > 0 else header_rate
    if fps <= 0:
        raise MediaError(f"'{path}' has no usable frame rate; re-wrap it with a constant frame rate")
    first, count = _check_range(path, frame_range, int(pts.size))
    if is_vfr:  # the range's span: up to the next frame's start, or the median frame duration at the end
        end = int(pts[first + count]) if first + count < pts.size else int(pts[-1]) + int(np.median(deltas))
        duration = (end - int(pts[first])) * time_base
    else:
        duration = count / fps
    rotation, decoded = _first_frame_rotation(path)
    width, height = (ctx.height, ctx.width) if rotation in (90, 270) else (ctx.width, ctx.height)
    pix_fmt = decoded.format.name
    return VideoInfo(
        path=str(path), width=width, height=height, rotation=rotation, fps=fps, time_base=time_base,
        frame_count=count, duration=duration, codec=ctx.name, pix_fmt=pix_fmt,
        bit_depth=max(c.bits for c in decoded.format.components),
        color_range=name_of(COLOR_RANGE, decoded.color_range),
        color_space=name_of(COLOR_SPACE, decoded.colorspace) if not decoded.format.is_rgb else None,
        color_primaries=name_of(COLOR_PRIMARIES, decoded.color_primaries),
        color_trc=name_of(COLOR_TRC, decoded.color_trc),
        timecode=offset_timecode(timecode, first, fps) if timecode and first else timecode, is_vfr=is_vfr,
        has_audio=audio is not None, audio_rate=audio.codec_context.sample_rate if audio else None,
        audio_channels=audio_channels, start_time=Fraction(int(pts[0])) * time_base,
        container=container.format.name, first_frame=first, range_start=(int(pts[first]) - int(pts[0])) * time_base,
    )


def _check_range(path: object, frame_range: tuple[int, int] | None, frames: int) -> tuple[int, int]:
    """(first, count) of ``frame_range`` inside a file of ``frames`` frames; the whole file for None."""
    if frame_range is None:
        return 0, frames
    first, count = (int(v) for v in frame_range)
    if count < 1:
        raise InputError(f"the video range of '{path}' has {count} frames; a range needs at least one frame")
    if first < 0 or first + count > frames:
        raise InputError(f"the video range {first}-{first + count - 1} (first frame {first}, {count} frames) is "
                         f"outside '{path}', which has frames 0-{frames - 1}; pick a range inside the shot")
    return first, count


def _header_rate(stream: av.video.stream.VideoStream) -> Fraction:
    for rate in (stream.base_rate, stream.average_rate, stream.guessed_rate):
        if rate and 0 < rate < 10_000:
            return _snap_rate(Fraction(rate))
    return Fraction(0)


def _snap_rate(rate: Fraction) -> Fraction:
    for standard in STANDARD_RATES:
        if abs(rate - standard) <= standard * Fraction(5, 10_000):
            return standard
    return rate.limit_denominator(1001)


def _header_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Fraction:
    if stream.duration:
        return Fraction(stream.duration) * Fraction(stream.time_base)
    if container.duration:
        return Fraction(container.duration, av.time_base)
    return Fraction(0)


def _timecode(container: av.container.InputContainer) -> str | None:
    """Start timecode from the video stream, a timecode (tmcd) track or the container's metadata."""
    sources = [s.metadata for s in container.streams.video] + [s.metadata for s in container.streams.data]
    for metadata in sources + [container.metadata]:
        for key, value in metadata.items():
            if key.lower() == "timecode" and value:
                return value
    return None


def _packet_pts(container: av.container.InputContainer, stream: av.video.stream.VideoStream, max_frames: int,
                path: object) -> np.ndarray:
    """Sorted presentation timestamps (stream time base) of every video packet, by demuxing only."""
    stamps: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:
                continue
            stamps.append(packet.pts if packet.pts is not None else (packet.dts if packet.dts is not None else -1))
            if len(stamps) > max_frames:
                raise MediaError(f"'{path}' holds more than {max_frames} frames, over MediaLimits.max_frames; "
                                 f"cut the shot or raise the limit")
    except av.FFmpegError as exc:
        raise MediaError(f"'{path}' is damaged after frame {len(stamps) - 1} ({exc}); re-export the file") from exc
    pts = np.asarray(stamps, dtype=np.int64)
    if pts.size and (pts < 0).any() and (pts == -1).all():
        return np.arange(pts.size, dtype=np.int64)  # no timestamps at all: frame index
    return np.sort(pts)


def _check_complete(path: object, packets: int, header_frames: int, header_duration: Fraction,
                    rate: Fraction) -> None:
    expected = header_frames or (int(header_duration * rate) if rate else 0)
    if expected - packets > (0 if header_frames else TRUNCATION_SLACK_FRAMES):
        raise MediaError(
            f"'{path}' is truncated: its header promises {expected} frames but only {packets} are in the file "
            f"(the last complete frame is {packets - 1}); copy the file again or re-export it")


def _is_vfr(deltas: np.ndarray) -> bool:
    if deltas.size < 2:
        return False
    median = float(np.median(deltas))
    slack = max(2.0, 0.02 * median)  # millisecond time bases round 30000/1001 fps to 33/34 ms
    return bool(deltas.max() - deltas.min() > slack)


def _first_frame_rotation(path: object) -> tuple[int, av.VideoFrame]:
    with open_media(path, MediaError, "video") as container:
        try:
            first = next(container.decode(picture_stream(container)), None)
        except av.FFmpegError as exc:
            raise MediaError(f"'{path}': the first video frame cannot be decoded ({exc}); the file is damaged") from exc
        if first is None:
            raise MediaError(f"'{path}' has no decodable video frame; pass a video with at least one frame")
        return int(round(first.rotation / 90.0)) % 4 * 90, first
