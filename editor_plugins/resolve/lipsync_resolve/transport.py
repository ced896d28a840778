"""Render clip jobs through the ``lipsync`` command line, the stdlib-only road to the daemon.

Resolve's Python has no gRPC. So the script writes a take batch (JSON, ``lipsync.take_batch/1``,
atomically): per clip its media, source frame range, dub and offset into the dub, and runs
``lipsync render-takes BATCH``, which submits each range to the daemon as a job with idempotency keys
(nothing is cut: the job names the range) and streams one JSON event per line on stdout:
``{"event": "progress", "request_id", "state", "stage", "frames_done", "frames_total"}`` and
``{"event": "result", "request_id", "state", "job_id", "output", "report", "error"}``.
"""
import json
import os
import re
import subprocess
import tempfile

from .calls import PluginError

BATCH_SCHEMA = "lipsync.take_batch/1"


def safe_name(text):
    """A file-name-safe form of a clip or timeline name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "clip"


def take_path(output_dir, timeline_name, job):
    """Where the take of ``job`` goes: <output>/<timeline>/<LANG>/<clip>_<LANG>_<key>.mov."""
    stem = os.path.splitext(safe_name(job.clip_name))[0]
    return os.path.join(output_dir, safe_name(timeline_name), job.language,
                        "%s_%s_%s.mov" % (stem, job.language, job.key))


def write_json_atomically(path, payload):
    """Write ``payload`` as JSON at ``path``: temp file beside it, fsync, rename."""
    folder = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path), suffix=".tmp", dir=folder)
    with os.fdopen(handle, "w") as out:
        json.dump(payload, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def build_batch(jobs, paths, timeline_name, render_settings):
    """The ``lipsync.take_batch/1`` document of ``jobs`` (paths: job key -> take path)."""
    takes = []
    for job in jobs:
        takes.append({
            "request_id": "take-" + job.key,
            "video": job.media_path, "video_range": [job.source_start, job.source_end],
            "audio": job.audio_path, "audio_start_s": job.audio_start_s,
            "output": paths[job.key],
            "labels": {"timeline": timeline_name, "item": job.clip_name, "language": job.language,
                       "record_frames": "%d-%d" % (job.record_start, job.record_end - 1)},
        })
    return {"schema": BATCH_SCHEMA, "settings": dict(render_settings or {}), "takes": takes}


def render_batch(command, batch, work_dir, log):
    """Run ``command + ["render-takes", batch file]``; request_id -> result event. Logs progress lines.

    PluginError when lipsync cannot be started or fails before any result (the message is its own).
    """
    batch_path = os.path.join(work_dir, "batch-%s.json" % os.getpid())
    write_json_atomically(batch_path, batch)
    errors_path = batch_path[:-len(".json")] + ".stderr.txt"
    results = {}
    try:
        with open(errors_path, "w") as errors:
            process = subprocess.Popen(list(command) + ["render-takes", batch_path], stdout=subprocess.PIPE,
                                       stderr=errors, universal_newlines=True)
            for line in process.stdout:
                event = _parse(line)
                if event is None:
                    continue
                if event.get("event") == "result":
                    results[event["request_id"]] = event
                    log("  %s %s: %s" % (event.get("state"), event["request_id"],
                                         (event.get("error") or {}).get("message") or event.get("output")))
                elif event.get("event") == "progress":
                    log("  %s %s %s/%s frames" % (event["request_id"], event.get("stage") or event.get("state"),
                                                  event.get("frames_done", 0), event.get("frames_total", "?")))
            code = process.wait()
        with open(errors_path) as errors:
            message = errors.read().strip()
    except OSError as exc:
        raise PluginError("cannot run the lipsync command %r (%s); run `lipsync resolve-install` again from "
                          "the environment where lipsync is installed" % (" ".join(command), exc))
    finally:
        for path in (errors_path, batch_path):
            if os.path.exists(path):
                os.remove(path)
    if code != 0 and not results:
        raise PluginError(message.splitlines()[-1] if message else "lipsync render-takes failed (exit %d)" % code)
    return results


def _parse(line):
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
