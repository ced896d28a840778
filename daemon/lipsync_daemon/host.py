"""The engine host: a child process that loads the generator once and renders jobs in threads.

Decoding, inference and encoding run here, never in the daemon's own process, so a decoder that
crashes natively takes down only this process: the daemon sees it, charges the running jobs a crash
and starts a new host (which loads the model again). The host dies with the daemon (PR_SET_PDEATHSIG
and EOF on its pipe), so a killed daemon never leaves a render writing behind it.

Messages (dicts over a multiprocessing pipe):
daemon -> host: {"type": "render", "job": id, "spec": {...}}, {"type": "cancel", "job": id},
                {"type": "call", "call": n, "op": "sync_frame", "image_png": bytes, "pcm": bytes}
host -> daemon: {"type": "ready", "model", "backend", "device"}, {"type": "fatal", "code", "message"},
                {"type": "progress", "job", "progress"}, {"type": "done", "job", "result", "batching"},
                {"type": "failed", "job", "code", "message", "batching"}, {"type": "reply", "call", "value" | "code", "message"}
"""
from __future__ import annotations

import ctypes
import logging
import os
import resource
import shutil
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lipsync_engine.engines.options import EngineOptions

from lipsync_daemon.blobs import file_sha256, fsync_dir
from lipsync_daemon.errors import status_for
from lipsync_daemon.logs import setup_logging
from lipsync_daemon.tracks import TrackCache

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class HostSettings:
    """What the engine host needs from the daemon's config (picklable)."""

    generator: str
    backend: str
    device: str
    precision: str
    model_sha256: str
    window_s: float
    max_output_bytes: int
    max_width: int
    max_height: int
    max_frames: int
    max_duration_s: float
    engine_options: EngineOptions  # backend settings: Triton URL, export/plan cache, batch limit
    tracks_dir: Path
    track_cache_files: int
    track_cache_bytes: int
    log_level: str = "INFO"


def staging_dir(output: Path, job_id: str) -> Path:
    """Hidden folder beside the output where a job's take is written before it is renamed into place."""
    return output.parent / f".lipsync-{job_id}.partial"


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the pipe's EOF still ends the host


def _load(settings: HostSettings):
    import lipsync_engine
    from lipsync_engine.errors import ModelError

    if settings.model_sha256:
        if not Path(settings.generator).is_file():
            raise ModelError(f"model_sha256 pins a weights file, but generator '{settings.generator}' is not a file; "
                             "give the weights path as the generator, or drop model_sha256")
        found = file_sha256(Path(settings.generator))
        if found != settings.model_sha256.lower():
            raise ModelError(f"weights '{settings.generator}' have sha256 {found}, not the configured "
                             f"{settings.model_sha256}; the file is corrupt or was replaced")
    if settings.engine_options.cache_dir is not None:
        settings.engine_options.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return lipsync_engine.load_generator(settings.generator, backend=settings.backend, device=settings.device,
                                         precision=settings.precision, engine_options=settings.engine_options)


class Host:
    """The host's state: the shared generator, the pipe, and a cancel event per running job."""

    def __init__(self, conn, settings: HostSettings, generator) -> None:
        from lipsync_daemon.batching import BatchingGenerator

        self.conn = conn
        self.settings = settings
        self.generator = BatchingGenerator(generator, window_s=settings.window_s)
        self.tracks = TrackCache(settings.tracks_dir, settings.track_cache_files, settings.track_cache_bytes)
        self.cancels: dict[str, threading.Event] = {}
        self._send_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            self.conn.send(message)

    def render(self, job_id: str, spec: dict[str, Any]) -> None:
        """Render one job into its staging folder, rename the take into place, report the outcome."""
        cancel = self.cancels[job_id]
        staging = staging_dir(Path(spec["output"]), job_id)
        try:
            message = self._render(job_id, spec, take_dir=staging, cancel=cancel)
        except BaseException as exc:  # one failing job never takes the host down
            code, text = status_for(exc)
            if code == "INTERNAL":
                log.exception("render failed unexpectedly", extra={"job": job_id})
            message = {"type": "failed", "job": job_id, "code": code, "message": text}
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            self.cancels.pop(job_id, None)
        stats = self.generator.stats
        message["batching"] = {"calls": stats.calls, "shared_calls": stats.shared_calls}
        self.send(message)  # after the clean-up, so a finished job leaves nothing behind

    def _render(self, job_id: str, spec: dict[str, Any], take_dir: Path, cancel: threading.Event) -> dict[str, Any]:
        import lipsync_engine
        from lipsync_engine.media import probe_video
        from lipsync_engine.media.limits import MediaLimits
        from lipsync_engine.options import RenderOptions

        output = Path(spec["output"])
        self.send({"type": "progress", "job": job_id, "progress": {"stage": "probe"}})
        s = self.settings
        limits = MediaLimits(max_width=s.max_width, max_height=s.max_height, max_frames=s.max_frames,
                             max_duration_s=s.max_duration_s)
        video_range = tuple(spec["video_range"]) if spec.get("video_range") else None  # absent in older jobs
        info = probe_video(spec["video"], limits, frame_range=video_range)
        self.send({"type": "progress", "job": job_id,
                   "progress": {"stage": "probe", "frames_done": 0, "frames_total": info.frame_count}})
        shutil.rmtree(take_dir, ignore_errors=True)
        take_dir.mkdir()
        take = take_dir / output.name
        with self.generator.job() as rendering, self.tracks.use(Path(spec["video"]), video_range) as track:
            def progress(event) -> None:
                rendering(event.stage == "render")
                self.send({"type": "progress", "job": job_id, "progress": {
                    "stage": event.stage, "frames_done": event.done, "frames_total": event.total, "fps": event.fps,
                    "eta_seconds": -1.0 if event.eta_s is None else event.eta_s,
                    "warnings": [event.message] if event.message else []}})

            report = lipsync_engine.render_video(
                spec["video"], spec["audio"], take, self.generator, RenderOptions(**spec["options"]),
                actor=spec.get("actor") or None, track=track, progress=progress, cancel=cancel,
                video_range=video_range, audio_offset_s=spec.get("audio_offset_s"),
            )
        size, digest = take.stat().st_size, file_sha256(take)
        os.replace(take, output)
        fsync_dir(output.parent)
        report_dict = report.to_dict()
        report_dict["output"] = str(output)
        return {"type": "done", "job": job_id, "result": {
            "output_path": str(output), "sha256": digest, "size_bytes": size, "frames": report.frames,
            "report": report_dict}}

    def sync_frame(self, call: int, image_png: bytes, pcm: bytes) -> None:
        import cv2
        import numpy as np

        import lipsync_engine
        from lipsync_engine.errors import InputError

        try:
            bgr = cv2.imdecode(np.frombuffer(image_png, np.uint8), cv2.IMREAD_COLOR)
            if bgr is None:
                raise InputError("image_png is not a PNG or JPEG image; send the frame encoded as PNG")
            if len(pcm) % 4:
                raise InputError(f"pcm_f32le has {len(pcm)} bytes, not a whole number of float32 samples")
            with self.generator.job() as rendering:
                rendering(True)
                out = lipsync_engine.sync_frame(bgr[:, :, ::-1].copy(), np.frombuffer(pcm, "<f4").astype(np.float32),
                                                self.generator)
            ok, png = cv2.imencode(".png", np.ascontiguousarray(out[:, :, ::-1]))
            self.send({"type": "reply", "call": call, "value": png.tobytes()})
        except BaseException as exc:
            code, message = status_for(exc)
            self.send({"type": "reply", "call": call, "code": code, "message": message})

    def serve(self) -> None:
        """Handle messages until the daemon closes the pipe (or dies)."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the daemon is gone: stop at once, renders included
            kind = message["type"]
            if kind == "render":
                self.cancels[message["job"]] = threading.Event()
                threading.Thread(target=self.render, args=(message["job"], message["spec"]),
                                 name=f"job-{message['job']}", daemon=True).start()
            elif kind == "cancel" and message["job"] in self.cancels:
                self.cancels[message["job"]].set()
            elif kind == "call":
                threading.Thread(target=self.sync_frame, args=(message["call"], message["image_png"], message["pcm"]),
                                 daemon=True).start()


def host_main(conn, settings: HostSettings) -> None:
    """Entry point of the engine host process."""
    _die_with_parent()
    setup_logging(settings.log_level)
    if settings.max_output_bytes:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversize write fails with EFBIG instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (settings.max_output_bytes, settings.max_output_bytes))
    try:
        generator = _load(settings)
    except BaseException as exc:
        code, message = status_for(exc)
        conn.send({"type": "fatal", "code": code, "message": message})
        return
    conn.send({"type": "ready", "model": generator.name, "backend": generator.backend, "device": settings.device})
    Host(conn, settings, generator).serve()
