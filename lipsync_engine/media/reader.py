"""Stream decoded frames as upright RGB arrays with their exact presentation times."""
from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation

from lipsync_engine.errors import MediaError
from lipsync_engine.media.colour import SWSCALE_SPACES
from lipsync_engine.media.native import keeps_native
from lipsync_engine.media.opening import open_media, picture_stream
from lipsync_engine.media.probe import VideoInfo


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    index: 0-based position in presentation order; pts: presentation time in seconds (exact, on the
    source's clock); rgb: HxWx3, uint8 for 8-bit sources, uint16 over the full 0-65535 range for deeper
    ones, rotation already applied (H, W are VideoInfo.height, .width); native: the decoded frame itself
    (planar YUV samples as stored) when asked for with ``keep_native`` and the source is an unrotated
    YUV layout the writer can keep (media.native.NATIVE_FORMATS), else None.
    """

    index: int
    pts: Fraction
    rgb: np.ndarray
    native: av.VideoFrame | None = None


def rgb_format(bit_depth: int) -> str:
    """PyAV pixel format of the RGB arrays for a source of ``bit_depth`` bits: rgb24 or rgb48le."""
    return "rgb24" if bit_depth <= 8 else "rgb48le"


def read_frames(path: str | Path, info: VideoInfo, *, keep_native: bool = False) -> Iterator[Frame]:
    """Decode ``path`` (probed as ``info``) frame by frame; at most a few frames are held at once.

    For a range (``info.first_frame`` > 0) the decoder seeks to the keyframe before the range and drops
    the frames before it, so the frames are exactly those a full decode gives at those positions; the
    last frame given is always frame ``info.frame_count - 1``. Frame.index counts from the range's
    first frame and Frame.pts is on the source's clock less ``info.range_start``.

    ``keep_native``: also hand over each decoded frame as ``Frame.native`` so a VideoWriter can encode
    the source's own samples wherever the picture was not changed (holding a Frame then holds its
    decoder buffer too).

    Raises MediaError naming the last good frame when decoding fails or the stream ends before
    ``info.frame_count`` frames, so a truncated file is reported rather than silently shortened.
    """
    fmt = rgb_format(info.bit_depth)
    turns = info.rotation // 90
    index = 0
    with open_media(path, MediaError, "video") as container:
        stream = picture_stream(container)
        stream.thread_type = "AUTO"
        try:
            for frame in _from_first_frame(container, stream, info):
                if index == info.frame_count:
                    return
                rgb = _to_rgb(frame, fmt)
                if turns:
                    rgb = np.ascontiguousarray(np.rot90(rgb, turns))
                if rgb.shape[:2] != (info.height, info.width):
                    raise MediaError(
                        f"'{path}': frame {index} is {rgb.shape[1]}x{rgb.shape[0]} but the stream is "
                        f"{info.width}x{info.height}; size changes inside a shot are not supported, cut the shot")
                native = frame if keep_native and not turns and keeps_native(frame) else None
                yield Frame(index, _pts(frame, index, info), rgb, native)
                index += 1
        except av.FFmpegError as exc:
            raise MediaError(f"'{path}' is damaged: decoding stopped after frame {index - 1} of "
                             f"{info.frame_count} ({exc}); the last good frame is {index - 1}") from exc
    if index < info.frame_count:
        raise MediaError(f"'{path}' is truncated: only {index} of {info.frame_count} frames decode; "
                         f"the last good frame is {index - 1}. Copy the file again or re-export it")


SEEK_TRIES = 8  # seeks further and further back before decoding a range from the file's start


def _from_first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                      info: VideoInfo) -> Iterator[av.VideoFrame]:
    """Decoded frames of ``stream`` from frame ``info.first_frame`` on.

    A seek lands on a keyframe at or before the wanted frame; decoding starts there, and everything the
    decoder gives before its first keyframe (the leading pictures of an open GOP, which need an earlier
    GOP) or before the wanted frame is dropped. A seek that lands after the frame is retried further
    back; a stream without timestamps is decoded from its start and counted.
    """
    if info.first_frame == 0:
        yield from container.decode(stream)
        return
    target = int((info.start_time + info.range_start) / info.time_base)  # the wanted frame's pts, in ticks
    back = max(1, int(1 / info.time_base))  # one second, doubled on every retry
    seek_to = target
    for _ in range(SEEK_TRIES):
        container.seek(seek_to, stream=stream, backward=True)
        decoded = container.decode(stream)
        landed = next((f for f in decoded if f.key_frame), None)  # None: landed after the last keyframe
        if landed is not None and landed.pts is None:
            break
        if landed is not None and landed.pts <= target:
            yield from (f for f in chain([landed], decoded) if f.pts is None or f.pts >= target)
            return
        seek_to, back = min(seek_to, target if landed is None else landed.pts) - back, back * 2
    container.seek(0, backward=True)  # from the start of the file, counting frames
    yield from islice(container.decode(stream), info.first_frame, None)


# swscale's fast 8-bit YUV -> RGB path darkens every frame by about 1.3 levels; the accurate path is
# unbiased (and costs ~15 ms per 1080p frame). For 10-bit and deeper sources the default path is the
# unbiased one: FFmpeg 8.1's full-chroma path garbles yuv4xxp10le -> rgb48le.
ACCURATE_8_BIT = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


def _to_rgb(frame: av.VideoFrame, fmt: str) -> np.ndarray:
    if frame.format.is_rgb:
        return frame.to_ndarray(format=fmt)
    space = frame.colorspace if frame.colorspace in SWSCALE_SPACES else None
    converted = frame.reformat(format=fmt, src_colorspace=space, src_color_range=frame.color_range or None,
                               interpolation=ACCURATE_8_BIT if fmt == "rgb24" else None)
    return converted.to_ndarray()


def _pts(frame: av.VideoFrame, index: int, info: VideoInfo) -> Fraction:
    if frame.pts is None or frame.time_base is None:
        return info.start_time + index / info.fps
    return Fraction(frame.pts) * Fraction(frame.time_base) - info.range_start
