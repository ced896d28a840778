"""The worker: claims jobs from the store and runs them in the engine host process.

It owns the engine host (start, watch, restart after a crash), the job leases (heartbeat), the
scheduling rule (up to ``concurrency`` jobs at once; a job that was running during a crash runs
alone next time, so a second crash is blamed on the right job), and the bookkeeping of what the
host reports (progress, result, error) into the store.
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import shutil
import socket
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lipsync_daemon import store as states
from lipsync_daemon.blobs import check_free_space
from lipsync_daemon.config import DaemonConfig
from lipsync_daemon.errors import ServiceError, status_for
from lipsync_daemon.events import JobEvents
from lipsync_daemon.host import HostSettings, host_main, staging_dir
from lipsync_daemon.store import JobRecord, JobStore

log = logging.getLogger(__name__)
HOST_START_TIMEOUT_S = 600.0


def host_settings(config: DaemonConfig) -> HostSettings:
    return HostSettings(
        generator=config.generator, backend=config.backend, device=config.device, precision=config.precision,
        model_sha256=config.model_sha256, window_s=config.batch_window_ms / 1000.0,
        max_output_bytes=config.max_output_bytes, max_width=config.max_width, max_height=config.max_height,
        max_frames=config.max_frames, max_duration_s=config.max_duration_s, log_level=config.log_level,
        engine_options=config.engine_options(), tracks_dir=config.tracks_dir, track_cache_files=config.track_cache_files,
        track_cache_bytes=config.track_cache_bytes,
    )


class EngineHostProcess:
    """One engine host child process and the thread that reads its messages."""

    def __init__(self, settings: HostSettings, on_message, on_exit) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=host_main, args=(child_conn, settings), name="lipsync-engine-host", daemon=True)
        self.process.start()
        child_conn.close()
        self._send_lock = threading.Lock()
        self._on_message, self._on_exit = on_message, on_exit
        try:
            ready = self._conn.recv() if self._conn.poll(HOST_START_TIMEOUT_S) else None
        except (EOFError, OSError):
            ready = None  # it died while loading (a native crash in the model or its libraries)
        if ready is None or ready["type"] != "ready":
            self.process.kill()
            code, message = (ready["code"], ready["message"]) if ready else ("UNAVAILABLE", "the engine host did not start")
            raise ServiceError(code, f"cannot load the generator: {message}")
        self.info = ready
        threading.Thread(target=self._read_forever, name="host-reader", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            self._conn.send(message)

    def _read_forever(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                self.process.join(5)
                self._on_exit(self, self.process.exitcode)
                return
            self._on_message(message)

    def stop(self) -> None:
        self._conn.close()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()


class Worker:
    """Runs queued jobs; see module docstring."""

    def __init__(self, config: DaemonConfig, store: JobStore, events: JobEvents,
                 on_engine=lambda ready: None) -> None:
        """``on_engine(ready: bool)`` is called when the engine host comes up or goes down (for health)."""
        self.config = config
        self._on_engine = on_engine
        self.store = store
        self.events = events
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{time.time():.0f}"
        self.host: EngineHostProcess | None = None
        self.running: dict[str, JobRecord] = {}
        self._progress: dict[str, dict[str, Any]] = {}
        self.batching = {"calls": 0, "shared_calls": 0}  # the engine host's BatchStats, as of its last finished job
        self._exclusive = False
        self._calls: dict[int, Future] = {}
        self._call_ids = itertools.count(1)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- life cycle ----

    def start(self) -> None:
        """Requeue jobs a dead daemon left RUNNING, start the engine host (loads the model), then schedule."""
        for job_id in self.store.recover():
            self._clear_staging(self.store.get(job_id))
            log.info("requeued job interrupted by a previous daemon", extra={"job": job_id})
        self.host = EngineHostProcess(host_settings(self.config), self._on_message, self._on_host_exit)
        log.info("engine host ready", extra={"pid": self.host.pid, "model": self.host.info["model"]})
        self._thread = threading.Thread(target=self._schedule_forever, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling, give running jobs back to the queue, and end the engine host."""
        self._stopping.set()
        self._wake.set()
        with self._lock:
            host, self.host = self.host, None
            for job_id in list(self.running):
                self.store.requeue(job_id, self.owner)
            self.running.clear()
        if host is not None:
            host.stop()

    def kick(self) -> None:
        """Tell the scheduler that a job may be waiting."""
        self._wake.set()

    @property
    def model_info(self) -> dict[str, Any]:
        host = self.host
        return host.info if host else {}

    @property
    def host_pid(self) -> int | None:
        host = self.host
        return host.pid if host else None

    # ---- requests from the service ----

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if job_id in self.running and self.host is not None:
                self.host.send({"type": "cancel", "job": job_id})

    def sync_frame(self, image_png: bytes, pcm: bytes, timeout_s: float = 60.0) -> bytes:
        future: Future = Future()
        with self._lock:
            if self.host is None:
                raise ServiceError("UNAVAILABLE", "the engine is restarting; try again in a few seconds")
            call = next(self._call_ids)
            self._calls[call] = future
            self.host.send({"type": "call", "call": call, "op": "sync_frame", "image_png": image_png, "pcm": pcm})
        try:
            reply = future.result(timeout_s)
        except TimeoutError as exc:
            raise ServiceError("DEADLINE_EXCEEDED", f"the engine did not answer within {timeout_s:.0f} s; "
                                                    "it may be busy with renders, try again") from exc
        finally:
            self._calls.pop(call, None)
        if "value" not in reply:
            raise ServiceError(reply["code"], reply["message"])
        return reply["value"]

    # ---- scheduling ----

    def _schedule_forever(self) -> None:
        next_beat = 0.0
        while not self._stopping.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                if self.host is None:
                    self._restart_host()
                    continue
                self._fill_slots()
                if time.monotonic() >= next_beat:
                    with self._lock:
                        self.store.heartbeat(list(self.running), self.owner, self.config.lease_s)
                    for job_id in self.store.recover(expired_only=True):
                        log.warning("requeued job whose lease expired", extra={"job": job_id})
                    next_beat = time.monotonic() + self.config.lease_s / 3
            except Exception:  # noqa: BLE001 - the scheduler must outlive any one failure (e.g. a busy disk)
                log.exception("scheduler step failed; retrying in a second")
                self._stopping.wait(1.0)
                self._wake.set()

    def _fill_slots(self) -> None:
        with self._lock:
            while self.host is not None and not self._exclusive and len(self.running) < self.config.concurrency:
                job = self.store.claim(self.owner, self.config.lease_s, allow_suspects=not self.running)
                if job is None:
                    return
                try:
                    self._clear_staging(job)
                    check_free_space(Path(job.spec["output"]).parent, Path(job.spec["video"]).stat().st_size,
                                     self.config.min_free_bytes)
                except (ServiceError, OSError) as exc:
                    self._finish(job.id, states.FAILED, error=status_for(exc))
                    continue
                self.running[job.id] = job
                self._progress[job.id] = {"stage": "starting"}
                self._exclusive = job.crashes > 0
                self.host.send({"type": "render", "job": job.id, "spec": job.spec})
                log.info("job started", extra={"job": job.id, "attempt": job.attempts, "alone": self._exclusive})
                self.events.changed(job.id)

    def _restart_host(self) -> None:
        try:
            host = EngineHostProcess(host_settings(self.config), self._on_message, self._on_host_exit)
        except ServiceError as exc:
            log.error("engine host failed to start; retrying in 5 s", extra={"error": exc.message})
            self._stopping.wait(5.0)
            self._wake.set()
            return
        with self._lock:
            if self._stopping.is_set():
                host.stop()
                return
            self.host = host
        log.info("engine host restarted", extra={"pid": host.pid})
        self._on_engine(True)
        self._wake.set()

    def _clear_staging(self, job: JobRecord | None) -> None:
        if job is not None and job.spec.get("output"):
            shutil.rmtree(staging_dir(Path(job.spec["output"]), job.id), ignore_errors=True)

    # ---- what the engine host reports ----

    def _finish(self, job_id: str, state: str, *, result=None, error=None) -> None:
        job = self.store.finish(job_id, state, result=result, error=error, owner=self.owner)
        with self._lock:
            self.running.pop(job_id, None)
            self._progress.pop(job_id, None)
            if not self.running:
                self._exclusive = False
        if job is not None:
            log.info("job finished", extra={"job": job_id, "state": job.state, "code": job.error_code})
        self.events.changed(job_id)
        self.kick()

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if "batching" in message:
            self.batching = message["batching"]
        if kind == "progress":
            job_id = message["job"]
            with self._lock:
                if job_id not in self.running:
                    return
                progress = self._progress.setdefault(job_id, {})
                warnings = progress.get("warnings", [])
                warnings += [w for w in message["progress"].pop("warnings", []) if w not in warnings]
                progress.update(message["progress"], warnings=warnings)
                snapshot = dict(progress)
            self.store.set_progress(job_id, snapshot)
            self.events.changed(job_id)
        elif kind == "done":
            result = message["result"]
            progress = dict(self._progress.get(message["job"], {}), stage="done", eta_seconds=0.0)
            progress["frames_done"] = progress["frames_total"] = result["frames"]
            warnings = progress.get("warnings", [])
            progress["warnings"] = warnings + [w for w in result["report"].get("warnings", []) if w not in warnings]
            self.store.set_progress(message["job"], progress)
            self._finish(message["job"], states.SUCCEEDED, result=result)
        elif kind == "failed":
            state = states.CANCELLED if message["code"] == "CANCELLED" else states.FAILED
            self._finish(message["job"], state, error=(message["code"], message["message"]))
        elif kind == "reply":
            future = self._calls.get(message["call"])
            if future is not None:
                future.set_result(message)

    def _on_host_exit(self, host: EngineHostProcess, exitcode: int | None) -> None:
        with self._lock:
            if host is not self.host:
                return  # an old host we stopped on purpose
            self.host = None
            crashed = list(self.running)
            self.running.clear()
            self._progress.clear()
            self._exclusive = False
            calls, self._calls = dict(self._calls), {}
        if self._stopping.is_set():
            return
        self._on_engine(False)
        log.error("engine host died", extra={"exitcode": exitcode, "jobs": crashed})
        for job_id in crashed:
            job = self.store.charge_crash(job_id, self.owner, self.config.max_crashes)
            if job is not None:
                self._clear_staging(job)
                log.warning("job charged a crash", extra={"job": job_id, "crashes": job.crashes, "state": job.state})
            self.events.changed(job_id)
        for future in calls.values():
            future.set_result({"code": "UNAVAILABLE", "message": "the engine crashed during this call; try again"})
        self._wake.set()
