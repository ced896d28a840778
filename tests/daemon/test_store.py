"""The SQLite job store on real files: idempotency, claims, leases, recovery, poison, cancel, durability."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lipsync_daemon.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, JobStore, RequestIdReused

SPEC = {"video": "/v.mp4", "audio": "/a.wav", "output": "/out/{job_id}.mp4", "options": {}, "request": {}}


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs.sqlite3")


def test_durability_settings(store: JobStore, tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_submit_is_idempotent_per_request_id(store: JobStore) -> None:
    job, created = store.submit("r1", "f1", SPEC)
    again, created_again = store.submit("r1", "f1", SPEC)
    assert created and not created_again and again.id == job.id
    assert job.spec["output"] == f"/out/{job.id}.mp4"
    with pytest.raises(RequestIdReused, match="r1"):
        store.submit("r1", "other", SPEC)
    assert len(store.list()) == 1


def test_claims_follow_priority_then_order_and_survive_reopen(store: JobStore, tmp_path: Path) -> None:
    low, _ = store.submit("low", "f", SPEC, priority=0)
    high, _ = store.submit("high", "f", SPEC, priority=5)
    low2, _ = store.submit("low2", "f", SPEC, priority=0)
    claimed = [store.claim("w", 30, allow_suspects=True).id for _ in range(3)]
    assert claimed == [high.id, low.id, low2.id]
    assert store.claim("w", 30, allow_suspects=True) is None
    store.finish(high.id, SUCCEEDED, result={"output_path": "x"}, owner="w")
    store.close()
    reopened = JobStore(tmp_path / "jobs.sqlite3")
    assert reopened.get(high.id).state == SUCCEEDED and reopened.get(high.id).result == {"output_path": "x"}
    assert sorted(reopened.recover()) == sorted([low.id, low2.id])  # a restart requeues what was running
    assert {reopened.get(j).state for j in (low.id, low2.id)} == {QUEUED}


def test_finish_is_fenced_by_owner_and_final_states_never_change(store: JobStore) -> None:
    job, _ = store.submit("r", "f", SPEC)
    store.claim("w1", 30, allow_suspects=True)
    assert store.finish(job.id, SUCCEEDED, owner="w2").state == RUNNING  # not the lease owner
    assert store.finish(job.id, FAILED, error=("INTERNAL", "x"), owner="w1").state == FAILED
    assert store.finish(job.id, SUCCEEDED).state == FAILED
    assert store.request_cancel(job.id).state == FAILED


def test_expired_lease_is_requeued_and_heartbeat_keeps_it(store: JobStore) -> None:
    kept, _ = store.submit("kept", "f", SPEC)
    lost, _ = store.submit("lost", "f", SPEC)
    store.claim("w", -1, allow_suspects=True)
    store.claim("w", -1, allow_suspects=True)
    store.heartbeat([kept.id], "w", 30)
    assert store.recover(expired_only=True) == [lost.id]
    assert store.get(kept.id).state == RUNNING and store.get(lost.id).state == QUEUED


def test_crashes_make_a_suspect_then_poison(store: JobStore) -> None:
    job, _ = store.submit("poison", "f", SPEC)
    other, _ = store.submit("other", "f", SPEC)
    for attempt in range(1, 4):
        claimed = store.claim("w", 30, allow_suspects=True)
        assert claimed.id == job.id
        after = store.charge_crash(job.id, "w", max_crashes=3)
        if attempt < 3:
            assert after.state == QUEUED and after.crashes == attempt
            # a suspect is not taken when other jobs run beside it
            assert store.claim("w", 30, allow_suspects=False).id == other.id
            store.requeue(other.id, "w")
    assert after.state == FAILED and after.error_code == "ABORTED" and "crashed 3 times" in after.error_message
    assert after.attempts == 3


def test_cancel_queued_is_immediate_and_running_is_flagged(store: JobStore) -> None:
    queued, _ = store.submit("q", "f", SPEC)
    running, _ = store.submit("r", "f", SPEC, priority=1)
    store.claim("w", 30, allow_suspects=True)
    assert store.request_cancel(queued.id).state == CANCELLED
    flagged = store.request_cancel(running.id)
    assert flagged.state == RUNNING and flagged.cancel_requested
    store.recover()  # the daemon died before the render stopped: the cancel still wins
    assert store.get(running.id).state == CANCELLED and store.get(running.id).error_code == "CANCELLED"
    crashing, _ = store.submit("c", "f", SPEC)
    store.claim("w", 30, allow_suspects=True)
    store.request_cancel(crashing.id)
    assert store.charge_crash(crashing.id, "w", max_crashes=3).state == CANCELLED  # ... and so after a crash


def test_damaged_database_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(sqlite3.DatabaseError, match="damaged.*move it aside"):
        JobStore(path)
