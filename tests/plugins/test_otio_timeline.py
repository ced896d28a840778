"""OTIO reading (dub convention, source and audio ranges) and writing (take tracks, Resolve metadata kept)."""
from __future__ import annotations

import opentimelineio as otio
import pytest

from editor_plugins.otio.reader import TimelineError, plan_takes, read_timeline
from editor_plugins.otio.writer import add_take_tracks

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def clip(name, path, start, duration, rate, media_start=0, media_frames=1000, bare=True):
    ref = otio.schema.ExternalReference(target_url=str(path) if bare else path.as_uri(),
                                        available_range=TR(RT(media_start, rate), RT(media_frames, rate)))
    return otio.schema.Clip(name=name, media_reference=ref,
                            source_range=TR(RT(media_start + start, rate), RT(duration, rate)))


def resolve_shaped(tmp_path, rate=24.0):
    """A timeline shaped like Resolve's OTIO export: Resolve_OTIO keys, 01:00:00:00, 'Video 1'/'Audio 1'."""
    timeline = otio.schema.Timeline(name="Reel 1", global_start_time=RT(86400, rate))
    timeline.metadata["Resolve_OTIO"] = {"Resolve OTIO Meta Version": "1.0"}
    video = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    video.metadata["Resolve_OTIO"] = {"Locked": False}
    # media with a 01:00:00:00 timecode: source ranges are in the media's own timecode
    video.append(clip("shot_a.mov", tmp_path / "shot_a.mov", 10, 48, rate, media_start=86400))
    video.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(12, rate))))
    video.append(clip("shot_b.mov", tmp_path / "shot_b.mov", 0, 36, rate))
    dub = otio.schema.Track(name="Audio 2", kind=otio.schema.TrackKind.Audio)
    dub.metadata["lipsync"] = {"language": "de"}
    dub.metadata["Resolve_OTIO"] = {"Audio Type": "Mono", "Locked": False, "SoloOn": False}
    dub.append(clip("de.wav", tmp_path / "de.wav", 0, 96, rate))
    fr = otio.schema.Track(name="Dub FR", kind=otio.schema.TrackKind.Audio)
    fr.append(clip("fr.wav", tmp_path / "fr.wav", 24, 50, rate))  # covers shot_a only
    timeline.tracks.extend([video, dub, fr])
    return timeline


def test_plan_reads_dub_languages_source_and_audio_ranges(tmp_path):
    takes, problems = plan_takes(resolve_shaped(tmp_path), tmp_path)
    got = sorted((t.clip.name, t.language, round(t.source_start_s, 4), round(t.duration_s, 4),
                  round(t.audio_start_s, 4)) for t in takes)
    assert got == [("shot_a.mov", "DE", round(10 / 24, 4), 2.0, 0.0),
                   ("shot_a.mov", "FR", round(10 / 24, 4), 2.0, 1.0),
                   ("shot_b.mov", "DE", 0.0, 1.5, 2.5)]  # shot_b starts at 48 + 12 = frame 60 of the dub
    assert len(problems) == 1 and "shot_b.mov" in problems[0] and "Dub FR" in problems[0]
    nested = resolve_shaped(tmp_path)
    nested.video_tracks()[0].append(otio.schema.Stack(name="compound"))
    assert any("nested clip 'compound'" in p for p in plan_takes(nested, tmp_path)[1])
    assert {t.video.name for t in takes} == {"shot_a.mov", "shot_b.mov"}


def test_ntsc_rate_and_file_urls(tmp_path):
    rate = 24000 / 1001
    timeline = otio.schema.Timeline(name="ntsc")
    video = otio.schema.Track(name="V", kind=otio.schema.TrackKind.Video)
    video.append(clip("s", tmp_path / "s.mov", 1001, 48, rate, bare=False))
    dub = otio.schema.Track(name="dub es", kind=otio.schema.TrackKind.Audio)
    dub.append(clip("d", tmp_path / "d.wav", 0, 48, rate, bare=False))
    timeline.tracks.extend([video, dub])
    (take,), _ = plan_takes(timeline, tmp_path)
    assert take.language == "ES" and take.video == tmp_path / "s.mov"
    assert take.source_start_s == pytest.approx(1001 * 1001 / 24000) and take.duration_s == pytest.approx(48 * 1001 / 24000)


def test_unreadable_or_dubless_timelines_say_what_to_fix(tmp_path):
    (tmp_path / "broken.otio").write_text("{ not otio")
    with pytest.raises(TimelineError, match="cannot read the timeline"):
        read_timeline(tmp_path / "broken.otio")
    with pytest.raises(TimelineError, match="not found"):
        read_timeline(tmp_path / "missing.otio")
    timeline = resolve_shaped(tmp_path)
    for track in timeline.audio_tracks():
        track.name, track.metadata["lipsync"] = "Audio", {}
    with pytest.raises(TimelineError, match="name an audio track 'Dub DE'"):
        plan_takes(timeline, tmp_path)


def test_round_trip_adds_language_tracks_and_keeps_resolve_metadata(tmp_path):
    timeline = resolve_shaped(tmp_path)
    takes, _ = plan_takes(timeline, tmp_path)
    results = []
    for take in takes:
        failed = take.language == "FR"
        results.append({"state": "FAILED" if failed else "SUCCEEDED", "job_id": "j-" + take.clip.name,
                        "request_id": "r", "output": None if failed else str(tmp_path / f"{take.clip.name}.de.mov"),
                        "error": {"code": "INVALID_ARGUMENT", "message": "no face"} if failed else None,
                        "report": {"frames": 48, "generator": "identity", "sync_score": 6.5, "sync_offset": 0,
                                   "passthrough": [{"start": 3, "end": 7, "reason": "no_face"}]}})
    new, problems = add_take_tracks(timeline, takes, results)
    assert problems == ["shot_a.mov (FR): INVALID_ARGUMENT: no face"]
    path = tmp_path / "out.otio"
    otio.adapters.write_to_file(new, str(path))
    back = otio.adapters.read_from_file(str(path))
    assert back.metadata["Resolve_OTIO"] == {"Resolve OTIO Meta Version": "1.0"}
    assert back.global_start_time == RT(86400, 24)
    assert [t.name for t in back.video_tracks()] == ["Video 1", "LipSync DE"]
    assert back.audio_tracks()[0].metadata["Resolve_OTIO"]["Audio Type"] == "Mono"
    lipsync = back.video_tracks()[1]
    clips = list(lipsync.find_clips())
    assert [c.range_in_parent() for c in clips] == [TR(RT(0, 24), RT(48, 24)), TR(RT(60, 24), RT(36, 24))]
    assert clips[0].media_reference.target_url == str(tmp_path / "shot_a.mov.de.mov")  # bare path, as Resolve wants
    assert clips[0].source_range == TR(RT(0, 24), RT(48, 24))
    meta = clips[0].metadata["lipsync"]
    assert (meta["language"], meta["job_id"], meta["model"], meta["sync_score"]) == ("DE", "j-shot_a.mov", "identity", 6.5)
    assert clips[0].markers[0].marked_range == TR(RT(3, 24), RT(5, 24))
    again, _ = add_take_tracks(back, takes, results)  # a rerun replaces the language track
    assert [t.name for t in again.video_tracks()] == ["Video 1", "LipSync DE"]
