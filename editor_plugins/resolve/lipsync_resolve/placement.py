"""Put rendered takes back into Resolve: the "LipSync" bin, a "LipSync XX" track or a take selector.

Every call is checked and every placement read back, because Resolve's answers are no proof: an
append over an occupied span returns an item that is not on the timeline, and a first delete may fail.
A take of a language replaces that language's earlier take (rerunning never duplicates).
Record frames are absolute timeline frames, end exclusive; take frames count from the take's first frame.
"""
from .calls import ResolveCallError, checked
from .timeline_reader import OUTPUT_TRACK_PREFIX

BIN_NAME = "LipSync"


def language_keyword(language):
    """Keyword tagging a media-pool take with its language, e.g. "lipsync:DE"."""
    return "lipsync:" + language


def lipsync_bin(pool):
    """The "LipSync" bin under the media pool's root, created on first use."""
    root = checked(pool, "GetRootFolder", what="open the media pool")
    for folder in root.GetSubFolderList() or []:
        if folder.GetName() == BIN_NAME:
            return folder
    return checked(pool, "AddSubFolder", root, BIN_NAME, what="create the media pool bin 'LipSync'")


def find_pool_clip(folder, path_or_name, by_name=True):
    """The clip under ``folder`` (recursively) whose file path (or name, if ``by_name``) matches, or None."""
    for clip in folder.GetClipList() or []:
        if clip.GetClipProperty("File Path") == path_or_name or (by_name and clip.GetName() == path_or_name):
            return clip
    for sub in folder.GetSubFolderList() or []:
        found = find_pool_clip(sub, path_or_name, by_name)
        if found is not None:
            return found
    return None


def import_take(pool, path):
    """The media-pool clip of the take file ``path`` in the LipSync bin (imported once, then reused)."""
    folder = lipsync_bin(pool)
    existing = find_pool_clip(checked(pool, "GetRootFolder", what="open the media pool"), path, False)
    if existing is not None:
        return existing
    previous = pool.GetCurrentFolder()
    checked(pool, "SetCurrentFolder", folder, what="open the 'LipSync' bin")
    try:
        imported = pool.ImportMedia([path]) or []
    finally:
        if previous is not None:
            pool.SetCurrentFolder(previous)
    clip = imported[0] if imported else find_pool_clip(folder, path, False)
    if clip is None:
        raise ResolveCallError("Resolve could not import the take '%s' into the media pool; check that the "
                               "file exists and that Resolve can read its codec" % path)
    return clip


def output_track(timeline, language):
    """Index of the video track "LipSync XX", added and named on first use (name read back)."""
    name = OUTPUT_TRACK_PREFIX + language
    count = int(timeline.GetTrackCount("video") or 0)
    for index in range(1, count + 1):
        if timeline.GetTrackName("video", index) == name:
            return index
    checked(timeline, "AddTrack", "video", what="add a video track for %s" % name)
    index = int(timeline.GetTrackCount("video") or 0)
    if index != count + 1:
        raise ResolveCallError("Resolve said it added a video track, but the timeline still has %d" % count)
    checked(timeline, "SetTrackName", "video", index, name, what="name the new track '%s'" % name)
    if timeline.GetTrackName("video", index) != name:
        raise ResolveCallError("the new track %d reads back as %r instead of %r" % (
            index, timeline.GetTrackName("video", index), name))
    return index


def _overlapping(timeline, track_index, start, end):
    return [item for item in timeline.GetItemListInTrack("video", track_index) or []
            if item.GetStart() < end and start < item.GetEnd()]


def clear_span(timeline, track_index, start, end):
    """Delete the items of our track overlapping record frames [start, end); one retry, then read back."""
    for attempt in range(3):
        items = _overlapping(timeline, track_index, start, end)
        if not items:
            return
        if attempt < 2:
            timeline.DeleteClips(items, False)  # measured: the first attempt can fail; the read-back decides
    raise ResolveCallError("Resolve did not delete the earlier take at frames %d-%d of track %d; switch to "
                           "the Edit page, unlock the track and run LipSync again" % (start, end - 1, track_index))


def place_on_track(pool, timeline, job, take, frames):
    """Append ``take`` (frames [0, frames)) on "LipSync XX" at the job's record frames; the placed item."""
    track = output_track(timeline, job.language)
    clear_span(timeline, track, job.record_start, job.record_end)
    info = {"mediaPoolItem": take, "startFrame": 0, "endFrame": int(frames), "recordFrame": int(job.record_start),
            "trackIndex": track, "mediaType": 1}
    checked(pool, "AppendToTimeline", [info], what="place the %s take of '%s'" % (job.language, job.clip_name))
    path = take.GetClipProperty("File Path")
    for item in _overlapping(timeline, track, job.record_start, job.record_end):
        pooled = item.GetMediaPoolItem()
        if (item.GetStart() == job.record_start and item.GetEnd() == job.record_end and pooled is not None
                and pooled.GetClipProperty("File Path") == path):
            return item
    raise ResolveCallError("Resolve reported placing the %s take of '%s' at frames %d-%d of track %d, but it "
                           "is not there; the span may be occupied or the track locked" % (
                               job.language, job.clip_name, job.record_start, job.record_end - 1, track))


def source_item(timeline, job):
    """The original timeline item the job was planned from (found again by track and record start)."""
    for item in timeline.GetItemListInTrack("video", job.track_index) or []:
        if item.GetStart() == job.record_start:
            return item
    raise ResolveCallError("the clip '%s' is no longer at frame %d of video track %d; it was moved while "
                           "rendering: run LipSync again" % (job.clip_name, job.record_start, job.track_index))


def add_as_take(timeline, job, take, frames):
    """Add ``take`` to the original clip's take selector, replacing that language's earlier take."""
    item = source_item(timeline, job)
    keyword = language_keyword(job.language)
    for index in range(int(item.GetTakesCount() or 0), 0, -1):
        earlier = (item.GetTakeByIndex(index) or {}).get("mediaPoolItem")
        if earlier is not None and keyword in (earlier.GetMetadata("Keywords") or "").split(","):
            checked(item, "DeleteTakeByIndex", index, what="remove the earlier %s take" % job.language)
    checked(item, "AddTake", take, 0, int(frames), what="add the %s take to '%s'" % (job.language, job.clip_name))
    count = int(item.GetTakesCount() or 0)
    checked(item, "SelectTakeByIndex", count, what="select the new %s take" % job.language)
    selected = item.GetTakeByIndex(item.GetSelectedTakeIndex() or 0) or {}
    pooled = selected.get("mediaPoolItem")
    if pooled is None or pooled.GetClipProperty("File Path") != take.GetClipProperty("File Path"):
        raise ResolveCallError("the take selector of '%s' does not show the new %s take after selecting it" % (
            job.clip_name, job.language))
    return item
