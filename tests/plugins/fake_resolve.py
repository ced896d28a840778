"""A faithful fake of DaVinci Resolve's scripting API (the only fake the project allows).

Built from /work/shared/reference/resolve_api.md (Blackmagic's README of 24 Jul 2026 plus measured quirks):
- calls never raise: failure is None / False / [] / {} with no message; unknown method names are
  "present" (``hasattr`` is True) and return None, while ``dir()`` lists only the real ones;
- indices (tracks, takes, timelines) are 1-based;
- item record frames and ``recordFrame`` are absolute (timeline start timecode included: 01:00:00:00 at
  24 fps is frame 86400); timeline marker frames are relative to the timeline start;
- ``endFrame`` is exclusive; source frames count in the media's own fps; a fractional frame anywhere in
  an ``AppendToTimeline`` batch rejects the whole batch (None);
- the track must exist; an overlap on the same track silently drops the later item but still returns a
  "null-id" item that is not on the timeline (the return value is no proof of placement);
- ``DeleteClips`` fails on its first attempt when ``flaky_delete`` is set; ``ImportMedia`` of a path already
  in the pool returns []; ``SetMetadata`` accepts only Resolve's own metadata fields; timeline items have
  no ``SetMetadata``; ``SetClipColor`` accepts only the 16 clip colours.
The timeline items live in fake_resolve_items.py.
"""
from __future__ import annotations

import itertools
import os

import av

from fake_resolve_items import FakeTimelineItem, MarkerHolder, ResolveObject, is_int_frame
from fake_resolve_otio import export_otio, import_otio

_ids = itertools.count(1)
EXPORT_OTIO, EXPORT_AAF = 32, 0  # the live `resolve` object carries these enums; strings are refused

METADATA_FIELDS = ("Description", "Comments", "Keywords", "Shot", "Scene", "Take", "Good Take",
                   "Clip Name", "Camera #", "Roll Card #", "People", "Reviewers Notes")


def probe(path: str):
    """(fps, frames, type, start TC) of a media file as Resolve's clip properties show them, or None if
    unreadable. The start TC is the file's timecode tag ("00:00:00:00" without one)."""
    try:
        with av.open(path) as container:
            kind = " + ".join(k for k, streams in (("Video", container.streams.video),
                                                    ("Audio", container.streams.audio)) if streams)
            tags = [container.metadata] + [s.metadata for s in container.streams.video]
            start_tc = next((t["timecode"] for t in tags if t.get("timecode")), "00:00:00:00")
            if container.streams.video:
                stream = container.streams.video[0]
                frames = sum(1 for _ in container.decode(stream))
                return "%g" % round(float(stream.average_rate), 3), frames, kind, start_tc
            return "", 0, kind, start_tc
    except (av.FFmpegError, OSError):
        return None


def _timecode_to_frames(tc: str, fps: int) -> int:
    h, m, s, f = (int(x) for x in tc.split(":"))
    return ((h * 60 + m) * 60 + s) * fps + f


class FakeMediaPoolItem(MarkerHolder):
    """A clip in the media pool: a file with its own fps and frame count."""

    def __init__(self, path: str, fps: str = "24", frames: int = 240, clip_type: str = "Video + Audio",
                 start_tc: str = "00:00:00:00") -> None:
        self._id = "mpi-%d" % next(_ids)
        self._props = {"File Path": path, "FPS": fps, "Frames": str(frames), "Type": clip_type,
                       "Clip Name": os.path.basename(path), "Start TC": start_tc}
        self._metadata: dict = {}

    def GetName(self):
        return self._props["Clip Name"]

    def GetMediaId(self):
        return self._id

    def GetUniqueId(self):
        return self._id

    def GetClipProperty(self, key=None):
        if key is None:
            return dict(self._props)
        return self._props.get(key, "")

    def GetMetadata(self, key=None):
        if key is None:
            return dict(self._metadata)
        return self._metadata.get(key, "")

    def SetMetadata(self, key, value=None):
        pairs = key if isinstance(key, dict) else {key: value}
        if not all(k in METADATA_FIELDS and isinstance(v, str) for k, v in pairs.items()):
            return False
        self._metadata.update(pairs)
        return True

    @property
    def frames(self) -> int:
        return int(self._props["Frames"])


class FakeFolder(ResolveObject):
    """A media pool bin."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.clips: list = []
        self.subfolders: list = []

    def GetName(self):
        return self._name

    def GetClipList(self):
        return list(self.clips)

    def GetSubFolderList(self):
        return list(self.subfolders)


class FakeTimeline(MarkerHolder):
    """A timeline with absolute record frames; timeline markers are relative to its start."""

    def __init__(self, name: str, fps: int = 24, start_tc: str = "01:00:00:00", video_tracks: int = 1,
                 audio_tracks: int = 1, rate_text: str | None = None) -> None:
        self._name = name
        self._fps = fps  # nominal frames per second of the timecode (24 for 23.976)
        self._rate_text = rate_text or str(fps)  # what Resolve reports, e.g. "23.976"
        self._start_tc = start_tc
        self._tracks = {"video": [["Video %d" % (i + 1), []] for i in range(video_tracks)],
                        "audio": [["Audio %d" % (i + 1), []] for i in range(audio_tracks)],
                        "subtitle": []}
        self._locked: set = set()
        self.mark_in_out: dict = {}
        self.flaky_delete = False
        self._delete_attempted = False

    # --- reads -------------------------------------------------------------------------------------
    def GetName(self):
        return self._name

    def GetSetting(self, name=None):
        settings = {"timelineFrameRate": self._rate_text, "timelineDropFrameTimecode": "0"}
        return settings if name is None else settings.get(name, "")

    def GetStartFrame(self):
        return _timecode_to_frames(self._start_tc, self._fps)

    def GetEndFrame(self):
        ends = [it.GetEnd() for track in self._all_tracks() for it in track[1]]
        return max(ends, default=self.GetStartFrame())

    def GetStartTimecode(self):
        return self._start_tc

    def GetTrackCount(self, trackType):
        return len(self._tracks.get(trackType, ()))

    def _track(self, trackType, index):
        tracks = self._tracks.get(trackType)
        if tracks is None or not isinstance(index, int) or not 1 <= index <= len(tracks):
            return None
        return tracks[index - 1]

    def _all_tracks(self):
        return [t for kind in ("video", "audio") for t in self._tracks[kind]]

    def GetTrackName(self, trackType, trackIndex):
        track = self._track(trackType, trackIndex)
        return track[0] if track else ""

    def SetTrackName(self, trackType, trackIndex, name):
        track = self._track(trackType, trackIndex)
        if track is None or not isinstance(name, str):
            return False
        track[0] = name
        return True

    def GetItemListInTrack(self, trackType, index):
        track = self._track(trackType, index)
        return sorted(track[1], key=lambda it: it.GetStart()) if track else []

    def GetMarkInOut(self):
        return dict(self.mark_in_out)

    # --- edits -------------------------------------------------------------------------------------
    def AddTrack(self, trackType, subType=None):
        if trackType not in self._tracks:
            return False
        number = len(self._tracks[trackType]) + 1
        self._tracks[trackType].append(["%s %d" % (trackType.capitalize(), number), []])
        return True

    def SetTrackLock(self, trackType, trackIndex, locked):
        if self._track(trackType, trackIndex) is None:
            return False
        (self._locked.add if locked else self._locked.discard)((trackType, trackIndex))
        return True

    def GetIsTrackLocked(self, trackType, trackIndex):
        return (trackType, trackIndex) in self._locked

    def DeleteClips(self, items, ripple=False):
        if not isinstance(items, list) or not items:
            return False
        if self.flaky_delete and not self._delete_attempted:
            self._delete_attempted = True  # measured: the first attempt fails
            return False
        for item in items:
            for track in self._all_tracks():
                if item in track[1]:
                    track[1].remove(item)
        return True

    def Export(self, fileName, exportType, exportSubtype=None):
        if exportType != EXPORT_OTIO or not isinstance(fileName, str):
            return False  # the fake speaks OTIO only; string export types are refused like Resolve does
        return export_otio(self, fileName)

    # --- used by the media pool --------------------------------------------------------------------
    def place(self, mpi, start, end, record, track_type, track_index):
        """Put an item on a track; returns the item, or a null-id item when the span is occupied."""
        track = self._track(track_type, track_index)
        if track is None or (track_type, track_index) in self._locked:
            return None
        item = FakeTimelineItem(self, mpi, start, end, record, track_type, track_index, next(_ids))
        if any(o.GetStart() < item.GetEnd() and item.GetStart() < o.GetEnd() for o in track[1]):
            item.null_id = True  # the earlier item wins; the later one is dropped silently
            return item
        track[1].append(item)
        return item


class FakeMediaPool(ResolveObject):
    """The project's media pool: bins, import and timeline placement."""

    def __init__(self, project) -> None:
        self._project = project
        self._root = FakeFolder("Master")
        self._current = self._root
        self.known_media: dict = {}  # path -> (fps, frames, type, start TC) for media the fake should not probe

    def _all_clips(self, folder=None):
        folder = folder or self._root
        return folder.clips + [c for sub in folder.subfolders for c in self._all_clips(sub)]

    def GetRootFolder(self):
        return self._root

    def GetCurrentFolder(self):
        return self._current

    def SetCurrentFolder(self, folder):
        if not isinstance(folder, FakeFolder):
            return False
        self._current = folder
        return True

    def AddSubFolder(self, parent, name):
        if not isinstance(parent, FakeFolder) or not isinstance(name, str) or not name:
            return None
        folder = FakeFolder(name)
        parent.subfolders.append(folder)
        return folder

    def ImportMedia(self, paths):
        if not isinstance(paths, list):
            return []
        pooled = {c.GetClipProperty("File Path") for c in self._all_clips()}
        imported = []
        for path in paths:
            if not isinstance(path, str) or path in pooled or not os.path.isfile(path):
                continue
            probed = self.known_media.get(path) or probe(path)
            if probed is None:
                continue  # Resolve cannot read it: nothing is imported, and nothing is said
            item = FakeMediaPoolItem(path, *probed)
            self._current.clips.append(item)
            imported.append(item)
        return imported

    def pooled(self, path):
        """The pool clip of ``path``, imported into the current bin when absent; None if unreadable."""
        for clip in self._all_clips():
            if clip.GetClipProperty("File Path") == path:
                return clip
        imported = self.ImportMedia([path])
        return imported[0] if imported else None

    def ImportTimelineFromFile(self, filePath, importOptions=None):
        return import_otio(self._project, filePath, importOptions)

    def AppendToTimeline(self, *args):
        timeline = self._project.GetCurrentTimeline()
        infos = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        if timeline is None or not infos:
            return None
        if any(isinstance(i, dict) and not all(is_int_frame(i.get(k, 0)) for k in
               ("startFrame", "endFrame", "recordFrame")) for i in infos):
            return None  # one fractional frame rejects the whole batch
        placed = []
        for info in infos:
            if isinstance(info, FakeMediaPoolItem):
                info = {"mediaPoolItem": info}
            mpi = info.get("mediaPoolItem") if isinstance(info, dict) else None
            if not isinstance(mpi, FakeMediaPoolItem):
                return None
            start, end = int(info.get("startFrame", 0)), int(info.get("endFrame", mpi.frames))
            if not 0 <= start < end <= mpi.frames:
                return None
            duration = end - start  # media frames; the fake places at equal media and timeline rates
            record = int(info.get("recordFrame", timeline.GetEndFrame()))
            kinds = {1: ["video"], 2: ["audio"]}.get(info.get("mediaType"), ["video", "audio"])
            for kind in kinds:
                if kind == "video" and "Video" not in mpi.GetClipProperty("Type"):
                    continue
                item = timeline.place(mpi, start, start + duration, record, kind,
                                      int(info.get("trackIndex", 1)))
                if item is None:
                    return None
                placed.append(item)
        return placed


class FakeProject(ResolveObject):
    def __init__(self, name: str = "Dub project") -> None:
        self._name = name
        self._pool = FakeMediaPool(self)
        self._timelines: list = []
        self._current = None

    def GetName(self):
        return self._name

    def GetMediaPool(self):
        return self._pool

    def add_timeline(self, timeline: FakeTimeline) -> FakeTimeline:
        self._timelines.append(timeline)
        self._current = self._current or timeline
        return timeline

    def GetCurrentTimeline(self):
        return self._current

    def GetTimelineCount(self):
        return len(self._timelines)

    def GetTimelineByIndex(self, idx):
        return self._timelines[idx - 1] if isinstance(idx, int) and 1 <= idx <= len(self._timelines) else None

    def SetCurrentTimeline(self, timeline):
        if timeline not in self._timelines:
            return False
        self._current = timeline
        return True

    def GetSetting(self, name=None):
        return {"timelineFrameRate": "24"}.get(name, "") if name else {"timelineFrameRate": "24"}

    def SaveProject(self):
        return True


class FakeProjectManager(ResolveObject):
    def __init__(self, project) -> None:
        self._project = project

    def GetCurrentProject(self):
        return self._project


class FakeResolve(ResolveObject):
    """The ``resolve`` object a menu script receives."""

    EXPORT_OTIO = EXPORT_OTIO
    EXPORT_AAF = EXPORT_AAF

    def __init__(self, product: str = "DaVinci Resolve Studio", version=(21, 1, 0, 5, "")) -> None:
        self._product = product
        self._version = list(version)
        self.project = FakeProject()
        self._manager = FakeProjectManager(self.project)

    def GetProductName(self):
        return self._product

    def GetVersion(self):
        return list(self._version)

    def GetVersionString(self):
        return ".".join(str(v) for v in self._version if v != "")

    def GetProjectManager(self):
        return self._manager

