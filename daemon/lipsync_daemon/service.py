"""The gRPC servicer: each call checks its input, asks the store / worker / blob store, maps errors.

Errors raised on purpose become the status code they carry (see errors.status_for); anything else is
logged and returned as INTERNAL, so a failing call never takes the daemon down.
"""
from __future__ import annotations

import functools
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import grpc

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon._proto import lipsync_pb2_grpc as pb_grpc
from lipsync_daemon.blobs import BlobStore, iter_file
from lipsync_daemon.config import DaemonConfig
from lipsync_daemon.errors import ServiceError, status_for
from lipsync_daemon.events import JobEvents
from lipsync_daemon.jobspec import Submissions, job_message
from lipsync_daemon.store import JobStore
from lipsync_daemon.worker import Worker

log = logging.getLogger(__name__)
MAX_SYNC_FRAME_PCM_BYTES = 16000 * 4 * 10  # ten seconds of speech around one frame is plenty


def _package_version() -> str:
    try:
        return version("lipsync")
    except PackageNotFoundError:
        return "unknown"


def _abort_on_error(method):
    """Turn exceptions into status codes with a person-readable message."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            result = method(self, request, context)
            if hasattr(result, "__next__"):  # a server stream: errors surface while iterating
                yield from result
                return
            yield result
        except Exception as exc:  # noqa: BLE001 - every error becomes a status, none escapes
            code, message = status_for(exc)
            if code == "INTERNAL":
                log.exception("call %s failed", method.__name__)
            context.abort(getattr(grpc.StatusCode, code), message)

    if method.__name__ in ("WatchJob", "Download"):
        return wrapper

    @functools.wraps(method)
    def unary(self, request, context):
        return next(wrapper(self, request, context))

    return unary


class LipsyncService(pb_grpc.LipsyncServicer):
    """Implements lipsync.v1.Lipsync (see proto/lipsync/v1/lipsync.proto)."""

    def __init__(self, config: DaemonConfig, store: JobStore, blobs: BlobStore, submissions: Submissions,
                 worker: Worker, events: JobEvents) -> None:
        self.config, self.store, self.blobs = config, store, blobs
        self.submissions, self.worker, self.events = submissions, worker, events

    def _job(self, job_id: str):
        job = self.store.get(job_id.removeprefix("jobs/")) if job_id else None
        if job is None:
            raise ServiceError("NOT_FOUND", f"no job '{job_id}'; list jobs with `lipsync jobs`")
        return job

    @_abort_on_error
    def SubmitRender(self, request, context):
        job, created = self.submissions.submit(request)
        log.info("job submitted" if created else "job resubmitted", extra={"job": job.id, "request_id": job.request_id})
        return job_message(job)

    @_abort_on_error
    def GetJob(self, request, context):
        return job_message(self._job(request.id))

    @_abort_on_error
    def ListJobs(self, request, context):
        states = [pb.JobState.Name(s) for s in request.states]
        jobs = self.store.list(states, request.limit or 100)
        return pb.ListJobsResponse(jobs=[job_message(j) for j in jobs])

    @_abort_on_error
    def CancelJob(self, request, context):
        job = self.store.request_cancel(self._job(request.id).id)
        self.worker.cancel(job.id)
        self.events.changed(job.id)
        return job_message(job)

    @_abort_on_error
    def WatchJob(self, request, context):
        job = self._job(request.id)
        seen_version, last = self.events.version, None
        while context.is_active():
            job = self.store.get(job.id)
            message = job_message(job)
            key = (message.state, message.progress.SerializeToString())
            if key != last:
                last = key
                yield message
            if job.final:
                return
            seen_version = self.events.wait(seen_version, timeout=1.0)

    @_abort_on_error
    def Upload(self, request_iterator, context):
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("part") != "header":
            raise ServiceError("INVALID_ARGUMENT", "an upload must start with its header (name, size, sha256)")
        header = first.header
        data = (chunk.data for chunk in request_iterator if chunk.WhichOneof("part") == "data")
        blob_id, size, sha256 = self.blobs.receive(header.name, header.size, header.sha256, data)
        log.info("blob received", extra={"blob": blob_id, "size": size})
        return pb.Blob(id=blob_id, size=size, sha256=sha256)

    @_abort_on_error
    def Download(self, request, context):
        if request.WhichOneof("target") == "blob_id":
            path = self.blobs.path(request.blob_id)
            size, sha256 = path.stat().st_size, path.name[:64]
        else:
            job = self._job(request.job_id)
            if job.state != "SUCCEEDED":
                raise ServiceError("FAILED_PRECONDITION", f"job {job.id} is {job.state}; only a SUCCEEDED job has an "
                                                          "output to download (watch it with `lipsync watch-job`)")
            path = Path(job.result["output_path"])
            size, sha256 = job.result["size_bytes"], job.result["sha256"]
            if not path.is_file():
                raise ServiceError("NOT_FOUND", f"the output of job {job.id} is no longer at '{path}' (moved or deleted)")
        yield pb.DownloadChunk(header=pb.DownloadHeader(name=path.name, size=size, sha256=sha256))
        for data in iter_file(path):
            yield pb.DownloadChunk(data=data)

    @_abort_on_error
    def SyncFrame(self, request, context):
        if len(request.pcm_f32le) > MAX_SYNC_FRAME_PCM_BYTES:
            raise ServiceError("INVALID_ARGUMENT", f"pcm_f32le is {len(request.pcm_f32le)} bytes; send at most "
                                                   f"{MAX_SYNC_FRAME_PCM_BYTES} (10 s of 16 kHz float32)")
        remaining = context.time_remaining()
        png = self.worker.sync_frame(request.image_png, request.pcm_f32le, timeout_s=min(remaining or 60.0, 60.0))
        return pb.SyncFrameResponse(image_png=png)

    @_abort_on_error
    def ServerInfo(self, request, context):
        c, info, counts = self.config, self.worker.model_info, self.store.counts()
        return pb.ServerInfoResponse(
            version=_package_version(), device=c.device, backend=info.get("backend", ""), model=info.get("model", ""),
            concurrency=c.concurrency, allowed_roots=[str(r) for r in c.allowed_roots],
            max_upload_bytes=c.max_upload_bytes, max_width=c.max_width, max_height=c.max_height,
            max_duration_s=c.max_duration_s, max_frames=c.max_frames,
            queued=counts.get("QUEUED", 0), running=counts.get("RUNNING", 0),
            generator_calls=self.worker.batching["calls"], shared_generator_calls=self.worker.batching["shared_calls"],
        )
