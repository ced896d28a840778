"""Pass 1 over a shot: frame times, the face track, and sample frames for the quick actor profile.

The track is the expensive, language-independent part: callers that render one shot in several
languages pass a cache path so it is measured once.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from lipsync_engine.audio import frame_mel_windows, load_audio, log_mel
from lipsync_engine.audio.vad import voice_activity
from lipsync_engine.errors import AudioError, MediaError
from lipsync_engine.faces.tracker import ShotTrack, track_shot
from lipsync_engine.generator.base import ProfileSamples
from lipsync_engine.media import Frame, VideoInfo, read_frames
from lipsync_engine.pipeline.compose import crop_face
from lipsync_engine.pipeline.progress import StageMeter
from lipsync_engine.pipeline.stages import Stages, frame_queue_depth

PROFILE_MAX = 64  # most frames sampled for the quick actor profile
PROFILE_SPACING_S = 0.5  # at most one sample per this many seconds of the shot
TRACK_QUEUE_FRAMES = 8  # decoded frames waiting for the tracker (fewer at 8K, see stages.FRAME_QUEUE_BYTES)
SAMPLE_MAX_SIDE = 1920  # sample frames are kept at most this large (JPEG in memory, bounded whatever the shot)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8, or uint16 full range -> uint8 (top byte)."""
    return rgb if rgb.dtype == np.uint8 else (rgb >> 8).astype(np.uint8)


class SampleFrames:
    """Keeps a few frames of a shot, downscaled and JPEG-compressed, for building an actor profile."""

    def __init__(self, wanted: set[int]) -> None:
        self.wanted = wanted
        self._kept: dict[int, tuple[bytes, float]] = {}  # index -> (JPEG of the RGB frame, frame -> kept scale)

    def offer(self, index: int, rgb: np.ndarray) -> None:
        if index not in self.wanted:
            return
        rgb = to_uint8(rgb)
        scale = min(1.0, SAMPLE_MAX_SIDE / max(rgb.shape[:2]))
        if scale < 1.0:
            size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        if ok:
            self._kept[index] = (jpeg.tobytes(), scale)

    def indices(self) -> list[int]:
        return sorted(self._kept)

    def frame(self, index: int) -> tuple[np.ndarray, float]:
        """(HxWx3 uint8 RGB, scale from full-frame pixels to this frame's pixels)."""
        jpeg, scale = self._kept[index]
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), scale


@dataclass
class ShotPass:
    """What pass 1 learned about a shot."""

    starts: list[Fraction]  # presentation time of each frame, seconds
    track: ShotTrack
    samples: SampleFrames


def sample_indices(frame_count: int, fps: Fraction, candidates: np.ndarray | None = None) -> set[int]:
    """Evenly spaced frame indices for the profile (from ``candidates`` when given, e.g. valid frames)."""
    pool = np.arange(frame_count) if candidates is None else np.asarray(candidates)
    wanted = min(PROFILE_MAX, max(1, int(frame_count / float(fps) / PROFILE_SPACING_S)), pool.size)
    if wanted == 0:
        return set()
    return {int(pool[i]) for i in np.linspace(0, pool.size - 1, wanted).round().astype(int)}


def first_pass(
    info: VideoInfo,
    meter: StageMeter,
    track_cache: ShotTrack | str | os.PathLike | None,
    need_samples: bool,
    overlap: bool = True,
) -> ShotPass:
    """Decode the shot once: record frame times, track the face (unless cached), keep profile samples.

    ``overlap``: decode in a thread of its own, up to TRACK_QUEUE_FRAMES ahead of the tracker.
    """
    cached = _cached_track(track_cache)
    source = source_key(info)
    if cached is not None and (len(cached) != info.frame_count or cached.source not in ("", source)):
        cached = None  # a cache of another file, version or range of the shot: track again (and overwrite it)
    samples = SampleFrames(sample_indices(info.frame_count, info.fps) if need_samples else set())
    starts: list[Fraction] = []

    def frames(decoded: Iterator[Frame]) -> Iterator[tuple[int, np.ndarray]]:
        for frame in decoded:
            starts.append(frame.pts)
            samples.offer(frame.index, frame.rgb)
            meter.step()
            yield frame.index, frame.rgb

    with Stages(threaded=overlap, cancel=meter.cancel, on_wait=partial(meter.step, 0)) as stages:
        decoded = stages.source("decode", read_frames(info.path, info), frame_queue_depth(info, TRACK_QUEUE_FRAMES))
        if cached is not None:
            for _ in frames(decoded):
                pass
            track = cached
        else:
            track = track_shot(frames(decoded), fps=float(info.fps))
    meter.finish()
    if len(track.valid) != len(starts):
        raise MediaError(
            f"the face track covers {len(track.valid)} frames but '{info.path}' decodes to {len(starts)}; "
            f"delete the stale track cache and render again"
        )
    if isinstance(track_cache, (str, os.PathLike)) and cached is None:
        track = replace(track, source=source)
        track.save(Path(track_cache))
    return ShotPass(starts=starts, track=track, samples=samples)


def source_key(info: VideoInfo) -> str:
    """What a face track was measured on: the file, its size and mtime, the frame range and picture size.

    A track cache whose key differs (a replaced or re-rendered source, another range of the same length)
    is not reused; caches written before keys existed are still matched by frame count.
    """
    try:
        stat = os.stat(info.path)
        version = f"{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        version = "?"
    return (f"{os.path.realpath(info.path)}|{version}|frames {info.first_frame}+{info.frame_count}"
            f"|{info.width}x{info.height}")


def resample_valid(info: VideoInfo, track: ShotTrack, meter: StageMeter) -> SampleFrames:
    """Decode again to keep profile samples among the frames that have a usable face.

    Needed only when the evenly spaced samples of pass 1 all missed the face.
    """
    samples = SampleFrames(sample_indices(len(track.valid), info.fps, np.flatnonzero(track.valid)))
    last = max(samples.wanted)
    for frame in read_frames(info.path, info):
        samples.offer(frame.index, frame.rgb)
        meter.check_cancel()
        if frame.index >= last:
            break
    return samples


def profile_samples(info: VideoInfo, shot: ShotPass, crop_size: int) -> ProfileSamples | None:
    """Aligned crops (and the footage's own audio windows, when it has audio) of the valid sample frames."""
    crops, points, times = [], [], []
    for index in shot.samples.indices():
        if not shot.track.valid[index]:
            continue
        rgb, scale = shot.samples.frame(index)
        face = crop_face(rgb, shot.track.points[index] * scale, crop_size)
        crops.append(face.crop)
        points.append(face.points)
        times.append(float(shot.starts[index] - shot.starts[0]) + 0.5 / float(info.fps))
    if not crops:
        return None
    mel, speech = _own_audio(info, np.array(times))
    return ProfileSamples(crops=np.stack(crops), points=np.stack(points), mel=mel, speech=speech)


def _own_audio(info: VideoInfo, centres: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not info.has_audio:
        return None, None
    try:
        pcm = load_audio(info.path, start=info.range_start)  # sample 0 at frame 0 (of the range)
    except AudioError:
        return None, None
    return frame_mel_windows(log_mel(pcm), centres), voice_activity(pcm, centres)


def _cached_track(track_cache: ShotTrack | str | os.PathLike | None) -> ShotTrack | None:
    if isinstance(track_cache, ShotTrack):
        return track_cache
    if track_cache is not None and Path(track_cache).is_file():
        return ShotTrack.load(Path(track_cache))
    return None
