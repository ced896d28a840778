"""The free edition's route (what LipSync.lua does): Resolve OTIO export -> `lipsync otio` -> Resolve import."""
from __future__ import annotations

import av
import opentimelineio as otio
from resolve_scene import build_project
from fake_resolve import FakeMediaPoolItem, FakeResolve, FakeTimeline, probe
from media_factory import make_video

from lipsync_cli.main import main


def test_export_convert_import_places_takes_at_the_same_record_frames(media_root, daemon_env):
    work = media_root / "otio_route"
    work.mkdir()
    resolve, timeline, _settings = build_project(media_root, work)
    pool = resolve.project.GetMediaPool()
    exported, converted = work / "reel.otio", work / "reel-takes.otio"
    assert timeline.Export(str(exported), "otio") is False  # enums only, as in Resolve
    assert timeline.Export(str(exported), resolve.EXPORT_OTIO) is True
    assert otio.adapters.read_from_file(str(exported)).global_start_time.to_frames() == 90000

    code = main(["otio", str(exported), "--out", str(converted), "--output-dir", str(work / "takes")])
    assert code == 1  # the FR dub is shorter than its clips: reported, the DE takes are written

    imported = pool.ImportTimelineFromFile(str(converted), {"timelineName": "Dub reel LipSync",
                                                            "importSourceClips": True})
    assert imported is not None, "Resolve would refuse this OTIO: it is not Resolve-shaped"
    assert imported.GetStartFrame() == 90000
    names = [imported.GetTrackName("video", i) for i in range(1, imported.GetTrackCount("video") + 1)]
    assert names == ["Video 1", "LipSync DE"]
    takes = imported.GetItemListInTrack("video", 2)
    assert [(i.GetStart(), i.GetEnd()) for i in takes] == [(90000, 90015), (90015, 90025)]
    sources = imported.GetItemListInTrack("video", 1)
    assert [(i.GetStart(), i.GetEnd(), i.GetLeftOffset()) for i in sources] == [(90000, 90015, 5), (90015, 90025, 0)]
    assert pool.ImportTimelineFromFile(str(converted), {"timelineName": "Dub reel LipSync"}) is None  # name taken
    assert timeline.GetTrackCount("video") == 1  # the original timeline is untouched


def test_import_refuses_otio_that_is_not_resolve_shaped(tmp_path):
    resolve = FakeResolve()
    timeline = otio.schema.Timeline(name="t", global_start_time=otio.opentime.RationalTime(86400, 24))
    track = otio.schema.Track(name="Video 1")
    ref = otio.schema.ExternalReference(target_url=(tmp_path / "a.mov").as_uri(),
                                        available_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(10, 24)))
    track.append(otio.schema.Clip(name="a", media_reference=ref,
                                  source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(10, 24))))
    timeline.tracks.append(track)
    path = tmp_path / "url.otio"
    otio.adapters.write_to_file(timeline, str(path))
    assert resolve.project.GetMediaPool().ImportTimelineFromFile(str(path), {"timelineName": "x"}) is None
    assert resolve.project.GetTimelineCount() == 0


def test_takes_of_media_with_a_timecode_import_at_their_own_timecode(media_root, daemon_env):
    """A take carries the source timecode of its clip's first frame; the OTIO must say so, or Resolve
    refuses it (a 0-based range on media with a timecode)."""
    work = media_root / "otio_route_tc"
    work.mkdir()
    with av.open(str(media_root / "shot.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    shot = make_video(work / "shot_tc.mov", frames, timecode="10:00:00:00")
    resolve = FakeResolve()
    pool = resolve.project.GetMediaPool()
    timeline = resolve.project.add_timeline(FakeTimeline("TC reel", fps=25))
    timeline.SetTrackName("audio", 1, "Dub DE")
    items = {}
    for path in (shot, media_root / "de.wav"):
        items[path.name] = FakeMediaPoolItem(str(path), *probe(str(path)))
        pool.GetRootFolder().clips.append(items[path.name])
    assert items["shot_tc.mov"].GetClipProperty("Start TC") == "10:00:00:00"
    timeline.place(items["shot_tc.mov"], 5, 20, 90000, "video", 1)
    timeline.place(items["de.wav"], 0, 50, 90000, "audio", 1)
    exported, converted = work / "tc.otio", work / "tc-takes.otio"
    assert timeline.Export(str(exported), resolve.EXPORT_OTIO) is True
    assert main(["otio", str(exported), "--out", str(converted), "--output-dir", str(work / "takes")]) == 0

    take_clip = otio.adapters.read_from_file(str(converted)).video_tracks()[1].find_clips()[0]
    assert take_clip.source_range.start_time.to_frames() == 10 * 3600 * 25 + 5  # 10:00:00:05
    imported = pool.ImportTimelineFromFile(str(converted), {"timelineName": "TC reel LipSync"})
    assert imported is not None, "Resolve would refuse the take clip's range"
    take = imported.GetItemListInTrack("video", 2)[0]
    assert (take.GetStart(), take.GetEnd(), take.GetLeftOffset()) == (90000, 90015, 0)
