"""Write the takes back as OTIO: one ``LipSync XX`` video track per language, same record positions.

The input timeline is copied unchanged (a Resolve export keeps its ``Resolve_OTIO`` metadata and start
timecode); a rerun replaces the earlier ``LipSync XX`` track of a language instead of adding another.
Each take clip references the rendered file (a bare path when the source used bare paths, as Resolve
expects, else a file:// URL) with its available and source range in the take's own timecode (the source
timecode of the clip's first frame; from 0 for a take without one: Resolve refuses 0-based ranges on media
with a timecode), at the timeline's rate, and carries the QA record under ``metadata["lipsync"]``; frames
kept from the source are OTIO markers.
"""
from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from editor_plugins.otio.reader import OUTPUT_TRACK_PREFIX, ClipTake
from lipsync_engine.media.timecode import timecode_frames

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def _reference(path: Path, like: otio.schema.Clip, available: otio.opentime.TimeRange
               ) -> otio.schema.ExternalReference:
    url = like.media_reference.target_url
    target = str(path) if not url.startswith("file:") else path.resolve().as_uri()
    return otio.schema.ExternalReference(target_url=target, available_range=available)


def take_clip(take: ClipTake, result: dict) -> otio.schema.Clip:
    """The OTIO clip of a rendered take, with its QA record as metadata and markers."""
    report = result.get("report") or {}
    duration = take.record_range.duration
    timecode = report.get("timecode")
    start = RT(timecode_frames(timecode, duration.rate) if timecode else 0, duration.rate)
    clip = otio.schema.Clip(name=f"{take.clip.name} {take.language}",
                            media_reference=_reference(Path(result["output"]), take.clip, TR(start, duration)),
                            source_range=TR(start, duration))
    clip.metadata["lipsync"] = {
        "language": take.language, "job_id": result.get("job_id"), "request_id": result.get("request_id"),
        "model": report.get("generator"), "backend": report.get("backend"),
        "sync_score": report.get("sync_score"), "sync_offset": report.get("sync_offset"),
        "sync_status": report.get("sync_status"), "sync_verdict": report.get("sync_verdict"),
        "passthrough": report.get("passthrough") or [], "warnings": report.get("warnings") or [],
        "source_clip": take.clip.name, "source_media": str(take.video), "audio": str(take.audio),
        "audio_start_s": take.audio_start_s,
    }
    for seg in report.get("passthrough") or []:
        clip.markers.append(otio.schema.Marker(
            name=f"lipsync: source kept ({seg['reason']})", color=otio.schema.MarkerColor.RED,
            marked_range=TR(start + RT(seg["start"], duration.rate),
                            RT(seg["end"] - seg["start"] + 1, duration.rate))))
    return clip


def _language_track(language: str, placed: list[tuple[ClipTake, otio.schema.Clip]], resolve_shaped: bool):
    track = otio.schema.Track(name=OUTPUT_TRACK_PREFIX + language, kind=otio.schema.TrackKind.Video)
    track.metadata["lipsync"] = {"language": language, "role": "takes"}
    if resolve_shaped:
        track.metadata["Resolve_OTIO"] = {"Locked": False}
    cursor = None
    for take, clip in sorted(placed, key=lambda pair: pair[0].record_range.start_time):
        start = take.record_range.start_time
        cursor = cursor or RT(0, start.rate)
        if start > cursor:
            track.append(otio.schema.Gap(source_range=TR(RT(0, start.rate), start - cursor)))
        track.append(clip)
        cursor = take.record_range.end_time_exclusive()
    return track


def add_take_tracks(timeline: otio.schema.Timeline, takes: list[ClipTake], results: list[dict | None]
                    ) -> tuple[otio.schema.Timeline, list[str]]:
    """(new timeline, problems): a copy of ``timeline`` with a ``LipSync XX`` track per language.

    ``results[i]`` is the result of ``takes[i]`` (``state``, ``output``, ``job_id``, ``report``, ``error``);
    failed takes are left out and reported; of two takes overlapping on the record, the upper track's wins.
    """
    out = timeline.deepcopy()
    problems: list[str] = []
    by_language: dict[str, list[tuple[ClipTake, otio.schema.Clip]]] = {}
    for take, result in sorted(zip(takes, results), key=lambda pair: -pair[0].track_index):
        result = result or {"state": "FAILED", "error": {"message": "no result"}}
        if result.get("state") != "SUCCEEDED":
            error = result.get("error") or {}
            problems.append(f"{take.clip.name} ({take.language}): {error.get('code', result.get('state'))}: "
                            f"{error.get('message', 'no message')}")
            continue
        placed = by_language.setdefault(take.language, [])
        if any(t.record_range.intersects(take.record_range) for t, _ in placed):
            problems.append(f"{take.clip.name} ({take.language}) is covered by a clip on a higher track; skipped")
            continue
        placed.append((take, take_clip(take, result)))
    resolve_shaped = "Resolve_OTIO" in timeline.metadata
    for language in sorted(by_language):
        for track in [t for t in out.tracks if t.name == OUTPUT_TRACK_PREFIX + language]:
            out.tracks.remove(track)
        out.tracks.append(_language_track(language, by_language[language], resolve_shaped))
    return out, problems
