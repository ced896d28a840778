"""Measure the audio-video offset of cached clips with the expert and record it in their meta.json."""
from __future__ import annotations

from pathlib import Path

from lipsync_engine.data.cache import ClipData, read_meta, write_index, write_meta
from lipsync_engine.sync.model import SyncExpert
from lipsync_engine.sync.scoring import SyncMeasure, measure_sync

MIN_CONFIDENCE = 0.05  # below this the offset curve has no clear peak and the offset is not recorded


def record_offsets(model: SyncExpert, cache: str | Path, clips: list[ClipData]) -> dict[str, SyncMeasure]:
    """Measure each clip's offset on its speech frames (raw audio, ignoring any recorded offset); write it as
    ``av_offset_frames`` (with ``av_offset_confidence``) when the peak is clear; rewrites index.json.

    An offset `lipsync measure-offsets` recorded (``av_offset_method`` set: the motion network's peak,
    checked by the expert) is measured but left as it is: the expert alone is the weaker detector."""
    measured = {}
    for clip in clips:
        result = raw_offset(model, clip)
        measured[clip.clip_id] = result
        meta = read_meta(cache, clip.clip_id)
        if meta.get("av_offset_method"):
            continue
        meta["av_offset_confidence"] = round(result.confidence, 4)
        meta["av_offset_frames"] = result.offset if result.confidence >= MIN_CONFIDENCE else None
        write_meta(cache, meta)
    write_index(cache)
    return measured


def raw_offset(model: SyncExpert, clip: ClipData) -> SyncMeasure:
    """The expert's verdict on a clip's own audio as cached, any recorded offset ignored (speech frames only)."""
    return measure_sync(model, clip.mouths, clip.mel, clip.fps, clip.valid, speech=clip.speech)
