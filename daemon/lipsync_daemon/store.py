"""The durable job queue: one SQLite file, an explicit state machine, leases, recovery at start-up.

States: QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED (the last three are final and never change).
A job is never deleted when it is taken: a claim (in a BEGIN IMMEDIATE transaction) marks it RUNNING
with a lease owner and expiry that the worker renews. At start-up every RUNNING job belongs to a
daemon that died, so it goes back to QUEUED. A job that was running when the engine host crashed is
charged a crash; after ``max_crashes`` it ends FAILED as poison. WAL + synchronous=FULL: a commit the
daemon acknowledged survives a power loss.
"""
from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"
FINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- submission order
    id TEXT UNIQUE NOT NULL,
    request_id TEXT UNIQUE NOT NULL,         -- the client's idempotency key
    fingerprint TEXT NOT NULL,               -- digest of the request, to spot a reused request_id
    spec TEXT NOT NULL,                      -- JSON: resolved paths and settings (JobSpec)
    state TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,     -- times claimed
    crashes INTEGER NOT NULL DEFAULT 0,      -- times the engine host died while running it
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires REAL,
    progress TEXT NOT NULL DEFAULT '{}',     -- JSON: stage, frames_done, frames_total, fps, eta_seconds, warnings
    result TEXT,                             -- JSON when SUCCEEDED
    error_code TEXT,                         -- gRPC status name when FAILED / CANCELLED
    error_message TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, priority DESC, seq);
"""


class RequestIdReused(ValueError):
    """A request_id came back with a different request."""


@dataclass(frozen=True)
class JobRecord:
    """One row of the job table, decoded. Times are Unix seconds."""

    id: str
    request_id: str
    spec: dict[str, Any]
    state: str
    priority: int
    attempts: int
    crashes: int
    cancel_requested: bool
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    created: float
    updated: float

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        return cls(
            id=row["id"], request_id=row["request_id"], spec=json.loads(row["spec"]), state=row["state"],
            priority=row["priority"], attempts=row["attempts"], crashes=row["crashes"],
            cancel_requested=bool(row["cancel_requested"]), progress=json.loads(row["progress"]),
            result=json.loads(row["result"]) if row["result"] else None, error_code=row["error_code"],
            error_message=row["error_message"], created=row["created"], updated=row["updated"],
        )


class JobStore:
    """Thread-safe access to the job database at ``path`` (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=5.0)
        self._db.row_factory = sqlite3.Row
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                log.warning("job database %s cannot use WAL (journal_mode=%s); is it on a network drive?", path, mode)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            check = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise sqlite3.DatabaseError(
                f"job database {path} is damaged ({exc}); move it aside to start with an empty queue"
            ) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql_and_args: Iterable[tuple[str, tuple]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in sql_and_args:
                    self._db.execute(sql, args)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _one(self, sql: str, args: tuple) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return JobRecord.from_row(row) if row else None

    # ---- submit and read ----

    def submit(self, request_id: str, fingerprint: str, spec: dict[str, Any], priority: int = 0) -> tuple[JobRecord, bool]:
        """Insert a QUEUED job, or return the existing one of ``request_id``. Returns (job, created).

        ``spec`` may use the placeholder "{job_id}" in string values; it is filled with the new id.
        Raises RequestIdReused if the request_id was used for a request with another fingerprint.
        """
        with self._lock:
            existing = self.get_by_request(request_id)
            if existing is None:
                job_id = secrets.token_hex(8)
                filled = {k: v.replace("{job_id}", job_id) if isinstance(v, str) else v for k, v in spec.items()}
                now = time.time()
                progress = json.dumps({"stage": "queued"})
                self._write([(
                    "INSERT INTO jobs (id, request_id, fingerprint, spec, state, priority, progress, created, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job_id, request_id, fingerprint, json.dumps(filled), QUEUED, priority, progress, now, now),
                )])
                return self.get(job_id), True
            with self._lock:
                stored = self._db.execute("SELECT fingerprint FROM jobs WHERE id=?", (existing.id,)).fetchone()[0]
            if stored != fingerprint:
                raise RequestIdReused(
                    f"request id '{request_id}' was already used for a different request (job {existing.id}); "
                    "use a new request id for a new request"
                )
            return existing, False

    def get(self, job_id: str) -> JobRecord | None:
        return self._one("SELECT * FROM jobs WHERE id=?", (job_id,))

    def get_by_request(self, request_id: str) -> JobRecord | None:
        return self._one("SELECT * FROM jobs WHERE request_id=?", (request_id,))

    def list(self, states: Iterable[str] = (), limit: int = 100) -> list[JobRecord]:
        """Newest first."""
        states = list(states)
        where = f"WHERE state IN ({','.join('?' * len(states))})" if states else ""
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM jobs {where} ORDER BY seq DESC LIMIT ?", (*states, limit)).fetchall()
        return [JobRecord.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {state: n for state, n in rows}

    # ---- the worker's side ----

    def claim(self, owner: str, lease_s: float, allow_suspects: bool) -> JobRecord | None:
        """Take the next QUEUED job (highest priority, oldest first) and mark it RUNNING for ``owner``.

        Jobs that were running during an engine-host crash ("suspects") are only taken when
        ``allow_suspects`` (the caller runs them alone, so a crash is blamed on the right job).
        """
        suspects = "" if allow_suspects else "AND crashes = 0"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    f"SELECT id FROM jobs WHERE state=? {suspects} ORDER BY priority DESC, seq LIMIT 1", (QUEUED,)
                ).fetchone()
                if row is not None:
                    now = time.time()
                    self._db.execute(
                        "UPDATE jobs SET state=?, attempts=attempts+1, lease_owner=?, lease_expires=?, updated=?"
                        " WHERE id=?", (RUNNING, owner, now + lease_s, now, row["id"]),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self.get(row["id"]) if row is not None else None

    def heartbeat(self, job_ids: Iterable[str], owner: str, lease_s: float) -> None:
        expires = time.time() + lease_s
        self._write(
            ("UPDATE jobs SET lease_expires=? WHERE id=? AND state=? AND lease_owner=?", (expires, j, RUNNING, owner))
            for j in job_ids
        )

    def set_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        self._write([(
            "UPDATE jobs SET progress=?, updated=? WHERE id=? AND state=?",
            (json.dumps(progress), time.time(), job_id, RUNNING),
        )])

    def finish(
        self, job_id: str, state: str, *, result: dict[str, Any] | None = None,
        error: tuple[str, str] | None = None, owner: str | None = None,
    ) -> JobRecord | None:
        """Move a non-final job to a final ``state``; a job already final is left as it is.

        With ``owner``, only a RUNNING job leased by that owner is finished (fencing).
        """
        assert state in FINAL_STATES, state
        fence = " AND state=? AND lease_owner=?" if owner else ""
        args = (RUNNING, owner) if owner else ()
        code, message = error or (None, None)
        self._write([(
            "UPDATE jobs SET state=?, result=?, error_code=?, error_message=?, lease_owner=NULL,"
            f" lease_expires=NULL, updated=? WHERE id=? AND state NOT IN (?, ?, ?){fence}",
            (state, json.dumps(result) if result else None, code, message, time.time(), job_id, *FINAL_STATES, *args),
        )])
        return self.get(job_id)

    def charge_crash(self, job_id: str, owner: str, max_crashes: int) -> JobRecord | None:
        """The engine host died while ``job_id`` ran: back to QUEUED (CANCELLED if a cancel was asked for),
        or FAILED after ``max_crashes``."""
        now = time.time()
        self._write([
            ("UPDATE jobs SET crashes=crashes+1, state=CASE WHEN cancel_requested THEN ? ELSE ? END,"
             " error_code=CASE WHEN cancel_requested THEN 'CANCELLED' ELSE error_code END,"
             " error_message=CASE WHEN cancel_requested THEN 'cancelled by the client' ELSE error_message END,"
             " lease_owner=NULL, lease_expires=NULL, updated=?, progress=? WHERE id=? AND state=? AND lease_owner=?",
             (CANCELLED, QUEUED, now, json.dumps({"stage": "queued"}), job_id, RUNNING, owner)),
            ("UPDATE jobs SET state=?, error_code=?, error_message=? WHERE id=? AND state=? AND crashes>=?",
             (FAILED, "ABORTED", f"the engine crashed {max_crashes} times while rendering this job (poison input?); "
              "check the media with `lipsync render` or re-encode it, then submit again", job_id, QUEUED, max_crashes)),
        ])
        return self.get(job_id)

    def requeue(self, job_id: str, owner: str) -> None:
        """Give back a job this owner could not run (e.g. the daemon is stopping)."""
        self._write([(
            "UPDATE jobs SET state=?, lease_owner=NULL, lease_expires=NULL, updated=? WHERE id=? AND state=? AND lease_owner=?",
            (QUEUED, time.time(), job_id, RUNNING, owner),
        )])

    def recover(self, expired_only: bool = False) -> list[str]:
        """RUNNING jobs whose owner is gone go back to QUEUED (CANCELLED if a cancel was asked for). At
        start-up every RUNNING job is such a job; later (``expired_only``) only those whose lease ran out.
        Returns their ids."""
        cond = "state=? AND lease_expires < ?" if expired_only else "state=?"
        args = (RUNNING, time.time()) if expired_only else (RUNNING,)
        with self._lock:
            ids = [r[0] for r in self._db.execute(f"SELECT id FROM jobs WHERE {cond}", args).fetchall()]
        now = time.time()
        self._write(  # a job whose cancel was asked for ends CANCELLED instead of running again
            ("UPDATE jobs SET state=CASE WHEN cancel_requested THEN ? ELSE ? END,"
             " error_code=CASE WHEN cancel_requested THEN 'CANCELLED' ELSE error_code END,"
             " error_message=CASE WHEN cancel_requested THEN 'cancelled by the client' ELSE error_message END,"
             " lease_owner=NULL, lease_expires=NULL, updated=? WHERE id=? AND state=?",
             (CANCELLED, QUEUED, now, j, RUNNING)) for j in ids
        )
        return ids

    def request_cancel(self, job_id: str) -> JobRecord | None:
        """QUEUED -> CANCELLED at once; RUNNING -> flagged for the worker; final -> unchanged."""
        now = time.time()
        self._write([
            ("UPDATE jobs SET state=?, error_code='CANCELLED', error_message='cancelled by the client', updated=?"
             " WHERE id=? AND state=?", (CANCELLED, now, job_id, QUEUED)),
            ("UPDATE jobs SET cancel_requested=1, updated=? WHERE id=? AND state=?", (now, job_id, RUNNING)),
        ])
        return self.get(job_id)
