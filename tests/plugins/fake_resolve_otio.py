"""OTIO interchange of the Resolve fake: ``Timeline.Export(EXPORT_OTIO)`` and ``ImportTimelineFromFile``.

Export writes Resolve's dialect (resolve_api.md section 6): ``Resolve_OTIO`` metadata, ``global_start_time`` =
the start frame, tracks "Video N"/"Audio N" (or their names), clips with a bare-path ExternalReference, an
``available_range`` and source range in the media's own timecode (its "Start TC") and gaps between items.
Import accepts only that shape: it returns None (and builds nothing) for a ``file://`` URL, a clip without
``available_range``, a source range before the media's timecode origin (as the document states it, or as the
media file's own timecode says: a 0-based range on media with a timecode), a missing ``global_start_time``, an
unreadable file, or a ``timelineName`` that already exists. Unknown track-metadata keys are dropped.
"""
from __future__ import annotations

import opentimelineio as otio

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange
KINDS = {"video": otio.schema.TrackKind.Video, "audio": otio.schema.TrackKind.Audio}


def export_otio(timeline, path: str) -> bool:
    """Write ``timeline`` (a FakeTimeline) as Resolve's OTIO dialect."""
    rate = float(timeline.GetSetting("timelineFrameRate"))
    start = timeline.GetStartFrame()
    out = otio.schema.Timeline(name=timeline.GetName(), global_start_time=RT(start, rate))
    out.metadata["Resolve_OTIO"] = {"Resolve OTIO Meta Version": "1.0"}
    for kind, otio_kind in KINDS.items():
        for index in range(1, timeline.GetTrackCount(kind) + 1):
            track = otio.schema.Track(name=timeline.GetTrackName(kind, index), kind=otio_kind)
            track.metadata["Resolve_OTIO"] = {"Locked": timeline.GetIsTrackLocked(kind, index)}
            cursor = start
            for item in timeline.GetItemListInTrack(kind, index):
                if item.GetStart() > cursor:
                    track.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(item.GetStart() - cursor, rate))))
                pooled = item.GetMediaPoolItem()
                origin = _tc_frames(pooled.GetClipProperty("Start TC"), rate)
                ref = otio.schema.ExternalReference(target_url=pooled.GetClipProperty("File Path"),
                                                    available_range=TR(RT(origin, rate), RT(pooled.frames, rate)))
                track.append(otio.schema.Clip(name=item.GetName(), media_reference=ref, source_range=TR(
                    RT(origin + item.GetLeftOffset(), rate), RT(item.GetDuration(), rate))))
                cursor = item.GetEnd()
            out.tracks.append(track)
    try:
        otio.adapters.write_to_file(out, path)
    except Exception:  # Resolve says False, never why
        return False
    return True


def _tc_frames(timecode: str, rate: float) -> int:
    hours, minutes, seconds, frames = (int(v) for v in timecode.replace(";", ":").split(":"))
    return ((hours * 60 + minutes) * 60 + seconds) * round(rate) + frames


def _resolve_shaped(document) -> bool:
    from fake_resolve import probe

    if not isinstance(document, otio.schema.Timeline) or document.global_start_time is None:
        return False
    for clip in document.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or ref.target_url.startswith("file:"):
            return False
        if ref.available_range is None or clip.source_range is None:
            return False
        if clip.source_range.start_time < ref.available_range.start_time:
            return False  # a 0-based range on media with a timecode
        probed = probe(ref.target_url)
        start = clip.source_range.start_time
        if probed and start.to_frames() < _tc_frames(probed[3], start.rate):
            return False  # the same, where the media file has a timecode the document does not state
    return True


def import_otio(project, path: str, options) -> object:
    """The new FakeTimeline built from a Resolve-shaped OTIO file, or None."""
    from fake_resolve import FakeTimeline

    options = options if isinstance(options, dict) else {}
    try:
        document = otio.adapters.read_from_file(path)
    except Exception:
        return None
    name = options.get("timelineName") or getattr(document, "name", "") or "Timeline"
    if not _resolve_shaped(document) or any(project.GetTimelineByIndex(i).GetName() == name
                                            for i in range(1, project.GetTimelineCount() + 1)):
        return None
    rate = document.global_start_time.rate
    start = document.global_start_time.to_frames()
    hours, rest = divmod(start, 3600 * round(rate))
    minutes, rest = divmod(rest, 60 * round(rate))
    seconds, frames = divmod(rest, round(rate))
    timeline = FakeTimeline(name, fps=round(rate), start_tc="%02d:%02d:%02d:%02d" % (hours, minutes, seconds, frames),
                            video_tracks=0, audio_tracks=0)
    pool = project.GetMediaPool()
    for kind, tracks in (("video", document.video_tracks()), ("audio", document.audio_tracks())):
        for track in tracks:
            timeline.AddTrack(kind)
            index = timeline.GetTrackCount(kind)
            timeline.SetTrackName(kind, index, track.name)
            for clip in track.find_clips():
                pooled = pool.pooled(clip.media_reference.target_url) if options.get("importSourceClips", True) else None
                if pooled is None:
                    continue  # offline: Resolve keeps an offline item; the fake leaves the span empty
                offset = (clip.source_range.start_time - clip.media_reference.available_range.start_time).to_frames()
                record = start + clip.range_in_parent().start_time.to_frames()
                timeline.place(pooled, offset, offset + clip.source_range.duration.to_frames(), record, kind, index)
    project.add_timeline(timeline)
    return timeline
