"""The Resolve fake reproduces the documented contract and quirks (resolve_api.md section 8)."""
from __future__ import annotations

from resolve_scene import write_take
from fake_resolve import FakeMediaPoolItem, FakeResolve, FakeTimeline


def test_record_frames_are_absolute_and_markers_relative(scene):
    resolve, timeline, media = scene
    assert timeline.GetStartFrame() == 86400  # 01:00:00:00 at 24 fps
    first = timeline.GetItemListInTrack("video", 1)[0]
    assert (first.GetStart(), first.GetEnd(), first.GetDuration()) == (86400, 86448, 48)  # exclusive end
    assert first.GetLeftOffset() == 10
    assert timeline.AddMarker(0, "Blue", "head", "", 1) is True
    assert timeline.AddMarker(0, "Blue", "again", "", 1) is False  # one marker per frame
    assert list(timeline.GetMarkers()) == [0.0]  # float keys, relative to the timeline start


def test_failures_return_none_or_false_never_raise(scene):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    assert hasattr(timeline, "NoSuchCall") and "NoSuchCall" not in dir(timeline)
    assert timeline.NoSuchCall(1, 2) is None
    assert timeline.SetTrackName("video", 9, "x") is False  # 1-based, must exist
    assert timeline.GetItemListInTrack("video", 0) == []
    assert pool.AppendToTimeline([{"mediaPoolItem": media["shot_b.mov"], "startFrame": 0, "endFrame": 10,
                                   "recordFrame": 90000, "trackIndex": 7, "mediaType": 1}]) is None
    assert timeline.GetItemListInTrack("video", 1)[0].SetClipColor("Red") is False  # a marker-only colour
    assert media["shot_a.mov"].SetMetadata("lipsync_language", "DE") is False  # not a Resolve field
    assert timeline.GetItemListInTrack("video", 1)[0].SetMetadata("Comments", "x") is None  # items have none


def test_fractional_frame_rejects_the_whole_batch(scene):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    timeline.AddTrack("video")
    good = {"mediaPoolItem": media["shot_b.mov"], "startFrame": 0, "endFrame": 10, "recordFrame": 86400,
            "trackIndex": 2, "mediaType": 1}
    bad = dict(good, recordFrame=86500.5)
    assert pool.AppendToTimeline([good, bad]) is None
    assert timeline.GetItemListInTrack("video", 2) == []


def test_overlap_drops_the_later_item_but_returns_a_null_id_item(scene):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    placed = pool.AppendToTimeline([{"mediaPoolItem": media["shot_b.mov"], "startFrame": 0, "endFrame": 10,
                                     "recordFrame": 86405, "trackIndex": 1, "mediaType": 1}])
    assert len(placed) == 1 and placed[0].GetUniqueId() == ""  # looks placed, is not
    assert len(timeline.GetItemListInTrack("video", 1)) == 2


def test_takes_selector_is_one_based_and_counts_the_original(scene, tmp_path):
    resolve, timeline, media = scene
    item = timeline.GetItemListInTrack("video", 1)[0]
    take = FakeMediaPoolItem(str(tmp_path / "take.mov"), "24", 48, "Video")
    assert item.GetTakesCount() == 0 and item.GetSelectedTakeIndex() == 0
    assert item.AddTake(take, 0, 48) is True
    assert item.GetTakesCount() == 2 and item.GetSelectedTakeIndex() == 1
    assert item.SelectTakeByIndex(3) is False and item.SelectTakeByIndex(2) is True
    assert item.GetMediaPoolItem() is take
    assert item.DeleteTakeByIndex(2) is True and item.GetSelectedTakeIndex() == 1
    assert item.FinalizeTake() is True and item.GetTakesCount() == 0


def test_import_twice_returns_nothing_the_second_time(tmp_path):
    resolve = FakeResolve()
    pool = resolve.project.GetMediaPool()
    path = write_take(tmp_path / "clip.mov", frames=12)
    (tmp_path / "notes.txt").write_text("not media")
    imported = pool.ImportMedia([str(path), str(tmp_path / "notes.txt")])
    assert [(c.GetClipProperty("FPS"), c.GetClipProperty("Frames"), c.GetClipProperty("Type")) for c in imported] == [
        ("24", "12", "Video")]
    assert pool.ImportMedia([str(path)]) == []
    assert pool.ImportMedia([str(tmp_path / "missing.mov")]) == []


def test_locked_track_refuses_inserts_and_first_delete_is_flaky(scene):
    resolve, timeline, media = scene
    pool = resolve.project.GetMediaPool()
    timeline.AddTrack("video")
    timeline.SetTrackLock("video", 2, True)
    info = {"mediaPoolItem": media["shot_b.mov"], "startFrame": 0, "endFrame": 10, "recordFrame": 86400,
            "trackIndex": 2, "mediaType": 1}
    assert pool.AppendToTimeline([info]) is None
    timeline.flaky_delete = True
    items = timeline.GetItemListInTrack("video", 1)
    assert timeline.DeleteClips(items) is False and len(timeline.GetItemListInTrack("video", 1)) == 2
    assert timeline.DeleteClips(items) is True and timeline.GetItemListInTrack("video", 1) == []


def test_edition_and_start_frame_at_other_rates():
    free = FakeResolve("DaVinci Resolve", (21, 1, 0, 3, ""))
    assert free.GetProductName() == "DaVinci Resolve" and free.GetVersionString() == "21.1.0.3"
    assert FakeTimeline("t", fps=25, start_tc="10:00:00:00").GetStartFrame() == 900000
