"""Show each take's QA record in Resolve: clip metadata on the take, markers where to look.

The QA record is the daemon's report of the take (sync verdict, frames passed through and why).
Frames in ``passthrough`` count from the take's first frame, which is also the placed item's first frame.
"""
from .calls import ResolveCallError
from .placement import language_keyword

OK_COLOUR, WARN_COLOUR, PASSTHROUGH_COLOUR = "Green", "Yellow", "Red"


def summary(language, result):
    """One line a person reads: language, sync verdict, frames passed through, job id."""
    report = result.get("report") or {}
    parts = ["LipSync " + language, sync_summary(report)]
    passed = sum(seg["end"] - seg["start"] + 1 for seg in report.get("passthrough") or [])
    parts.append("%d of %s frames passed through" % (passed, report.get("frames", "?")))
    parts.append("job %s" % result.get("job_id"))
    return " | ".join(parts)


def sync_summary(report):
    """The sync verdict in a few words; only a confident offset (status "offset") names frames."""
    status = report.get("sync_status")
    if status == "offset":
        return "sync OFF by %+d frames (confidence %.2f)" % (report["sync_offset"], report["sync_score"])
    if status == "in_sync":
        return "in sync (confidence %.2f)" % report["sync_score"]
    if status == "inconclusive":
        return "sync inconclusive"
    if report.get("sync_score") is not None:  # a record of a daemon from before sync_status
        return "sync %.2f (offset %s frames)" % (report["sync_score"], report.get("sync_offset", "?"))
    return "sync not measured"


def tag_take(take, language, result):
    """Write the language keyword (read back: reruns find earlier takes by it) and the summary."""
    keywords = "lipsync," + language_keyword(language)
    if not take.SetMetadata({"Keywords": keywords, "Comments": summary(language, result)}):
        raise ResolveCallError("Resolve refused the metadata of the take '%s'" % take.GetName())
    if take.GetMetadata("Keywords") != keywords:
        raise ResolveCallError("the take '%s' reads back keywords %r instead of %r" % (
            take.GetName(), take.GetMetadata("Keywords"), keywords))


def add_markers(target, language, result):
    """Markers on ``target`` (a timeline item or a media-pool clip): one summary, one per passthrough.

    Returns warnings (a marker Resolve refused is reported, never fatal).
    """
    report = result.get("report") or {}
    segments = report.get("passthrough") or []
    warnings = []
    colour = WARN_COLOUR if segments or report.get("warnings") else OK_COLOUR
    note = summary(language, result)
    if report.get("warnings"):
        note += "\n" + "\n".join(report["warnings"])
    if not target.AddMarker(0, colour, "LipSync " + language, note, 1, str(result.get("job_id") or "")):
        warnings.append("could not add the summary marker to '%s'" % target.GetName())
    for seg in segments:
        if seg["start"] == 0 and not warnings:
            continue  # the summary marker already sits on frame 0 and says how many frames passed through
        if not target.AddMarker(int(seg["start"]), PASSTHROUGH_COLOUR, "LipSync %s: source kept" % language,
                                "frames %d-%d kept as shot: %s" % (seg["start"], seg["end"], seg["reason"]),
                                int(seg["end"] - seg["start"] + 1), str(result.get("job_id") or "")):
            warnings.append("could not mark frames %d-%d of '%s'" % (seg["start"], seg["end"], target.GetName()))
    return warnings
