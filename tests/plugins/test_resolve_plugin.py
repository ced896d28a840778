"""The Resolve script's planning and placement against the fake: frames, tracks, takes, reruns, failures."""
from __future__ import annotations

import ast
import sys

import pytest
from resolve_scene import RESOLVE_DIR, write_take
from fake_resolve import FakeMediaPoolItem, FakeResolve, FakeTimeline
from lipsync_resolve.calls import PluginError, ResolveCallError
from lipsync_resolve.placement import add_as_take, find_pool_clip, import_take, place_on_track
from lipsync_resolve.qa_record import add_markers, tag_take
from lipsync_resolve.session import edition_note, load_settings, run
from lipsync_resolve.timeline_reader import parse_rate, plan_jobs


def no_pool(_name):
    return None


def result_for(job, path, passthrough=()):
    return {"state": "SUCCEEDED", "job_id": "job-" + job.key[:6], "output": str(path),
            "report": {"frames": job.source_end - job.source_start, "sync_score": 7.5, "sync_offset": 0,
                       "passthrough": [dict(start=s, end=e, reason=r) for s, e, r in passthrough]}}


def test_every_plugin_file_is_python36_and_stdlib_only():
    files = sorted(RESOLVE_DIR.rglob("*.py"))
    assert len(files) >= 7
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path), feature_version=(3, 6))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ("lipsync_resolve", "DaVinciResolveScript"), (
                    f"{path.name} imports {name}")


def test_rates_are_exact():
    assert parse_rate("23.976") == parse_rate("23.98") == pytest.approx(24000 / 1001)
    assert parse_rate("24000/1001").denominator == 1001 and parse_rate("25") == 25
    with pytest.raises(PluginError, match="not a number"):
        parse_rate("fast")


def test_plan_uses_absolute_record_frames_and_exact_source_in(scene):
    resolve, timeline, media = scene
    timeline.GetItemListInTrack("video", 1)[0].source_off_by_one = True  # GetSourceStartFrame drifts
    jobs, skipped = plan_jobs(timeline, {}, no_pool)
    assert skipped == []
    assert [(j.clip_name, j.record_start, j.record_end, j.source_start, j.source_end) for j in jobs] == [
        ("shot_a.mov", 86400, 86448, 10, 58), ("shot_b.mov", 86448, 86484, 0, 36)]
    assert [j.audio_start_s for j in jobs] == [0.0, 2.0]  # 48 frames into the dub at 24 fps
    assert {j.language for j in jobs} == {"DE"} and len({j.key for j in jobs}) == 2


def test_marks_limit_the_clips_and_dubs_can_be_files(scene, tmp_path):
    resolve, timeline, media = scene
    timeline.mark_in_out = {"video": {"in": 50, "out": 60}}  # relative to the start: inside shot_b
    dub = tmp_path / "fr.wav"
    dub.write_bytes(b"RIFF")
    jobs, _ = plan_jobs(timeline, {"fr": str(dub)}, no_pool)
    assert sorted((j.clip_name, j.language) for j in jobs) == [("shot_b.mov", "DE"), ("shot_b.mov", "FR")]
    french = [j for j in jobs if j.language == "FR"][0]
    assert french.audio_path == str(dub) and french.audio_start_s == 2.0


def test_a_dub_that_does_not_cover_the_clip_is_reported_not_rendered(scene):
    resolve, timeline, media = scene
    dub = timeline.GetItemListInTrack("audio", 1)[0]
    timeline.DeleteClips([dub])
    timeline.place(media["de.wav"], 0, 60, 86400, "audio", 1)  # ends at 86460, inside shot_b
    jobs, skipped = plan_jobs(timeline, {}, no_pool)
    assert [j.clip_name for j in jobs] == ["shot_a.mov"]
    assert skipped[0].clip_name == "shot_b.mov" and "does not cover the clip's frames 86448-86483" in skipped[0].reason


def test_no_dub_anywhere_says_how_to_add_one(scene):
    resolve, timeline, media = scene
    timeline.SetTrackName("audio", 1, "Audio 1")
    with pytest.raises(PluginError, match="name an audio track 'Dub DE'"):
        plan_jobs(timeline, {}, no_pool)


def test_track_placement_reads_back_and_a_rerun_replaces_the_take(scene, tmp_path):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    job = plan_jobs(timeline, {}, no_pool)[0][0]
    originals = [(i.GetStart(), i.GetEnd()) for i in timeline.GetItemListInTrack("video", 1)]
    for attempt in ("first", "second"):
        take_file = write_take(tmp_path / f"take_{attempt}.mov")
        take = import_take(pool, str(take_file))
        item = place_on_track(pool, timeline, job, take, 48)
        assert (item.GetStart(), item.GetEnd()) == (86400, 86448)
        timeline.flaky_delete = True  # the second run's first delete fails; the plugin retries
    assert timeline.GetTrackName("video", 2) == "LipSync DE" and timeline.GetTrackCount("video") == 2
    placed = timeline.GetItemListInTrack("video", 2)
    assert len(placed) == 1 and placed[0].GetMediaPoolItem().GetClipProperty("File Path").endswith("take_second.mov")
    assert [(i.GetStart(), i.GetEnd()) for i in timeline.GetItemListInTrack("video", 1)] == originals
    bin_clips = pool.GetRootFolder().GetSubFolderList()[0].GetClipList()
    assert pool.GetRootFolder().GetSubFolderList()[0].GetName() == "LipSync" and len(bin_clips) == 2
    assert import_take(pool, str(tmp_path / "take_second.mov")) is bin_clips[1]  # re-import finds it


def test_refused_placement_is_an_error_naming_the_clip(scene, tmp_path):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    job = plan_jobs(timeline, {}, no_pool)[0][0]
    timeline.AddTrack("video")
    timeline.SetTrackName("video", 2, "LipSync DE")
    timeline.SetTrackLock("video", 2, True)
    write_take(tmp_path / "take.mov")
    take = import_take(pool, str(tmp_path / "take.mov"))
    with pytest.raises(ResolveCallError, match="place the DE take of 'shot_a.mov'"):
        place_on_track(pool, timeline, job, take, 48)
    with pytest.raises(ResolveCallError, match="could not import"):
        import_take(pool, str(tmp_path / "missing.mov"))


def test_takes_mode_replaces_the_language_take_and_keeps_others(scene, tmp_path):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    job = plan_jobs(timeline, {}, no_pool)[0][0]
    for name, language in (("de1", "DE"), ("fr", "FR"), ("de2", "DE")):
        write_take(tmp_path / f"{name}.mov")
        take = import_take(pool, str(tmp_path / f"{name}.mov"))
        tag_take(take, language, result_for(job, tmp_path / f"{name}.mov"))
        item = add_as_take(timeline, job._replace(language=language), take, 48)
    paths = [item.GetTakeByIndex(i)["mediaPoolItem"].GetClipProperty("File Path").rsplit("/", 1)[1]
             for i in range(1, item.GetTakesCount() + 1)]
    assert paths == ["shot_a.mov", "fr.mov", "de2.mov"]  # the original, FR, and only the newest DE
    assert item.GetSelectedTakeIndex() == 3 and timeline.GetTrackCount("video") == 1


def test_qa_record_as_metadata_and_markers(scene, tmp_path):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    job = plan_jobs(timeline, {}, no_pool)[0][0]
    write_take(tmp_path / "take.mov")
    take = import_take(pool, str(tmp_path / "take.mov"))
    result = result_for(job, tmp_path / "take.mov", passthrough=[(12, 20, "no_face")])
    tag_take(take, "DE", result)
    item = place_on_track(pool, timeline, job, take, 48)
    assert add_markers(item, "DE", result) == []
    markers = item.GetMarkers()
    assert markers[0.0]["color"] == "Yellow" and "sync 7.50" in markers[0.0]["note"]
    assert "9 of 48 frames passed through" in markers[0.0]["note"]
    assert markers[12.0]["duration"] == 9.0 and "no_face" in markers[12.0]["note"]
    assert take.GetMetadata("Keywords") == "lipsync,lipsync:DE"


def test_free_edition_from_21_1_is_told_to_use_the_lua_or_otio_route():
    assert "Lua launcher" in edition_note(FakeResolve("DaVinci Resolve", (21, 1, 0, 3, "")))
    assert edition_note(FakeResolve("DaVinci Resolve", (21, 0, 4, 5, ""))) is None
    assert edition_note(FakeResolve("DaVinci Resolve Studio", (21, 1, 0, 3, ""))) is None


def test_pool_clip_dubs_and_media_at_another_rate(scene, tmp_path):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    timeline.SetTrackName("audio", 1, "Audio 1")
    fast = FakeMediaPoolItem(str(tmp_path / "fast.mov"), "48", 400, "Video")
    timeline.DeleteClips(timeline.GetItemListInTrack("video", 1))
    timeline.place(fast, 20, 44, 86400, "video", 1)  # the fake places 1:1; Resolve's floor is not modelled
    jobs, _ = plan_jobs(timeline, {"es": "de.wav"}, lambda name: find_pool_clip(pool.GetRootFolder(), name))
    (job,) = jobs
    assert (job.language, job.audio_path) == ("ES", str(tmp_path / "de.wav"))  # the pool clip's file
    assert (job.source_start, job.source_end) == (20, 68)  # 24 timeline frames at 24 fps = 48 media frames at 48


def test_settings_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "LipSync.json"
    bad.write_text("{broken")
    with pytest.raises(PluginError, match="LipSync.json is not valid JSON"):
        load_settings(str(bad))
    bad.write_text('{"mode": "overwrite"}')
    with pytest.raises(PluginError, match="mode 'overwrite'"):
        load_settings(str(bad))
    defaults = load_settings(str(tmp_path / "absent.json"))
    assert defaults.mode == "track" and defaults.lipsync_command == ["lipsync"] and defaults.use_marks


def test_a_missing_lipsync_command_is_told_and_changes_nothing(scene, tmp_path):
    resolve, timeline, media = scene
    settings = load_settings(str(tmp_path / "absent.json"))._replace(lipsync_command=[str(tmp_path / "no-lipsync")])
    with pytest.raises(PluginError, match="cannot run the lipsync command"):
        run(resolve, settings, str(tmp_path), log=lambda line: None)
    assert timeline.GetTrackCount("video") == 1 and not list(tmp_path.glob("batch-*"))


def test_ntsc_timeline_offsets_use_the_exact_rate(tmp_path):
    resolve = FakeResolve()
    timeline = resolve.project.add_timeline(FakeTimeline("ntsc", fps=24, rate_text="23.976"))
    timeline.SetTrackName("audio", 1, "Dub JA")
    shot = FakeMediaPoolItem(str(tmp_path / "s.mov"), "23.976", 5000, "Video")
    dub = FakeMediaPoolItem(str(tmp_path / "ja.wav"), "23.976", 5000, "Audio")
    timeline.place(shot, 0, 1001, 86400 + 1001, "video", 1)
    timeline.place(dub, 0, 4000, 86400, "audio", 1)
    (job,), _ = plan_jobs(timeline, {}, no_pool)
    assert job.record_start == 87401 and job.audio_start_s == pytest.approx(1001 * 1001 / 24000)
    assert job.source_end - job.source_start == 1001
