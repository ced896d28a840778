"""Read an OTIO timeline into take requests: which source range of which shot gets which dub range.

Convention (docs/editor_plugins.md): an audio track carries a dubbed language when its name is
``Dub XX`` (e.g. "Dub DE") or its metadata has ``{"lipsync": {"language": "DE"}}`` (the metadata wins).
Every video clip on a video track (tracks named ``LipSync XX`` are outputs and are skipped) that a dub clip
covers entirely gets one take per language. Times: record ranges are in track time (OTIO RationalTime);
source frames count from the media's first frame at the file's own rate; audio offsets are seconds
into the dub file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from lipsync_engine.errors import InputError

OUTPUT_TRACK_PREFIX = "LipSync "
_DUB_NAME = re.compile(r"^\s*dub\s+([A-Za-z][A-Za-z0-9_-]{0,15})\s*$", re.IGNORECASE)


class TimelineError(InputError):
    """The timeline cannot be read or does not follow the convention; the message says what to fix."""


@dataclass(frozen=True)
class ClipTake:
    """One video clip and one language: what to render and where it sits on the timeline."""

    language: str
    clip: otio.schema.Clip  # the source clip (its record range is in track time)
    track_index: int  # index among the timeline's video tracks, 0-based
    record_range: otio.opentime.TimeRange
    video: Path
    source_start_s: float  # seconds from the media's first frame
    duration_s: float
    audio: Path
    audio_start_s: float  # seconds into the dub file


def read_timeline(path: Path) -> otio.schema.Timeline:
    """Any format an installed OTIO adapter reads; TimelineError when it cannot be read."""
    if not path.is_file():
        raise TimelineError(f"timeline file not found: '{path}'; check the path")
    try:
        document = otio.adapters.read_from_file(str(path))
    except Exception as exc:  # adapters raise many types: unreadable JSON, unknown suffix, bad schema
        raise TimelineError(f"cannot read the timeline '{path}' ({type(exc).__name__}: {exc}); export it "
                            f"again as .otio (adapters here: {otio.adapters.available_adapter_names()})") from exc
    if isinstance(document, otio.schema.SerializableCollection):
        timelines = [t for t in document if isinstance(t, otio.schema.Timeline)]
        document = timelines[0] if len(timelines) == 1 else None
    if not isinstance(document, otio.schema.Timeline):
        raise TimelineError(f"'{path}' does not hold exactly one timeline; export a single timeline")
    return document


def media_path(clip: otio.schema.Clip, base: Path) -> Path | None:
    """The local file a clip references (file:// URL or bare path; relative to ``base``), or None."""
    ref = clip.media_reference
    if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
        return None
    url = ref.target_url
    path = Path(unquote(urlparse(url).path)) if url.startswith("file:") else Path(url)
    return path if path.is_absolute() else base / path


def dub_language(track: otio.schema.Track) -> str | None:
    """The language a track carries by the convention, upper case, or None."""
    language = (track.metadata.get("lipsync") or {}).get("language")
    if not language:
        match = _DUB_NAME.match(track.name or "")
        language = match.group(1) if match else None
    return str(language).upper() if language else None


def _media_offset_s(clip: otio.schema.Clip) -> float:
    """Seconds from the media's first frame to the clip's source in (media timecode removed)."""
    start = clip.source_range.start_time if clip.source_range else otio.opentime.RationalTime(0, 24)
    available = clip.media_reference.available_range if clip.media_reference else None
    origin = available.start_time if available else otio.opentime.RationalTime(0, start.rate)
    return (start - origin).to_seconds()


def plan_takes(timeline: otio.schema.Timeline, base: Path) -> tuple[list[ClipTake], list[str]]:
    """(takes, problems): one ClipTake per covered video clip and language; problems say what was skipped."""
    dubs = [(dub_language(t), t) for t in timeline.audio_tracks()]
    dubs = [(lang, t) for lang, t in dubs if lang]
    if not dubs:
        raise TimelineError("no dub track found: name an audio track 'Dub DE' or give it metadata "
                            "{\"lipsync\": {\"language\": \"DE\"}} and put the dubbed speech on it")
    takes, problems = [], []
    for index, track in enumerate(timeline.video_tracks()):
        if (track.name or "").startswith(OUTPUT_TRACK_PREFIX):
            continue
        for clip in track:
            if isinstance(clip, otio.schema.Stack):
                problems.append(f"nested clip '{clip.name}' on '{track.name}' is not rendered; decompose it first")
            if not isinstance(clip, otio.schema.Clip):
                continue
            record = clip.range_in_parent()
            video = media_path(clip, base)
            if video is None:
                problems.append(f"clip '{clip.name}' has no file reference; relink it before exporting")
                continue
            for language, dub_track in dubs:
                take = _cover(language, dub_track, clip, index, record, video, base)
                if isinstance(take, str):
                    problems.append(take)
                else:
                    takes.append(take)
    return takes, problems


def _cover(language, dub_track, clip, index, record, video, base) -> ClipTake | str:
    """The ClipTake of ``clip`` with the dub clip covering it, or a message when none covers it."""
    end = record.end_time_exclusive()
    for dub in (c for c in dub_track if isinstance(c, otio.schema.Clip)):
        dub_range = dub.range_in_parent()
        if dub_range.start_time <= record.start_time and end <= dub_range.end_time_exclusive():
            audio = media_path(dub, base)
            if audio is None:
                return f"the {language} dub clip '{dub.name}' has no file reference; relink it"
            into = (record.start_time - dub_range.start_time).to_seconds()
            return ClipTake(language, clip, index, record, video, _media_offset_s(clip),
                            record.duration.to_seconds(), audio, _media_offset_s(dub) + into)
    return (f"clip '{clip.name}' at {otio.opentime.to_timecode(record.start_time)} is not covered by one clip of "
            f"the {language} dub track '{dub_track.name}'; lay the dub under the whole shot")
