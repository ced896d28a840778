"""Jobs that name a frame range of the shot and an offset into the dub: end to end through a real daemon on
127.0.0.1 and the real client (and the inbox), idempotency, the face-track cache per range, clear errors,
and a job database written before ranges existed."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import av
import numpy as np
import pytest

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.client import ClientError
from lipsync_daemon.inbox import drop_manifest, read_result
from lipsync_daemon.manifest import ManifestError, validate_manifest
from lipsync_daemon.tracks import track_key
from lipsync_engine.media import probe_video
from daemon_harness import CLIP, start_daemon
from media_factory import clip_frames, make_audio, make_video

RATE = 48000
FIRST, COUNT, OFFSET = 30, 40, 1.0  # frames 30-69 of 75; the take starts 1 s into the dub
FFV1 = {"codec": "ffv1"}


@pytest.fixture(scope="module")
def ranged(media_root: Path, data_dir: Path) -> dict[str, Path]:
    """A long-GOP (B-frames, a keyframe every 25 frames) 75-frame shot with timecode 10:00:00:00, and two
    3 s stereo dubs with a click 2.0 s in (1.0 s into the take)."""
    shot = make_video(media_root / "ranged_shot.mov", clip_frames(data_dir / CLIP, 0.0, 75), timecode="10:00:00:00",
                      options={"x264-params": "keyint=25:min-keyint=25:bframes=2:scenecut=0"})
    dubs = {}
    for language, level in (("de", 0.9), ("fr", 0.7)):
        pcm = np.zeros((3 * RATE, 2), np.float32)
        pcm[2 * RATE] = level
        dubs[language] = make_audio(media_root / f"ranged_dub_{language}.wav", pcm, RATE)
    return {"shot": shot, **dubs}


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def click_time(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
    samples = np.concatenate([f.to_ndarray().reshape(-1, stream.channels)[:, 0] for f in frames])
    return float(frames[0].pts * frames[0].time_base) + int(np.argmax(np.abs(samples))) / stream.rate


def test_ranged_job_renders_the_range_with_the_dub_from_the_offset(daemon, media_root: Path, ranged) -> None:
    running, client = daemon
    out = media_root / "ranged_take_de.mkv"
    job = client.submit(ranged["shot"], ranged["de"], out, settings=FFV1, video_range=(FIRST, COUNT),
                        audio_offset_s=OFFSET)
    assert job.request.video_range.first_frame == FIRST and job.request.audio_offset_s == OFFSET
    final = client.wait(job.id, 180)
    assert final.state == pb.SUCCEEDED, final.error.message
    assert final.result.frames == COUNT and final.progress.frames_total == COUNT
    take = probe_video(out)
    assert (take.frame_count, take.timecode) == (COUNT, "10:00:01:05")  # 30 frames after 10:00:00:00 at 25 fps
    assert all(np.array_equal(a, b) for a, b in zip(decoded(out), decoded(ranged["shot"])[FIRST:FIRST + COUNT]))
    assert click_time(out) == pytest.approx(2.0 - OFFSET, abs=1e-3)
    assert (running.config.tracks_dir / f"{track_key(ranged['shot'], (FIRST, COUNT))}.npz").is_file()


def test_second_language_of_a_range_reuses_its_track_and_another_range_does_not(daemon, media_root: Path,
                                                                               ranged) -> None:
    running, client = daemon
    cached = running.config.tracks_dir / f"{track_key(ranged['shot'], (FIRST, COUNT))}.npz"
    if not cached.is_file():  # this test alone: render the first language first
        client.wait(client.submit(ranged["shot"], ranged["de"], settings=FFV1, video_range=(FIRST, COUNT),
                                  audio_offset_s=OFFSET).id, 180)
    tracked_at = cached.stat().st_mtime_ns
    french = client.wait(client.submit(ranged["shot"], ranged["fr"], media_root / "ranged_take_fr.mkv", settings=FFV1,
                                       video_range=(FIRST, COUNT), audio_offset_s=OFFSET).id, 180)
    assert french.state == pb.SUCCEEDED, french.error.message
    assert cached.stat().st_mtime_ns == tracked_at  # read, not tracked again
    other = client.wait(client.submit(ranged["shot"], ranged["fr"], settings=FFV1, video_range=(10, 20),
                                      audio_offset_s=0.5).id, 180)
    assert other.state == pb.SUCCEEDED and other.result.frames == 20, other.error.message
    assert (running.config.tracks_dir / f"{track_key(ranged['shot'], (10, 20))}.npz").is_file()
    assert cached.stat().st_mtime_ns == tracked_at


def test_request_id_reused_with_another_range_or_offset_is_refused(daemon, media_root: Path, ranged) -> None:
    _, client = daemon
    submit = dict(settings=FFV1, video_range=(60, 5), audio_offset_s=0.0, request_id="ranged-idempotent-1")
    first = client.submit(ranged["shot"], ranged["de"], **submit)
    assert client.submit(ranged["shot"], ranged["de"], **submit).id == first.id
    for change in ({"video_range": (61, 5)}, {"audio_offset_s": 0.5}, {"audio_offset_s": None}, {"video_range": None}):
        with pytest.raises(ClientError) as info:
            client.submit(ranged["shot"], ranged["de"], **{**submit, **change})
        assert info.value.code == "ALREADY_EXISTS", change
    assert client.wait(first.id, 180).state == pb.SUCCEEDED


def test_a_range_or_offset_outside_the_media_fails_with_a_clear_message(daemon, ranged) -> None:
    _, client = daemon
    outside = client.wait(client.submit(ranged["shot"], ranged["de"], video_range=(70, 10)).id, 120)
    assert outside.state == pb.FAILED and outside.error.code_name == "INVALID_ARGUMENT"
    assert "video range 70-79" in outside.error.message and "frames 0-74" in outside.error.message
    late = client.wait(client.submit(ranged["shot"], ranged["de"], video_range=(0, 10), audio_offset_s=3.5).id, 120)
    assert late.state == pb.FAILED and late.error.code_name == "INVALID_ARGUMENT"
    assert "past the end of the dub" in late.error.message
    for bad in ({"video_range": (-1, 5)}, {"video_range": (0, 0)}, {"audio_offset_s": -0.1},
                {"audio_offset_s": float("inf")}):
        with pytest.raises(ClientError) as info:
            client.submit(ranged["shot"], ranged["de"], **bad)
        assert info.value.code == "INVALID_ARGUMENT", bad


def test_inbox_manifest_with_a_range_renders_it(daemon, media_root: Path, ranged) -> None:
    running, _ = daemon
    manifest = {"schema": "lipsync.job/1", "request_id": "ranged-inbox-1", "video": str(ranged["shot"]),
                "audio": str(ranged["de"]), "output": str(media_root / "ranged_inbox.mov"),
                "video_range": {"first_frame": 40, "frame_count": 10}, "audio_offset_s": 1.75}
    drop_manifest(running.config.inbox_dir, manifest)
    deadline, result = time.monotonic() + 180, None
    while time.monotonic() < deadline and (result is None or result["state"] not in ("SUCCEEDED", "FAILED")):
        time.sleep(0.1)
        result = read_result(running.config.outbox_dir, "ranged-inbox-1")
    assert result is not None and result["state"] == "SUCCEEDED", result
    assert result["report"]["frames"] == 10 and probe_video(result["output"]).timecode == "10:00:01:15"
    assert click_time(Path(result["output"])) == pytest.approx(2.0 - 1.75, abs=1e-3)  # in the 0.4 s take
    for key, value in (("video_range", [40, 10]), ("video_range", {"first_frame": 40}), ("audio_offset_s", "1.75"),
                       ("audio_offset_s", -1)):
        with pytest.raises(ManifestError, match=key):
            validate_manifest({**manifest, key: value})


# The jobs table exactly as the daemon created it before jobs could name a range (daemon/lipsync_daemon/store.py
# at d81b264): a file written then must open and its jobs must run unchanged.
SCHEMA_BEFORE_RANGES = """
CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, request_id TEXT UNIQUE NOT NULL,
    fingerprint TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, crashes INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_expires REAL, progress TEXT NOT NULL DEFAULT '{}', result TEXT, error_code TEXT,
    error_message TEXT, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX jobs_queue ON jobs (state, priority DESC, seq);
"""


def test_a_job_database_from_before_ranges_opens_and_its_jobs_run(tmp_path: Path, media_root: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    video, audio = str(media_root / "tiny.mp4"), str(media_root / "dub.wav")

    def spec(output: str) -> str:  # the spec the daemon stored then: no video_range / audio_offset_s keys
        request = {"request_id": Path(output).stem, "video": {"path": video}, "audio": {"path": audio},
                   "output_path": output}
        return json.dumps({"video": video, "audio": audio, "actor": "", "options": {}, "origin": "grpc",
                           "request": request, "output": output})

    with sqlite3.connect(data / "jobs.sqlite3") as db:
        db.executescript(SCHEMA_BEFORE_RANGES)
        for job_id, state, output in (("0123456789abcdef", "QUEUED", "old-queued"),
                                      ("fedcba9876543210", "RUNNING", "old-running")):
            db.execute("INSERT INTO jobs (id, request_id, fingerprint, spec, state, progress, created, updated)"
                       " VALUES (?, ?, 'f', ?, ?, '{}', ?, ?)",
                       (job_id, output, spec(str(media_root / f"{output}.mp4")), state, time.time(), time.time()))
    running, client = start_daemon(data, media_root)
    try:
        for job_id in ("0123456789abcdef", "fedcba9876543210"):  # a queued job, and one its daemon died running
            final = client.wait(job_id, 180)
            assert final.state == pb.SUCCEEDED, final.error.message
            assert final.result.frames == 10 and not final.request.HasField("video_range")
            assert not final.request.HasField("audio_offset_s")
        new = client.wait(client.submit(video, audio, video_range=(2, 5), audio_offset_s=0.25).id, 180)
        assert new.state == pb.SUCCEEDED and new.result.frames == 5, new.error.message
    finally:
        client.close()
        running.stop(0)
    assert probe_video(media_root / "old-queued.mp4").frame_count == 10
