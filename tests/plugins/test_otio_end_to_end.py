"""`lipsync otio` end to end: a Resolve-shaped .otio file, the real daemon, takes on LipSync tracks."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import av
import opentimelineio as otio

from lipsync_cli.main import main
from lipsync_daemon.tracks import track_key
from media_factory import make_audio, speech_like

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def media_clip(path, start, duration, frames, rate=25):
    ref = otio.schema.ExternalReference(target_url=str(path), available_range=TR(RT(0, rate), RT(frames, rate)))
    return otio.schema.Clip(name=path.name, media_reference=ref, source_range=TR(RT(start, rate), RT(duration, rate)))


def write_resolve_export(path, media_root, missing_media=False):
    """Like Resolve's export: Resolve_OTIO metadata, start 01:00:00:00 at 25 fps, 'Video 1' / 'Audio 1'."""
    timeline = otio.schema.Timeline(name="Dub reel", global_start_time=RT(90000, 25))
    timeline.metadata["Resolve_OTIO"] = {"Resolve OTIO Meta Version": "1.0"}
    video = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    video.metadata["Resolve_OTIO"] = {"Locked": False}
    video.append(media_clip(media_root / "shot.mp4", 5, 15, 25))
    video.append(otio.schema.Gap(source_range=TR(RT(0, 25), RT(5, 25))))
    video.append(media_clip(media_root / ("gone.mp4" if missing_media else "noface.mp4"), 0, 10, 10))
    dub = otio.schema.Track(name="Dub DE", kind=otio.schema.TrackKind.Audio)
    dub.metadata["Resolve_OTIO"] = {"Audio Type": "Mono", "Locked": False, "SoloOn": False}
    dub.append(media_clip(media_root / "de.wav", 0, 50, 50))
    timeline.tracks.extend([video, dub])
    otio.adapters.write_to_file(timeline, str(path))
    return path


def frames_of(url):
    with av.open(url) as container:
        return sum(1 for _ in container.decode(video=0))


def files_under(folder):
    return {p for p in folder.rglob("*") if p.is_file()}


def test_otio_renders_each_clip_onto_a_language_track(media_root, daemon_env, capsys):
    work = media_root / "otio_e2e"
    work.mkdir()
    source = write_resolve_export(work / "reel.otio", media_root)
    out = work / "reel.lipsync.otio"
    before = files_under(media_root)
    code = main(["otio", str(source), "--out", str(out), "--output-dir", str(work / "takes")])
    assert code == 0, capsys.readouterr()
    result = otio.adapters.read_from_file(str(out))
    assert result.metadata["Resolve_OTIO"] == {"Resolve OTIO Meta Version": "1.0"}
    assert result.global_start_time == RT(90000, 25)
    assert [t.name for t in result.video_tracks()] == ["Video 1", "LipSync DE"]
    clips = list(result.video_tracks()[1].find_clips())
    assert [c.range_in_parent() for c in clips] == [TR(RT(0, 25), RT(15, 25)), TR(RT(20, 25), RT(10, 25))]
    assert [frames_of(c.media_reference.target_url) for c in clips] == [15, 10]
    meta = clips[1].metadata["lipsync"]
    assert meta["language"] == "DE" and meta["model"] == "identity" and meta["job_id"]
    assert meta["passthrough"][0]["reason"] == "no_face" and clips[1].markers  # the QA record travels along
    takes = {Path(unquote(urlparse(c.media_reference.target_url).path)) for c in clips}
    assert files_under(media_root) - before == takes | {out}  # the clips' ranges were not cut to other files


def test_languages_of_one_clip_share_its_face_track(media_root, daemon, daemon_env, capsys):
    """Two dub tracks under one clip: two takes of the same source range, tracked once by the daemon."""
    running, client = daemon
    work = media_root / "otio_two_languages"
    work.mkdir()
    make_audio(work / "fr.wav", speech_like(2.0, seed=3), 16000)
    timeline = otio.schema.Timeline(name="Two languages", global_start_time=RT(90000, 25))
    video = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    video.append(media_clip(media_root / "shot.mp4", 3, 12, 25))
    timeline.tracks.append(video)
    for language, dub in (("DE", media_root / "de.wav"), ("FR", work / "fr.wav")):
        track = otio.schema.Track(name=f"Dub {language}", kind=otio.schema.TrackKind.Audio)
        track.append(media_clip(dub, 10, 12, 50))  # the clip's audio starts 0.4 s into each dub
        timeline.tracks.append(track)
    source, out = work / "two.otio", work / "two.lipsync.otio"
    otio.adapters.write_to_file(timeline, str(source))
    assert main(["otio", str(source), "--out", str(out), "--output-dir", str(work / "takes")]) == 0, capsys.readouterr()
    result = otio.adapters.read_from_file(str(out))
    jobs = [client.get(c.metadata["lipsync"]["job_id"]) for t in result.video_tracks()[1:] for c in t.find_clips()]
    assert len(jobs) == 2 and {j.request.video_range.frame_count for j in jobs} == {12}
    assert {(j.request.video_range.first_frame, j.request.audio_offset_s) for j in jobs} == {(3, 0.4)}
    track = running.config.tracks_dir / f"{track_key(media_root / 'shot.mp4', (3, 12))}.npz"
    first_done = min(j.updated_unix for j in jobs)
    assert track.is_file() and track.stat().st_mtime <= first_done  # written by the first job, read by the second


def test_otio_reports_missing_media_and_still_writes_the_rest(media_root, daemon_env, capsys):
    work = media_root / "otio_missing"
    work.mkdir()
    source = write_resolve_export(work / "reel.otio", media_root, missing_media=True)
    out = work / "out.otio"
    code = main(["otio", str(source), "--out", str(out), "--output-dir", str(work / "takes")])
    printed = capsys.readouterr()
    assert code == 1 and "gone.mp4" in printed.err, printed
    clips = list(otio.adapters.read_from_file(str(out)).video_tracks()[1].find_clips())
    assert [c.metadata["lipsync"]["source_clip"] for c in clips] == ["shot.mp4"]


def test_otio_unreadable_timeline_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.otio"
    bad.write_text("{ this is not a timeline")
    assert main(["otio", str(bad), "--out", str(tmp_path / "out.otio"), "--daemon", "127.0.0.1:9",
                 "--token", "x" * 64]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lipsync: error: cannot read the timeline") and "Traceback" not in err
    assert not (tmp_path / "out.otio").exists()
