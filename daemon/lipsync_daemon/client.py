"""The one Python client of the daemon, used by the CLI, the OTIO tool and other plugins.

Every call has a deadline; calls are retried with backoff while the daemon is UNAVAILABLE (starting,
restarting); a submit carries a request id (made here if the caller gives none) so a retry never
makes a second job. Failures raise ClientError whose message says what to do; ``code`` is the gRPC
status name ("NOT_FOUND", "UNAUTHENTICATED", ...).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon._proto import lipsync_pb2_grpc as pb_grpc
from lipsync_daemon.auth import read_token
from lipsync_daemon.blobs import CHUNK_BYTES, file_sha256, fsync_dir, iter_file
from lipsync_daemon.config import default_data_dir
from lipsync_daemon.manifest import manifest_to_request
from lipsync_engine.errors import LipsyncError

FINAL = (pb.SUCCEEDED, pb.FAILED, pb.CANCELLED)


class ClientError(LipsyncError):
    """A daemon call failed; ``code`` is the gRPC status name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def find_daemon(data_dir: Path | None = None) -> tuple[str, Path]:
    """(target, token path) of the local daemon: the address in ``<data_dir>/daemon.json`` or its socket."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    try:
        target = json.loads((data_dir / "daemon.json").read_text())["addresses"][0]
    except (OSError, ValueError, KeyError, IndexError):
        target = f"unix:{data_dir / 'run' / 'lipsync.sock'}"
    return target, data_dir / "token"


class LipsyncClient:
    """A connection to one daemon. ``target``: "unix:/path.sock" or "host:port"; defaults to the local daemon.

    ``tls_ca`` (default $LIPSYNC_TLS_CA): the PEM certificate of the CA that signed the daemon's tls_cert;
    given, TCP targets are reached over TLS and the daemon's certificate must name the target's host.
    The unix socket is always plain (the daemon serves it without TLS), so it ignores ``tls_ca``.
    """

    def __init__(self, target: str | None = None, token: str | None = None, *, data_dir: Path | None = None,
                 timeout_s: float = 30.0, retries: int = 6, tls_ca: str | Path | None = None) -> None:
        found_target, token_path = find_daemon(data_dir)
        self.target = target or os.environ.get("LIPSYNC_DAEMON") or found_target
        if token is None:
            token = os.environ.get("LIPSYNC_TOKEN") or self._read_token(token_path)
        self.timeout_s, self.retries = timeout_s, retries
        self._metadata = (("authorization", f"Bearer {token}"),)
        options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
        tls_ca = tls_ca or os.environ.get("LIPSYNC_TLS_CA")
        self.tls = bool(tls_ca) and not self.target.startswith("unix:")
        if self.tls:
            credentials = grpc.ssl_channel_credentials(self._read_ca(Path(tls_ca)))
            self._channel = grpc.secure_channel(self.target, credentials, options)
        else:
            self._channel = grpc.insecure_channel(self.target, options)
        self._stub = pb_grpc.LipsyncStub(self._channel)

    @staticmethod
    def _read_token(path: Path) -> str:
        try:
            return read_token(path)
        except PermissionError as exc:
            raise ClientError("UNAUTHENTICATED", f"{exc}; or pass the token with --token / LIPSYNC_TOKEN") from exc

    @staticmethod
    def _read_ca(path: Path) -> bytes:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise ClientError("INVALID_ARGUMENT", f"cannot read the TLS CA certificate '{path}': {exc.strerror}; "
                                                  "pass the PEM file of the CA that signed the daemon's tls_cert "
                                                  "(--tls-ca / LIPSYNC_TLS_CA)") from exc
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            raise ClientError("INVALID_ARGUMENT", f"'{path}' holds no PEM certificate; pass the PEM file of the CA "
                                                  "that signed the daemon's tls_cert (--tls-ca / LIPSYNC_TLS_CA)")
        return pem

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> LipsyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing ----

    def _error(self, exc: grpc.RpcError) -> ClientError:
        code = exc.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            return ClientError("UNAVAILABLE", f"cannot reach the lipsync daemon at {self.target} ({exc.details()}); "
                                              f"is it running? start it with `lipsync-daemon`{self._tls_hint()}")
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return ClientError("DEADLINE_EXCEEDED", f"the daemon at {self.target} did not answer in time; "
                                                    "it may be overloaded, try again")
        return ClientError(code.name, f"{code.name}: {exc.details()}")

    def _tls_hint(self) -> str:
        if self.target.startswith("unix:"):
            return ""
        if self.tls:
            return ("; over TLS, the daemon's certificate must be signed by the --tls-ca certificate and name "
                    "the host you connect to")
        return "; if the daemon listens with TLS (tls_cert), pass its CA certificate with --tls-ca / LIPSYNC_TLS_CA"

    def _call(self, method: str, request: Any, timeout_s: float | None = None) -> Any:
        """Unary call with a deadline, retried on UNAVAILABLE (every call here is idempotent)."""
        delay = 0.2
        for attempt in range(self.retries + 1):
            try:
                return getattr(self._stub, method)(request, timeout=timeout_s or self.timeout_s, metadata=self._metadata)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == self.retries:
                    raise self._error(exc) from None
                time.sleep(delay)
                delay = min(delay * 2, 3.0)

    # ---- jobs ----

    def submit_request(self, request: pb.SubmitRenderRequest) -> pb.Job:
        """Submit a prepared request (a request id is added if it has none)."""
        if not request.request_id:
            request.request_id = uuid.uuid4().hex
        return self._call("SubmitRender", request)

    def submit(self, video: str | Path, audio: str | Path, output: str | Path | None = None, *,
               settings: Mapping[str, Any] | None = None, actor: str | Path | None = None, priority: int = 0,
               labels: Mapping[str, str] | None = None, request_id: str | None = None,
               video_range: tuple[int, int] | None = None, audio_offset_s: float | None = None) -> pb.Job:
        """Queue a render of files under the daemon's allowed roots (absolute paths) or uploaded blobs.

        ``video``/``audio`` are paths, or "blob:<id>" for uploaded blobs. ``settings`` takes the keys
        of lipsync_engine RenderOptions that the API carries (codec, quality, audio_policy, ...).
        ``video_range`` (first frame, frame count) renders only those frames of the shot;
        ``audio_offset_s`` takes the dub from that many seconds into it (see SubmitRenderRequest).
        """
        request = pb.SubmitRenderRequest(request_id=request_id or uuid.uuid4().hex, priority=priority,
                                         output_path=os.path.abspath(output) if output else "",
                                         settings=pb.RenderSettings(**(settings or {})), labels=dict(labels or {}),
                                         audio_offset_s=audio_offset_s)
        if video_range is not None:
            request.video_range.CopyFrom(pb.VideoRange(first_frame=video_range[0], frame_count=video_range[1]))
        for field, value in (("video", video), ("audio", audio), ("actor_profile", actor)):
            if value:
                ref = getattr(request, field)
                if str(value).startswith("blob:"):
                    ref.blob_id = str(value)[5:]
                else:
                    ref.path = os.path.abspath(value)
        return self.submit_request(request)

    def submit_manifest(self, manifest: Mapping[str, Any]) -> pb.Job:
        """Submit an inbox job manifest (docs/inbox.md) over gRPC."""
        try:
            request = manifest_to_request(dict(manifest))
        except ValueError as exc:
            raise ClientError("INVALID_ARGUMENT", str(exc)) from exc
        return self.submit_request(request)

    def get(self, job_id: str) -> pb.Job:
        return self._call("GetJob", pb.GetJobRequest(id=job_id))

    def list(self, states: tuple[str, ...] = (), limit: int = 100) -> list[pb.Job]:
        request = pb.ListJobsRequest(states=[pb.JobState.Value(s) for s in states], limit=limit)
        return list(self._call("ListJobs", request).jobs)

    def cancel(self, job_id: str) -> pb.Job:
        return self._call("CancelJob", pb.CancelJobRequest(id=job_id))

    def watch(self, job_id: str, timeout_s: float | None = None) -> Iterator[pb.Job]:
        """Yield the job on every change until it is final; reconnects if the daemon restarts meanwhile."""
        deadline = time.monotonic() + timeout_s if timeout_s else None
        reconnects = 0
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            try:
                for job in self._stub.WatchJob(pb.WatchJobRequest(id=job_id), timeout=left, metadata=self._metadata):
                    reconnects = 0
                    yield job
                    if job.state in FINAL:
                        return
                job = self.get(job_id)  # the stream ended early (daemon stopping): look and go on
                if job.state in FINAL:
                    yield job
                    return
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or reconnects >= self.retries * 10:
                    raise self._error(exc) from None
                reconnects += 1
                time.sleep(0.5)

    def wait(self, job_id: str, timeout_s: float | None = None) -> pb.Job:
        """Block until the job is final; returns it."""
        job = None
        for job in self.watch(job_id, timeout_s):
            pass
        return job

    # ---- files ----

    def upload(self, path: str | Path, timeout_s: float = 3600.0) -> pb.Blob:
        """Send a local file in chunks; returns the blob (use "blob:<id>" in submit)."""
        path = Path(path)
        if not path.is_file():
            raise ClientError("INVALID_ARGUMENT", f"cannot upload '{path}': no such file")
        size, sha256 = path.stat().st_size, file_sha256(path)

        def chunks() -> Iterator[pb.UploadChunk]:
            yield pb.UploadChunk(header=pb.UploadHeader(name=path.name, size=size, sha256=sha256))
            for data in iter_file(path, CHUNK_BYTES):
                yield pb.UploadChunk(data=data)

        try:
            return self._stub.Upload(chunks(), timeout=timeout_s, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise self._error(exc) from None

    def download(self, dest: str | Path, *, job_id: str = "", blob_id: str = "", timeout_s: float = 3600.0) -> Path:
        """Fetch a job's output (or a blob) to ``dest`` atomically, verifying its sha256. Returns ``dest``."""
        dest = Path(dest)
        if not dest.parent.is_dir():
            raise ClientError("INVALID_ARGUMENT", f"cannot write '{dest}': the folder '{dest.parent}' does not exist")
        request = pb.DownloadRequest(job_id=job_id) if job_id else pb.DownloadRequest(blob_id=blob_id)
        tmp = dest.with_name(f".{dest.name}.part")
        digest, header = hashlib.sha256(), None
        try:
            with open(tmp, "wb") as f:
                for chunk in self._stub.Download(request, timeout=timeout_s, metadata=self._metadata):
                    if chunk.WhichOneof("part") == "header":
                        header = chunk.header
                    else:
                        digest.update(chunk.data)
                        f.write(chunk.data)
                f.flush()
                os.fsync(f.fileno())
            if header is None or digest.hexdigest() != header.sha256:
                raise ClientError("DATA_LOSS", f"the download of {job_id or blob_id} does not match its sha256; fetch it again")
            os.replace(tmp, dest)
            fsync_dir(dest.parent)
        except grpc.RpcError as exc:
            raise self._error(exc) from None
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    # ---- the engine's core call and the server ----

    def sync_frame(self, image: np.ndarray, pcm: np.ndarray, timeout_s: float = 60.0) -> np.ndarray:
        """HxWx3 uint8 RGB + float32 mono 16 kHz speech -> HxWx3 uint8 RGB (the daemon's generator)."""
        import cv2

        ok, png = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]))
        request = pb.SyncFrameRequest(image_png=png.tobytes(), pcm_f32le=np.asarray(pcm, "<f4").tobytes())
        reply = self._call("SyncFrame", request, timeout_s)
        return cv2.imdecode(np.frombuffer(reply.image_png, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1].copy()

    def server_info(self) -> pb.ServerInfoResponse:
        return self._call("ServerInfo", pb.ServerInfoRequest())

    def health(self, service: str = "") -> str:
        """"SERVING", "NOT_SERVING", ... of the standard health service (needs no token)."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self._channel)
        try:
            status = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=self.timeout_s).status
        except grpc.RpcError as exc:
            raise self._error(exc) from None
        return health_pb2.HealthCheckResponse.ServingStatus.Name(status)
