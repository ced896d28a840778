"""The Resolve menu script end to end: fake Resolve, real `lipsync render-takes` subprocess, real daemon."""
from __future__ import annotations

import runpy

import av
from resolve_scene import REPO, RESOLVE_DIR, build_project
from fake_resolve import FakeResolve


def run_menu_script(resolve, settings, monkeypatch):
    monkeypatch.setenv("LIPSYNC_RESOLVE_SETTINGS", str(settings))
    script = runpy.run_path(str(RESOLVE_DIR / "LipSync.py"), run_name="lipsync_menu")
    return script["main"]({"resolve": resolve})


def frame_count(path):
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0))


def test_menu_script_places_takes_reports_failures_and_reruns_without_duplicates(
        media_root, daemon, daemon_env, tmp_path_factory, monkeypatch, capsys):
    work = media_root / "resolve_e2e"
    work.mkdir()
    resolve, timeline, settings = build_project(media_root, work)
    original = [(i.GetStart(), i.GetEnd()) for i in timeline.GetItemListInTrack("video", 1)]

    code = run_menu_script(resolve, settings, monkeypatch)
    log = capsys.readouterr().out
    assert code == 1, log  # the FR dub is too short: reported
    assert "placed 2 take(s), 2 failed" in log
    assert "shorter than the clip" in log  # the 0.3 s FR dub ends inside shot.mp4's clip...
    assert "past the end of the dub" in log  # ...and before noface.mp4's clip starts
    assert not list(work.rglob("*.mkv")) and not list(work.rglob("*.wav"))  # no range was cut to a file
    assert [timeline.GetTrackName("video", i) for i in (1, 2)] == ["Video 1", "LipSync DE"]
    assert timeline.GetTrackCount("video") == 2  # no track for the language that failed
    placed = timeline.GetItemListInTrack("video", 2)
    assert [(i.GetStart(), i.GetEnd()) for i in placed] == [(90000, 90015), (90015, 90025)]
    assert [(i.GetStart(), i.GetEnd()) for i in timeline.GetItemListInTrack("video", 1)] == original
    paths = [i.GetMediaPoolItem().GetClipProperty("File Path") for i in placed]
    assert [frame_count(p) for p in paths] == [15, 10]  # output frames = the clip's frames
    face_marker = placed[0].GetMarkers()[0.0]
    noface_marker = placed[1].GetMarkers()[0.0]
    assert "0 of 15 frames passed through" in face_marker["note"] and face_marker["color"] == "Green"
    assert "10 of 10 frames passed through" in noface_marker["note"] and noface_marker["color"] == "Yellow"
    assert placed[0].GetMediaPoolItem().GetMetadata("Keywords") == "lipsync,lipsync:DE"
    _daemon, client = daemon
    jobs_before = len(client.list(limit=1000))

    assert run_menu_script(resolve, settings, monkeypatch) == 1
    assert "placed 2 take(s), 2 failed" in capsys.readouterr().out
    again = timeline.GetItemListInTrack("video", 2)
    assert [i.GetMediaPoolItem().GetClipProperty("File Path") for i in again] == paths  # replaced, not added
    assert len(resolve.project.GetMediaPool().GetRootFolder().GetSubFolderList()[0].GetClipList()) == 2
    assert len(client.list(limit=1000)) == jobs_before  # idempotent: the daemon rendered nothing new


def test_menu_script_without_daemon_tells_the_editor(media_root, monkeypatch, capsys, tmp_path):
    work = media_root / "resolve_no_daemon"
    work.mkdir()
    resolve, timeline, settings = build_project(media_root, work)
    monkeypatch.setenv("LIPSYNC_DAEMON", "127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("LIPSYNC_TOKEN", "x" * 64)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    assert run_menu_script(resolve, settings, monkeypatch) == 2
    assert "cannot reach the lipsync daemon" in capsys.readouterr().out
    assert timeline.GetTrackCount("video") == 1 and not resolve.project.GetMediaPool().GetRootFolder().GetSubFolderList()


def test_menu_script_without_timeline_or_resolve(monkeypatch, capsys, tmp_path):
    resolve = FakeResolve()
    settings = tmp_path / "LipSync.json"
    settings.write_text("{}")
    assert run_menu_script(resolve, settings, monkeypatch) == 2
    assert "find the current timeline (open one in the Edit page)" in capsys.readouterr().out
    assert run_menu_script(None, settings, monkeypatch) == 2
    assert "not running inside DaVinci Resolve" in capsys.readouterr().out
