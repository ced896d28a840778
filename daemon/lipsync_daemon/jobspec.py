"""From a SubmitRenderRequest to a stored job, and from a stored job back to a Job message.

``Submissions`` is the one way work enters the queue, used by the gRPC service and the inbox alike:
it checks the request id, resolves every path against the allow-list (or a blob id against the blob
store), checks the settings, picks the output path, and stores the job idempotently.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import fields
from pathlib import Path

import grpc
from google.protobuf.json_format import MessageToDict, ParseDict

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.blobs import BlobStore
from lipsync_daemon.errors import ServiceError
from lipsync_daemon.events import JobEvents
from lipsync_daemon.paths import PathPolicy
from lipsync_daemon.store import JobRecord, JobStore, RequestIdReused
from lipsync_engine.options import AUDIO_POLICIES, CODECS, SILENCE_MODES, RenderOptions

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
EXTENSION = {"h264": ".mp4", "h265": ".mp4", "prores": ".mov", "ffv1": ".mkv"}


def render_options(settings: pb.RenderSettings) -> dict:
    """RenderOptions keyword arguments from the message (unset fields keep the engine's defaults)."""
    checks = (("codec", CODECS), ("audio_policy", AUDIO_POLICIES), ("silence", SILENCE_MODES))
    for name, valid in checks:
        value = getattr(settings, name)
        if value and value not in valid:
            raise ServiceError("INVALID_ARGUMENT", f"settings.{name} '{value}' is not one of {list(valid)}")
    if settings.quality < 0 or settings.fade_frames < 0:
        raise ServiceError("INVALID_ARGUMENT", "settings.quality and settings.fade_frames must be >= 0 (0 = default)")
    names = {f.name for f in fields(RenderOptions)}
    given = {k: v for k, v in MessageToDict(settings, preserving_proto_field_name=True).items() if k in names}
    return given


def source_range(request: pb.SubmitRenderRequest) -> dict:
    """The spec entries of the request's frame range and dub offset (None where unset), checked for sign.

    Whether the range lies inside the shot and the offset inside the dub is the engine's check, when the
    job runs (it reads the media; the daemon's process never does).
    """
    video_range, offset = None, None
    if request.HasField("video_range"):
        first, count = request.video_range.first_frame, request.video_range.frame_count
        if first < 0 or count < 1:
            raise ServiceError("INVALID_ARGUMENT", f"video_range first_frame {first}, frame_count {count}: the first "
                                                   "frame must be >= 0 and the count >= 1")
        video_range = [first, count]
    if request.HasField("audio_offset_s"):
        offset = request.audio_offset_s
        if not math.isfinite(offset) or offset < 0:
            raise ServiceError("INVALID_ARGUMENT", f"audio_offset_s {offset} must be a number of seconds >= 0")
    return {"video_range": video_range, "audio_offset_s": offset}


class Submissions:
    """Validates and stores new jobs; see module docstring."""

    def __init__(self, store: JobStore, blobs: BlobStore, policy: PathPolicy, outputs_dir: Path,
                 events: JobEvents, on_new_job=lambda: None) -> None:
        self.store, self.blobs, self.policy = store, blobs, policy
        self.outputs_dir = Path(outputs_dir)
        self.outputs_dir.mkdir(parents=True, exist_ok=True)
        self.events = events
        self.on_new_job = on_new_job

    def _media(self, ref: pb.MediaRef, what: str, required: bool = True) -> str:
        which = ref.WhichOneof("source")
        if which == "blob_id":
            return str(self.blobs.path(ref.blob_id))
        if which == "path" and ref.path:
            return str(self.policy.readable_media(ref.path, what))
        if required:
            raise ServiceError("INVALID_ARGUMENT", f"{what} is missing: give a path under an allowed root or a blob id")
        return ""

    def submit(self, request: pb.SubmitRenderRequest, origin: str = "grpc") -> tuple[JobRecord, bool]:
        """Store the job of ``request`` (or find the one its request id already made). Returns (job, created).

        ``origin`` ("grpc" or "inbox") is kept with the job; the inbox writes results for its own jobs.
        """
        if not REQUEST_ID.match(request.request_id):
            raise ServiceError("INVALID_ARGUMENT", f"request_id '{request.request_id}' must be 1-128 characters of "
                                                   "A-Z a-z 0-9 . _ : - (the client library makes one for you)")
        fingerprint = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
        existing = self.store.get_by_request(request.request_id)
        if existing is None:
            options = render_options(request.settings)
            video = self._media(request.video, "video")
            spec = {
                "video": video,
                "audio": self._media(request.audio, "audio"),
                "actor": self._media(request.actor_profile, "actor_profile", required=False),
                "options": options,
                **source_range(request),
                "origin": origin,
                "request": MessageToDict(request, preserving_proto_field_name=True),
            }
            if request.output_path:
                output = self.policy.writable_output(request.output_path)
                if str(output) == video:
                    raise ServiceError("INVALID_ARGUMENT", f"output '{request.output_path}' is the video itself; "
                                                           "write the take to another path")
                spec["output"] = str(output)
            else:
                spec["output"] = str(self.outputs_dir / ("{job_id}" + EXTENSION[options.get("codec", "h264")]))
        else:
            spec = {}
        try:
            job, created = self.store.submit(request.request_id, fingerprint, spec, request.priority)
        except RequestIdReused as exc:
            raise ServiceError("ALREADY_EXISTS", str(exc)) from exc
        if created:
            self.events.changed(job.id)
            self.on_new_job()
        return job, created


def job_message(job: JobRecord) -> pb.Job:
    """The Job message of a stored job."""
    message = pb.Job(
        name=f"jobs/{job.id}", id=job.id, state=pb.JobState.Value(job.state), attempts=job.attempts,
        created_unix=job.created, updated_unix=job.updated,
    )
    ParseDict(job.spec["request"], message.request)
    p = job.progress
    message.progress.CopyFrom(pb.JobProgress(
        stage=p.get("stage", ""), frames_done=p.get("frames_done", 0), frames_total=p.get("frames_total", 0),
        fps=p.get("fps", 0.0), eta_seconds=p.get("eta_seconds", -1.0), warnings=p.get("warnings", []),
    ))
    if job.result:
        r = job.result
        message.result.CopyFrom(pb.JobResult(
            output_path=r["output_path"], sha256=r["sha256"], size_bytes=r["size_bytes"], frames=r["frames"],
            report_json=json.dumps(r["report"]),
        ))
    if job.error_code:
        code = getattr(grpc.StatusCode, job.error_code, grpc.StatusCode.UNKNOWN)
        message.error.CopyFrom(pb.JobError(code=code.value[0], code_name=job.error_code, message=job.error_message or ""))
    return message
