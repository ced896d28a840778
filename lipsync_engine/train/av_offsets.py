"""Audio-video offsets of cached clips, measured with the audio-to-motion network and checked by the expert.

Slide a clip's audio against its picture: the correlation of the mouth opening the audio-to-motion network
predicts from the speech with the opening the clip's own landmarks show peaks where the two line up
(styletalk_KristiNoem: 0.62 at +2 frames, 0.20 at 0). The network never trained on a clip without a known
offset, so it judges those clips independently of the sync expert, which looks at mouth pixels instead of
landmarks; on all 10 edtalk_/styletalk_ clips with audio the two agree within a frame (+0 to +6).

Which offsets are recorded (``av_offset_frames`` in the clip's meta.json, used by every audio-driven
trainer and by ``lipsync eval``): an offset-suspect clip gets the network's offset when its peak is clear;
any other clip only when the network's clear peak lies 2 or more frames from 0 and the sync expert's own
offset agrees within a frame, so a held-out clip is never realigned on the network's word alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lipsync_engine.data.cache import read_meta, write_index, write_meta
from lipsync_engine.data.splits import OFFSET_SUSPECT_PREFIXES
from lipsync_engine.eval.geometry import pearson
from lipsync_engine.model.bundle import GeneratorBundle
from lipsync_engine.model.mouth_shape import encode
from lipsync_engine.sync.model import SyncExpert
from lipsync_engine.sync.offsets import raw_offset
from lipsync_engine.train.clips import TrainClip
from lipsync_engine.train.motion_training import predict

MAX_SHIFT = 8  # frames tried either way (320 ms at 25 fps; the suspects trail by 80-240 ms)
MIN_PEAK = 0.3  # correlation at the peak
MIN_MARGIN = 0.15  # peak minus the curve's median
MIN_REALIGN = 2  # a clip that is not offset-suspect is realigned only by this many frames or more


@dataclass(frozen=True)
class OffsetFinding:
    """One clip's offsets: the motion network's (None without a clear peak), the expert's, and the verdict."""

    clip_id: str
    motion_offset: int | None  # frames the audio trails the picture
    peak: float  # correlation at the motion curve's peak
    margin: float  # peak minus the curve's median
    expert_offset: int
    expert_confidence: float
    recorded: int | None  # what goes into meta.json (None: leave the clip's meta as it is)


def motion_curve(clip: TrainClip, bundle: GeneratorBundle) -> np.ndarray:
    """(2 * MAX_SHIFT + 1,) correlation of the predicted and the landmarks' opening code with the raw audio
    moved s frames later, s = -MAX_SHIFT first (any recorded offset ignored)."""
    opening = encode(clip.disp, bundle.basis)[:, 0]
    window = bundle.config.motion.mel_window
    curve = []
    for shift in range(-MAX_SHIFT, MAX_SHIFT + 1):
        windows = clip.clip.mel_windows(clip.frames, shift=shift - clip.clip.av_offset, window=window)
        curve.append(pearson(predict(bundle.motion, windows)[:, 0], opening))
    return np.nan_to_num(np.asarray(curve, dtype=np.float64), nan=-1.0)


def curve_peak(curve: np.ndarray) -> tuple[int | None, float, float]:
    """(offset, peak, margin) of a ``motion_curve``; the offset is None unless the peak is clear."""
    best = int(np.argmax(curve))
    peak, margin = float(curve[best]), float(curve[best] - np.median(curve))
    return (best - MAX_SHIFT if peak >= MIN_PEAK and margin >= MIN_MARGIN else None), peak, margin


def offset_to_record(suspect: bool, motion_offset: int | None, expert_offset: int) -> int | None:
    """The rule of the module docstring: the offset to write into a clip's meta.json, or None."""
    if motion_offset is None:
        return None
    if suspect:
        return motion_offset
    agreed = abs(motion_offset) >= MIN_REALIGN and abs(expert_offset - motion_offset) <= 1
    return motion_offset if agreed else None


def find_offset(clip: TrainClip, bundle: GeneratorBundle, expert: SyncExpert) -> OffsetFinding:
    """Both detectors on one clip, and the offset to record."""
    motion, peak, margin = curve_peak(motion_curve(clip, bundle))
    expert_measure = raw_offset(expert, clip.clip)
    suspect = clip.clip_id.startswith(OFFSET_SUSPECT_PREFIXES)
    return OffsetFinding(clip_id=clip.clip_id, motion_offset=motion, peak=peak, margin=margin,
                         expert_offset=int(expert_measure.offset), expert_confidence=float(expert_measure.confidence),
                         recorded=offset_to_record(suspect, motion, int(expert_measure.offset)))


def record_offsets(cache: str | Path, clips: list[TrainClip], bundle: GeneratorBundle, expert: SyncExpert,
                   log=print) -> list[OffsetFinding]:
    """Find every clip's offset and write those the rule keeps into its meta.json; rewrites index.json."""
    findings = []
    for clip in clips:
        found = find_offset(clip, bundle, expert)
        findings.append(found)
        log(f"{found.clip_id:34s} motion {_signed(found.motion_offset)} (peak {found.peak:.2f}, margin "
            f"{found.margin:.2f}), expert {found.expert_offset:+d} (conf {found.expert_confidence:.3f}) -> "
            f"{'recorded ' + _signed(found.recorded) if found.recorded is not None else 'left as it is'}")
        if found.recorded is not None:
            meta = read_meta(cache, clip.clip_id)
            meta.update(av_offset_frames=found.recorded, av_offset_confidence=round(found.margin, 4),
                        av_offset_method="audio-to-motion correlation")
            write_meta(cache, meta)
    write_index(cache)
    return findings


def _signed(offset: int | None) -> str:
    return "none" if offset is None else f"{offset:+d}"
