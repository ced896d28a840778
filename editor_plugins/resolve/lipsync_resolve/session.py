"""One run of the LipSync menu script: read the timeline, render the takes, put them back, report.

Settings come from ``LipSync.json`` beside the installed script (written by ``lipsync resolve-install``):
``{"lipsync_command": ["/path/to/lipsync"], "output_dir": "/projects/takes", "mode": "track" | "takes",
"dubs": {"DE": "/path/de.wav"}, "use_marks": true, "render": {"codec": "prores"}}``.
"""
import collections
import json
import os

from .calls import PluginError, checked
from .placement import add_as_take, find_pool_clip, import_take, place_on_track
from .qa_record import add_markers, tag_take
from .timeline_reader import plan_jobs
from .transport import build_batch, render_batch, take_path

MODES = ("track", "takes")
Settings = collections.namedtuple("Settings", "lipsync_command output_dir mode dubs use_marks render")
Outcome = collections.namedtuple("Outcome", "placed failed warnings")  # lists of strings


def load_settings(path):
    """Settings from the JSON file at ``path`` (missing file: defaults); PluginError on a bad value."""
    raw = {}
    if os.path.isfile(path):
        try:
            with open(path) as handle:
                raw = json.load(handle)
        except ValueError as exc:
            raise PluginError("the settings file %s is not valid JSON (%s); fix or delete it" % (path, exc))
    settings = Settings(
        lipsync_command=list(raw.get("lipsync_command") or ["lipsync"]),
        output_dir=os.path.expanduser(raw.get("output_dir") or os.path.join("~", "LipSyncTakes")),
        mode=raw.get("mode", "track"), dubs=dict(raw.get("dubs") or {}),
        use_marks=bool(raw.get("use_marks", True)), render=dict(raw.get("render") or {}))
    if settings.mode not in MODES:
        raise PluginError("mode %r in %s is not one of %s" % (settings.mode, path, ", ".join(MODES)))
    return settings


def edition_note(resolve):
    """A line about the edition when Python scripting is restricted there (free 21.1+), else None."""
    product = resolve.GetProductName() or ""
    version = tuple(v for v in (resolve.GetVersion() or []) if isinstance(v, int))[:2]
    if product == "DaVinci Resolve" and version >= (21, 1):
        return ("DaVinci Resolve (free) %s lists no Python menu scripts; use the Lua launcher LipSync.lua "
                "or the OTIO route (docs/editor_plugins.md)" % ".".join(str(v) for v in version))
    return None


def _place(pool, timeline, job, result, mode):
    """Import, place and annotate one take; returns warnings; raises PluginError when it cannot."""
    if result is None:
        raise PluginError("lipsync returned no result for it")
    if result.get("state") != "SUCCEEDED":
        error = result.get("error") or {}
        raise PluginError("%s: %s" % (error.get("code", result.get("state")), error.get("message", "no message")))
    take = import_take(pool, result["output"])
    frames = int((result.get("report") or {}).get("frames") or job.source_end - job.source_start)
    tag_take(take, job.language, result)
    if mode == "takes":
        add_as_take(timeline, job, take, frames)
        return add_markers(take, job.language, result)
    item = place_on_track(pool, timeline, job, take, frames)
    return add_markers(item, job.language, result)


def run(resolve, settings, work_dir, log=print):
    """Render and place the takes of the current timeline; returns the Outcome (also logged)."""
    note = edition_note(resolve)
    if note:
        log("LipSync: " + note)
    manager = checked(resolve, "GetProjectManager", what="reach the project manager")
    project = checked(manager, "GetCurrentProject", what="find the open project (open a project first)")
    timeline = checked(project, "GetCurrentTimeline", what="find the current timeline (open one in the Edit page)")
    pool = checked(project, "GetMediaPool", what="open the media pool")
    name = timeline.GetName() or "timeline"
    jobs, skipped = plan_jobs(timeline, settings.dubs, lambda p: find_pool_clip(pool.GetRootFolder(), p),
                              settings.use_marks)
    failed = ["%s (%s): %s" % (s.clip_name, s.language, s.reason) for s in skipped]
    if not jobs:
        raise PluginError("nothing to render on '%s': %s" % (name, "; ".join(failed) or "no video clips found"))
    log("LipSync: %d take(s) to render on '%s' (%s)" % (len(jobs), name, ", ".join(sorted({j.language for j in jobs}))))
    paths = dict((job.key, take_path(settings.output_dir, name, job)) for job in jobs)
    results = render_batch(settings.lipsync_command, build_batch(jobs, paths, name, settings.render), work_dir, log)
    placed, warnings = [], []
    for job in sorted(jobs, key=lambda j: (j.track_index, j.record_start)):  # upper tracks last: they win
        label = "%s (%s, frames %d-%d)" % (job.clip_name, job.language, job.record_start, job.record_end - 1)
        try:
            warnings.extend(_place(pool, timeline, job, results.get("take-" + job.key), settings.mode))
            placed.append(label)
        except PluginError as exc:  # ResolveCallError included
            failed.append("%s: %s" % (label, exc))
    log("LipSync: placed %d take(s), %d failed" % (len(placed), len(failed)))
    for line in failed:
        log("  FAILED " + line)
    for line in warnings:
        log("  warning: " + line)
    return Outcome(placed, failed, warnings)
