"""Crash safety with a real daemon subprocess: kill -9 of the daemon at points of a job (probe, track,
render, finalize/rename, random) and restart; an engine host that dies every time a job runs (what a
decoder that crashes natively does to it) ends that job FAILED after max_crashes while others finish."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import av

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.blobs import file_sha256

STAGE_ORDER = ("probe", "track", "render", "finalize", "done")


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def wait_for_stage(client, job_ids: list[str], stage: str, timeout_s: float = 60.0) -> None:
    """Return once some job has reached ``stage`` (or a later one), or every job is final."""
    wanted = STAGE_ORDER.index(stage)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = [client.get(j) for j in job_ids]
        if all(j.state in (pb.SUCCEEDED, pb.FAILED, pb.CANCELLED) for j in jobs):
            return
        if any(j.state == pb.RUNNING and j.progress.stage in STAGE_ORDER
               and STAGE_ORDER.index(j.progress.stage) >= wanted for j in jobs):
            return
        time.sleep(0.01)
    raise AssertionError(f"no job reached '{stage}' in {timeout_s} s")


def assert_no_half_written_outputs(folder: Path, expected_frames: dict[str, int]) -> None:
    for path in folder.iterdir():
        if not path.name.startswith("."):
            assert frame_count(path) == expected_frames[path.name], f"{path} is incomplete"


def test_kill_9_at_points_of_a_job_then_restart_loses_and_duplicates_nothing(daemon_process, media_root, tmp_path):
    out = media_root / f"kill-{tmp_path.name}"
    out.mkdir()
    daemon = daemon_process("--concurrency", "2")
    client = daemon.start()
    sources = {"a.mp4": ("long.mp4", 75), "b.mp4": ("shot.mp4", 25), "c.mp4": ("long.mp4", 75)}
    jobs = [client.submit(media_root / src, media_root / "dub.wav", out / name, request_id=f"kill-{name}").id
            for name, (src, _) in sources.items()]
    expected = {name: frames for name, (_, frames) in sources.items()}
    rng = random.Random(6)
    for point in ("probe", "track", "render", "finalize", "random", "random"):
        if point == "random":
            time.sleep(rng.uniform(0.0, 2.0))
        else:
            wait_for_stage(client, jobs, point)
        client.close()
        daemon.kill9()  # the engine host must die with it (checked inside)
        assert_no_half_written_outputs(out, expected)
        client = daemon.start()
    finals = [client.wait(j, 300) for j in jobs]
    assert [pb.JobState.Name(j.state) for j in finals] == ["SUCCEEDED"] * 3, [j.error.message for j in finals]
    for job in finals:
        path = Path(job.result.output_path)
        assert file_sha256(path) == job.result.sha256 and frame_count(path) == expected[path.name]
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "c.mp4"]  # no temp files, no staging
    again = client.submit(media_root / "long.mp4", media_root / "dub.wav", out / "a.mp4", request_id="kill-a.mp4")
    assert again.id == jobs[0] and again.state == pb.SUCCEEDED
    assert len(client.list(limit=100)) == 3
    client.close()
    daemon.stop()
    db = sqlite3.connect(daemon.data_dir / "jobs.sqlite3")
    assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"


def test_job_that_crashes_the_engine_every_time_ends_failed_and_others_finish(daemon_process, media_root):
    daemon = daemon_process("--concurrency", "2", "--max-crashes", "2")
    client = daemon.start()
    poison = client.submit(media_root / "long.mp4", media_root / "dub.wav", request_id="poison").id
    others = [client.submit(media_root / "tiny.mp4", media_root / "dub.wav", request_id=f"ok-{i}").id for i in range(3)]
    crashes = 0
    deadline = time.monotonic() + 120
    while client.get(poison).state not in (pb.FAILED, pb.SUCCEEDED) and time.monotonic() < deadline:
        job = client.get(poison)
        if job.state == pb.RUNNING and job.progress.stage in ("probe", "track", "render"):
            for pid in daemon.engine_pids():
                os.kill(pid, signal.SIGKILL)  # what a native decoder crash does to the engine host
            crashes += 1
            while client.get(poison).state == pb.RUNNING and time.monotonic() < deadline:
                time.sleep(0.02)
        time.sleep(0.02)
    final = client.get(poison)
    assert final.state == pb.FAILED and final.error.code_name == "ABORTED", final.error.message
    assert "crashed 2 times" in final.error.message and crashes == 2
    assert [pb.JobState.Name(client.wait(j, 120).state) for j in others] == ["SUCCEEDED"] * 3
    assert client.health() == "SERVING" and daemon.process.poll() is None
    assert client.health("lipsync.v1.Lipsync") == "SERVING"  # back after the engine host restarted
