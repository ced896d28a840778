"""Read the current Resolve timeline into clip jobs: which source range gets which dub audio range.

Frames: item record frames are absolute timeline frames (they include the start timecode, so
01:00:00:00 at 24 fps is 86400) with exclusive ends; source frames count in the media's own fps from the
file's first frame. Audio offsets are seconds into the dub file.

Dubs come from audio tracks named ``Dub XX`` (XX the language) and/or from ``dubs`` in the settings: a
language mapped to a file path or a media-pool clip name, laid from the timeline's first frame.
"""
import collections
import hashlib
import os
import re
from fractions import Fraction

from .calls import PluginError, checked, supports

OUTPUT_TRACK_PREFIX = "LipSync "
_DUB_TRACK = re.compile(r"^\s*dub\s+([A-Za-z][A-Za-z0-9_-]{0,15})\s*$", re.IGNORECASE)

ClipJob = collections.namedtuple("ClipJob", [
    "key",  # stable id of the inputs (idempotency key of the render)
    "language",  # e.g. "DE"
    "clip_name", "track_index",
    "record_start", "record_end",  # absolute timeline frames, end exclusive
    "media_path", "media_fps",  # media_fps: str as Resolve reports it, e.g. "23.976"
    "source_start", "source_end",  # media frames from the file's first frame, end exclusive
    "audio_path", "audio_start_s",  # seconds into the dub file
])
Skipped = collections.namedtuple("Skipped", ["clip_name", "language", "reason"])
DubSource = collections.namedtuple("DubSource", ["language", "track_index", "path"])  # one of the two set


def parse_rate(text):
    """Resolve's rate strings ("23.976", "29.97", "24") -> exact Fraction (NTSC rates as n*1000/1001)."""
    try:
        value = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise PluginError("Resolve reported the frame rate %r, which is not a number; set the timeline "
                          "frame rate in Project Settings" % (text,))
    for base in (24, 30, 48, 60, 120):
        ntsc = Fraction(base * 1000, 1001)
        if value != base and abs(value - ntsc) < Fraction(1, 100):
            return ntsc
    if value <= 0:
        raise PluginError("Resolve reported the frame rate %r; a positive rate is needed" % (text,))
    return value


def job_key(*parts):
    """Stable 16-hex-digit key of the inputs that decide a take."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]


def find_dubs(timeline, settings_dubs):
    """Language -> DubSource from ``Dub XX`` audio tracks and the settings (settings win)."""
    dubs = {}
    for index in range(1, int(timeline.GetTrackCount("audio") or 0) + 1):
        match = _DUB_TRACK.match(timeline.GetTrackName("audio", index) or "")
        if match:
            dubs[match.group(1).upper()] = DubSource(match.group(1).upper(), index, None)
    for language, path in (settings_dubs or {}).items():
        dubs[language.upper()] = DubSource(language.upper(), None, path)
    return dubs


def marked_range(timeline, start_frame):
    """(first, end) absolute frames between the in and out marks, or None when no marks are set.

    Resolve's mark frames are read as absolute when they are at or after the start frame, otherwise as
    relative to the timeline start (the README does not say which; both readings are accepted).
    """
    if not supports(timeline, "GetMarkInOut"):
        return None
    marks = (timeline.GetMarkInOut() or {}).get("video") or {}
    if "in" not in marks and "out" not in marks:
        return None
    absolute = [int(v) if int(v) >= start_frame else int(v) + start_frame
                for v in (marks.get("in", start_frame), marks.get("out", 10 ** 9))]
    return absolute[0], absolute[1] + 1  # the out mark is the last frame shown


def video_items(timeline, frame_range):
    """(track index, item) of every media clip on the source video tracks, in record order."""
    found = []
    for index in range(1, int(timeline.GetTrackCount("video") or 0) + 1):
        name = timeline.GetTrackName("video", index) or ""
        if name.startswith(OUTPUT_TRACK_PREFIX):
            continue
        if supports(timeline, "GetIsTrackEnabled") and timeline.GetIsTrackEnabled("video", index) is False:
            continue
        for item in timeline.GetItemListInTrack("video", index) or []:
            pool_item = item.GetMediaPoolItem()  # None for titles, generators and transitions
            if pool_item is None or "Video" not in (pool_item.GetClipProperty("Type") or ""):
                continue
            if frame_range and not (item.GetStart() < frame_range[1] and frame_range[0] < item.GetEnd()):
                continue
            found.append((index, item))
    return sorted(found, key=lambda pair: (pair[1].GetStart(), pair[0]))


def _dub_audio_start(timeline, dub, start, end, rate, timeline_start, pool_lookup):
    """(path, seconds into it) of the dub under record frames [start, end); PluginError if not covered."""
    if dub.track_index is None:
        path = dub.path
        if not os.path.isfile(path):
            pool_item = pool_lookup(path)
            if pool_item is None:
                raise PluginError("the %s dub %r is neither a file nor a clip in the media pool" % (
                    dub.language, path))
            path = pool_item.GetClipProperty("File Path")
        return path, float((start - timeline_start) / rate)
    covering = [a for a in timeline.GetItemListInTrack("audio", dub.track_index) or []
                if a.GetStart() <= start and end <= a.GetEnd() and a.GetMediaPoolItem() is not None]
    if not covering:
        spans = ["%d-%d" % (a.GetStart(), a.GetEnd() - 1)
                 for a in timeline.GetItemListInTrack("audio", dub.track_index) or []
                 if a.GetStart() < end and start < a.GetEnd()]
        raise PluginError("the dub on track 'Dub %s' does not cover the clip's frames %d-%d (it covers %s); "
                          "lay one audio clip under the whole shot or trim the shot" % (
                              dub.language, start, end - 1, ", ".join(spans) or "none of them"))
    audio = covering[0]
    source_fps = parse_rate(audio.GetMediaPoolItem().GetClipProperty("FPS") or rate)
    head = Fraction(audio.GetLeftOffset(), 1) / source_fps  # the exact source-in (GetSourceStartFrame drifts)
    return audio.GetMediaPoolItem().GetClipProperty("File Path"), float(head + (start - audio.GetStart()) / rate)


def plan_jobs(timeline, settings_dubs, pool_lookup, use_marks=True):
    """(jobs, skipped): one ClipJob per video clip and language; a clip a dub cannot serve is skipped."""
    rate = parse_rate(checked(timeline, "GetSetting", "timelineFrameRate", what="read the timeline frame rate"))
    timeline_start = int(timeline.GetStartFrame() or 0)
    dubs = find_dubs(timeline, settings_dubs)
    if not dubs:
        raise PluginError("no dub audio found: name an audio track 'Dub DE' (one per language) and lay the "
                          "dubbed speech on it, or set \"dubs\": {\"DE\": \"/path/de.wav\"} in LipSync.json")
    jobs, skipped = [], []
    frame_range = marked_range(timeline, timeline_start) if use_marks else None
    for track_index, item in video_items(timeline, frame_range):
        pool_item = item.GetMediaPoolItem()
        name = item.GetName() or pool_item.GetName()
        media_path = pool_item.GetClipProperty("File Path")
        media_fps = pool_item.GetClipProperty("FPS") or str(rate)
        start, end = int(item.GetStart()), int(item.GetEnd())
        source_start = int(item.GetLeftOffset())  # exact, unlike GetSourceStartFrame
        source_frames = int(round((end - start) * parse_rate(media_fps) / rate))
        for language in sorted(dubs):
            try:
                audio_path, audio_start = _dub_audio_start(timeline, dubs[language], start, end, rate,
                                                           timeline_start, pool_lookup)
            except PluginError as exc:
                skipped.append(Skipped(name, language, str(exc)))
                continue
            key = job_key(media_path, source_start, source_frames, audio_path, "%.6f" % audio_start, language)
            jobs.append(ClipJob(key, language, name, track_index, start, end, media_path, media_fps,
                                source_start, source_start + source_frames, audio_path, audio_start))
    return jobs, skipped
