"""Timeline items of the Resolve fake (see fake_resolve.py for the rules it follows)."""
from __future__ import annotations

CLIP_COLOURS = ("Orange", "Apricot", "Yellow", "Lime", "Olive", "Green", "Teal", "Navy", "Blue", "Purple",
                "Violet", "Pink", "Tan", "Beige", "Brown", "Chocolate")


def is_int_frame(value) -> bool:
    """Resolve takes integral frame numbers only (an int, or a float with no fraction)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()


class ResolveObject:
    """Resolve objects answer every method name: an unknown one returns None instead of raising.

    ``hasattr`` is therefore always True; ``dir()`` lists only the methods that exist.
    """

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


class MarkerHolder(ResolveObject):
    """Markers keyed by float frame; one marker per frame; integral frames only."""

    def _marker_frame_ok(self, frame) -> bool:
        return True

    def AddMarker(self, frameId, color, name, note, duration, customData=""):
        markers = self.__dict__.setdefault("_markers", {})
        if not is_int_frame(frameId) or float(frameId) in markers or not self._marker_frame_ok(frameId):
            return False
        markers[float(frameId)] = {"color": color, "duration": float(duration), "note": note, "name": name,
                                   "customData": customData}
        return True

    def GetMarkers(self):
        return dict(self.__dict__.get("_markers", {}))


class FakeTimelineItem(MarkerHolder):
    """A clip on a timeline track: absolute record frames [start, end), source frames in media fps."""

    def __init__(self, timeline, mpi, source_start: int, source_end: int, record: int, track_type: str,
                 track_index: int, uid: int) -> None:
        self._timeline = timeline
        self._mpi = mpi
        self._source = (source_start, source_end)
        self._record = record
        self._track = [track_type, track_index]
        self._uid = "item-%d" % uid
        self._colour = ""
        self._takes: list = []  # [(mpi, start, end)] once the item is a take selector
        self._selected = 0
        self.null_id = False  # an "occupied span" item Resolve returns but never placed
        self.source_off_by_one = False  # measured quirk: GetSourceStartFrame one off on some items

    def GetName(self):
        return self._mpi.GetName()

    def GetUniqueId(self):
        return "" if self.null_id else self._uid

    def GetStart(self, subframe=False):
        return self._record

    def GetDuration(self, subframe=False):
        return self._source[1] - self._source[0]

    def GetEnd(self, subframe=False):
        return self._record + self.GetDuration()

    def GetLeftOffset(self):
        return self._source[0]

    def GetRightOffset(self):
        return self._mpi.frames - self._source[1]

    def GetSourceStartFrame(self):
        return self._source[0] + (1 if self.source_off_by_one else 0)

    def GetSourceEndFrame(self):
        return self._source[1]

    def GetSourceStartTime(self):
        return self._source[0] / float(self._mpi.GetClipProperty("FPS"))

    def GetSourceEndTime(self):
        return self._source[1] / float(self._mpi.GetClipProperty("FPS"))

    def GetMediaPoolItem(self):
        if self._takes:
            return self._takes[self._selected - 1][0]
        return self._mpi

    def GetTrackTypeAndIndex(self):
        return list(self._track)

    def _marker_frame_ok(self, frame) -> bool:
        return 0 <= frame < self.GetDuration()  # item markers count from the item's first frame

    def SetClipColor(self, colour):
        if colour not in CLIP_COLOURS:
            return False
        self._colour = colour
        return True

    def GetClipColor(self):
        return self._colour

    # --- takes: a selector appears on the first AddTake, with the original as take 1 ----------------
    def AddTake(self, mediaPoolItem, startFrame=None, endFrame=None):
        if not hasattr(mediaPoolItem, "frames") or not callable(getattr(mediaPoolItem, "GetMediaId", None)):
            return False
        start = 0 if startFrame is None else startFrame
        end = mediaPoolItem.frames if endFrame is None else endFrame
        if not (is_int_frame(start) and is_int_frame(end)) or not 0 <= start < end <= mediaPoolItem.frames:
            return False
        if not self._takes:
            self._takes.append((self._mpi, self._source[0], self._source[1]))
            self._selected = 1
        self._takes.append((mediaPoolItem, int(start), int(end)))
        return True

    def GetTakesCount(self):
        return len(self._takes)

    def GetSelectedTakeIndex(self):
        return self._selected

    def GetTakeByIndex(self, idx):
        if not isinstance(idx, int) or not 1 <= idx <= len(self._takes):
            return None
        mpi, start, end = self._takes[idx - 1]
        return {"mediaPoolItem": mpi, "startFrame": start, "endFrame": end}

    def SelectTakeByIndex(self, idx):
        if not isinstance(idx, int) or not 1 <= idx <= len(self._takes):
            return False
        self._selected = idx
        return True

    def DeleteTakeByIndex(self, idx):
        if not isinstance(idx, int) or not 1 <= idx <= len(self._takes):
            return False
        del self._takes[idx - 1]
        if self._selected == idx or self._selected > len(self._takes):
            self._selected = 1 if self._takes else 0
        elif self._selected > idx:
            self._selected -= 1
        return True

    def FinalizeTake(self):
        if not self._takes:
            return False
        self._mpi, start, end = self._takes[self._selected - 1]
        self._source = (start, end)
        self._takes, self._selected = [], 0
        return True
