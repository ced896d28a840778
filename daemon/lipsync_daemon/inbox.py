"""The inbox/outbox folders (docs/inbox.md): JSON manifests in, one result file per request out.

The daemon polls the inbox every half second (polling works on network shares, where file-system
events do not), takes ``*.json`` files that are not dotfiles and have not changed for half a second,
submits them through the same path as gRPC, and moves each to ``accepted/`` or ``rejected/``. It
rewrites ``<outbox>/<request_id>.json`` atomically on every state change (progress at most once a second).
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from lipsync_daemon.blobs import fsync_dir
from lipsync_daemon.errors import ServiceError, status_for
from lipsync_daemon.events import JobEvents
from lipsync_daemon.jobspec import Submissions
from lipsync_daemon.manifest import CANCEL_SCHEMA, ManifestError, dumps, manifest_to_request, result_document, validate_manifest
from lipsync_daemon.store import JobRecord, JobStore

log = logging.getLogger(__name__)
POLL_S = 0.5
SETTLE_S = 0.5  # a manifest must be unchanged this long before it is read
PROGRESS_EVERY_S = 1.0
SAFE_NAME = re.compile(r"[^A-Za-z0-9._:-]")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file beside it, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def drop_manifest(inbox_dir: Path, manifest: dict[str, Any]) -> Path:
    """Validate ``manifest`` and place it in ``inbox_dir`` atomically; returns its path."""
    validate_manifest(manifest)
    path = Path(inbox_dir) / f"{SAFE_NAME.sub('_', manifest['request_id'])}.json"
    write_atomically(path, json.dumps(manifest, indent=2))
    return path


def read_result(outbox_dir: Path, request_id: str) -> dict[str, Any] | None:
    """The result document of ``request_id``, or None while there is none."""
    try:
        return json.loads((Path(outbox_dir) / f"{SAFE_NAME.sub('_', request_id)}.json").read_text())
    except FileNotFoundError:
        return None


class Inbox:
    """Polls the inbox and keeps the outbox current; see module docstring."""

    def __init__(self, inbox_dir: Path, outbox_dir: Path, submissions: Submissions, store: JobStore, worker,
                 events: JobEvents) -> None:
        self.inbox_dir, self.outbox_dir = Path(inbox_dir), Path(outbox_dir)
        self.submissions, self.store, self.worker, self.events = submissions, store, worker, events
        self._written: dict[str, tuple[str, float]] = {}  # job id -> (state, time) of the last result written
        self._lock = threading.Lock()  # result writes of one job stay in order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll_forever, name="inbox", daemon=True)

    def start(self) -> None:
        for folder in (self.inbox_dir, self.inbox_dir / "accepted", self.inbox_dir / "rejected", self.outbox_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.events.subscribe(self._job_changed)
        for job in self.store.list(limit=10_000):  # results a killed daemon may not have written yet
            if job.spec.get("origin") == "inbox" and (read_result(self.outbox_dir, job.request_id) or {}).get("state") != job.state:
                self._job_changed(job.id, force=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll_forever(self) -> None:
        while not self._stop.wait(POLL_S):
            for path in sorted(self.inbox_dir.glob("*.json")):
                try:
                    if not path.name.startswith(".") and time.time() - path.stat().st_mtime >= SETTLE_S:
                        self._take(path)
                except Exception:  # noqa: BLE001 - one bad file never stops the inbox
                    log.exception("inbox could not handle %s", path)

    def _write_result(self, request_id: str, document: dict[str, Any]) -> None:
        write_atomically(self.outbox_dir / f"{SAFE_NAME.sub('_', request_id)}.json", dumps(document))

    def _take(self, path: Path) -> None:
        request_id = path.stem
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and isinstance(data.get("request_id"), str) and data["request_id"]:
                request_id = data["request_id"]
            manifest = validate_manifest(data)
            if manifest["schema"] == CANCEL_SCHEMA:
                job = self.store.get_by_request(request_id)
                if job is None:
                    raise ServiceError("NOT_FOUND", f"no job with request_id '{request_id}' to cancel")
                self.store.request_cancel(job.id)
                self.worker.cancel(job.id)
                self.events.changed(job.id)
                os.replace(path, self.inbox_dir / "accepted" / path.name)
                return
            job, _ = self.submissions.submit(manifest_to_request(manifest), origin="inbox")
        except (ValueError, ServiceError, OSError) as exc:
            code, message = ("INVALID_ARGUMENT", f"manifest {path.name}: {exc}") \
                if isinstance(exc, (ManifestError, json.JSONDecodeError)) else status_for(exc)
            os.replace(path, self.inbox_dir / "rejected" / path.name)
            self._write_result(request_id, result_document(request_id, None, (code, message)))
            log.warning("inbox manifest rejected", extra={"file": path.name, "code": code, "error": message})
            return
        os.replace(path, self.inbox_dir / "accepted" / f"{SAFE_NAME.sub('_', request_id)}.json")
        self._job_changed(job.id, force=True)
        log.info("inbox manifest accepted", extra={"file": path.name, "job": job.id})

    def _job_changed(self, job_id: str, force: bool = False) -> None:
        with self._lock:
            job = self.store.get(job_id)
            if job is not None and job.spec.get("origin") == "inbox":
                self._write_if_due(job, force)

    def _write_if_due(self, job: JobRecord, force: bool) -> None:
        state, at = self._written.get(job.id, ("", 0.0))
        if force or job.state != state or time.monotonic() - at >= PROGRESS_EVERY_S:
            self._written[job.id] = (job.state, time.monotonic())
            self._write_result(job.request_id, result_document(job.request_id, job))
            if job.final:
                self._written.pop(job.id, None)
