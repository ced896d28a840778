"""Check a real render: every pixel outside the blend mask must equal the source's.

The take goes through ``lipsync_engine.render_video`` on a real video (lossless ffv1 output, so any
difference is the pipeline's, not the codec's). The face track the pipeline used is kept and read back,
the same lower-face mask is rebuilt for every frame and warped to the frame, and decoded source and
take frames are compared outside that mask's support.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from lipsync_engine.blend import lower_face_mask
from lipsync_engine.faces.shot_track import ShotTrack
from lipsync_engine.generator.base import Generator
from lipsync_engine.media import probe_video, read_frames
from lipsync_engine.options import RenderOptions
from lipsync_engine.pipeline.compose import crop_face

SUPPORT_MARGIN = 2  # frame pixels the mask's support is widened by (bilinear warping spreads it)


@dataclass(frozen=True)
class OutsideMaskCheck:
    """Result of one render check."""

    frames: int  # frames compared
    edited_frames: int  # frames with any changed pixel
    changed_outside: int  # pixels (summed over frames) that differ from the source outside the mask
    max_diff_outside: int  # largest channel difference outside the mask (0 when unchanged)
    changed_inside_mean: float  # mean pixels changed per edited frame inside the mask

    @property
    def passed(self) -> bool:
        return self.changed_outside == 0

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def check_outside_mask(
    video: str | Path, audio: str | Path, generator: Generator, workdir: str | Path
) -> OutsideMaskCheck:
    """Render ``video`` with ``audio`` through ``generator`` into ``workdir`` and compare outside the mask."""
    from lipsync_engine.pipeline.render import render_video

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    take, track_path = workdir / "take.mkv", workdir / "track.npz"
    render_video(video, audio, take, generator, RenderOptions(codec="ffv1"), track=track_path)
    track = ShotTrack.load(track_path)
    source_info, take_info = probe_video(video), probe_video(take)
    crop_size = generator.crop_size
    frames = edited = changed_outside = max_diff = 0
    inside_counts = []
    kernel = np.ones((2 * SUPPORT_MARGIN + 1, 2 * SUPPORT_MARGIN + 1), np.uint8)
    for src, out in zip(read_frames(video, source_info), read_frames(take, take_info)):
        frames += 1
        diff = np.abs(src.rgb.astype(np.int32) - out.rgb.astype(np.int32)).max(axis=2)
        support = np.zeros(diff.shape, bool)
        i = src.index - track.first_index
        if 0 <= i < len(track) and track.valid[i]:
            face = crop_face(src.rgb, track.points[i], crop_size)
            mask = lower_face_mask(face.points, crop_size)
            warped = cv2.warpAffine(mask, face.alignment.inverse, (diff.shape[1], diff.shape[0]),
                                    flags=cv2.INTER_LINEAR, borderValue=0.0)
            support = cv2.dilate((warped > 0).astype(np.uint8), kernel) > 0
        changed = diff > 0
        if changed.any():
            edited += 1
            inside_counts.append(int((changed & support).sum()))
        changed_outside += int((changed & ~support).sum())
        max_diff = max(max_diff, int(diff[~support].max()) if (~support).any() else 0)
    return OutsideMaskCheck(frames, edited, changed_outside, max_diff,
                            float(np.mean(inside_counts)) if inside_counts else 0.0)
