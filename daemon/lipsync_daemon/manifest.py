"""The JSON manifest format of the inbox (docs/inbox.md): job and cancel manifests, result documents.

Pure functions, no I/O: the inbox, the client library and the editor plugins share them.
"""
from __future__ import annotations

import json
import time
from typing import Any

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.store import JobRecord

JOB_SCHEMA = "lipsync.job/1"
CANCEL_SCHEMA = "lipsync.cancel/1"
RESULT_SCHEMA = "lipsync.result/1"
JOB_KEYS = {"schema", "request_id", "video", "audio", "output", "settings", "actor_profile", "priority", "labels",
            "video_range", "audio_offset_s"}
RANGE_KEYS = ("first_frame", "frame_count")
SETTINGS_KEYS = {"codec": str, "quality": int, "audio_policy": str, "keep_original_audio": bool, "silence": str,
                 "fade_frames": int}


class ManifestError(ValueError):
    """A manifest does not follow docs/inbox.md; the message names the key and what is valid."""


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ManifestError(message)


def validate_manifest(data: Any) -> dict[str, Any]:
    """Check a job or cancel manifest (already parsed from JSON); return it unchanged."""
    _need(isinstance(data, dict), "a manifest must be a JSON object")
    schema = data.get("schema")
    _need(isinstance(data.get("request_id"), str) and bool(data["request_id"]), "manifest needs a 'request_id' string")
    if schema == CANCEL_SCHEMA:
        _need(set(data) == {"schema", "request_id"}, "a cancel manifest has exactly 'schema' and 'request_id'")
        return data
    _need(schema == JOB_SCHEMA, f"manifest 'schema' is {schema!r}; this daemon reads '{JOB_SCHEMA}' and '{CANCEL_SCHEMA}'")
    unknown = sorted(set(data) - JOB_KEYS)
    _need(not unknown, f"unknown manifest key(s) {unknown}; valid keys are {sorted(JOB_KEYS)}")
    for key in ("video", "audio"):
        _need(isinstance(data.get(key), str) and bool(data[key]), f"manifest needs '{key}': an absolute path")
    for key in ("output", "actor_profile"):
        _need(isinstance(data.get(key, ""), str), f"manifest '{key}' must be a string path")
    settings = data.get("settings", {})
    _need(isinstance(settings, dict), "manifest 'settings' must be an object")
    for key, value in settings.items():
        _need(key in SETTINGS_KEYS, f"unknown setting '{key}'; valid settings are {sorted(SETTINGS_KEYS)}")
        _need(type(value) is SETTINGS_KEYS[key], f"setting '{key}' must be a {SETTINGS_KEYS[key].__name__}")
    _need(type(data.get("priority", 0)) is int, "manifest 'priority' must be an integer")
    if "video_range" in data:
        frames = data["video_range"]
        _need(isinstance(frames, dict) and sorted(frames) == sorted(RANGE_KEYS)
              and all(type(v) is int for v in frames.values()) and frames["first_frame"] >= 0
              and frames["frame_count"] >= 1,
              "manifest 'video_range' must be {\"first_frame\": integer >= 0, \"frame_count\": integer >= 1}")
    if "audio_offset_s" in data:
        offset = data["audio_offset_s"]
        _need(type(offset) in (int, float) and offset >= 0,
              "manifest 'audio_offset_s' must be a number of seconds >= 0")
    labels = data.get("labels", {})
    _need(isinstance(labels, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()),
          "manifest 'labels' must be an object of strings")
    return data


def manifest_to_request(data: dict[str, Any]) -> pb.SubmitRenderRequest:
    """The SubmitRenderRequest of a validated job manifest."""
    validate_manifest(data)
    request = pb.SubmitRenderRequest(
        request_id=data["request_id"], output_path=data.get("output", ""), priority=data.get("priority", 0),
        settings=pb.RenderSettings(**data.get("settings", {})), labels=data.get("labels", {}),
    )
    request.video.path = data["video"]
    request.audio.path = data["audio"]
    if data.get("actor_profile"):
        request.actor_profile.path = data["actor_profile"]
    if "video_range" in data:
        request.video_range.CopyFrom(pb.VideoRange(**data["video_range"]))
    if "audio_offset_s" in data:
        request.audio_offset_s = float(data["audio_offset_s"])
    return request


def result_document(request_id: str, job: JobRecord | None, error: tuple[str, str] | None = None) -> dict[str, Any]:
    """The outbox result of ``job`` (or of a manifest rejected with ``error`` before it became a job)."""
    if job is None:
        code, message = error or ("INVALID_ARGUMENT", "manifest rejected")
        return {"schema": RESULT_SCHEMA, "request_id": request_id, "job_id": None, "state": "FAILED", "progress": {},
                "output": None, "sha256": None, "report": None, "error": {"code": code, "message": message},
                "labels": {}, "updated_unix": time.time()}
    result = job.result or {}
    return {
        "schema": RESULT_SCHEMA, "request_id": request_id, "job_id": job.id, "state": job.state,
        "progress": job.progress, "output": result.get("output_path"), "sha256": result.get("sha256"),
        "report": result.get("report"),
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "labels": job.spec.get("request", {}).get("labels", {}), "updated_unix": job.updated,
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True)
