"""The inbox/outbox manifests (docs/inbox.md), the `lipsync` daemon commands, config loading and the
reproducibility of the generated gRPC code, against a real in-process daemon."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lipsync_cli.main import main as lipsync
from lipsync_daemon.config import ConfigError, load_config
from lipsync_daemon.inbox import drop_manifest, read_result
from lipsync_daemon.manifest import ManifestError, validate_manifest
from daemon_harness import REPO


def wait_result(outbox: Path, request_id: str, states: tuple[str, ...], timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = read_result(outbox, request_id)
        if result is not None and result["state"] in states:
            return result
        time.sleep(0.1)
    raise AssertionError(f"no result in {states} for {request_id}: {read_result(outbox, request_id)}")


def test_inbox_manifest_renders_and_result_appears(daemon, media_root: Path) -> None:
    running, client = daemon
    out = media_root / "inbox-take.mov"
    manifest = {"schema": "lipsync.job/1", "request_id": "resolve-item-7", "video": str(media_root / "tiny.mp4"),
                "audio": str(media_root / "dub.wav"), "output": str(out), "settings": {"codec": "prores"},
                "labels": {"item": "7"}}
    drop_manifest(running.config.inbox_dir, manifest)
    result = wait_result(running.config.outbox_dir, "resolve-item-7", ("SUCCEEDED", "FAILED"))
    assert result["state"] == "SUCCEEDED", result["error"]
    assert result["output"] == str(out) and out.is_file() and result["labels"] == {"item": "7"}
    assert result["report"]["frames"] == 10 and len(result["sha256"]) == 64
    assert (running.config.inbox_dir / "accepted" / "resolve-item-7.json").is_file()
    assert client.submit_manifest(manifest).id == result["job_id"]  # same request id over gRPC: same job


def test_bad_manifests_are_rejected_with_a_result_saying_why(daemon, media_root: Path) -> None:
    running, _ = daemon
    inbox, outbox = running.config.inbox_dir, running.config.outbox_dir
    (inbox / "garbled.json").write_text("{not json")
    drop_manifest(inbox, {"schema": "lipsync.job/1", "request_id": "escape-1", "video": "/etc/passwd",
                          "audio": str(media_root / "dub.wav")})
    garbled = wait_result(outbox, "garbled", ("FAILED",))
    escape = wait_result(outbox, "escape-1", ("FAILED",))
    assert garbled["error"]["code"] == "INVALID_ARGUMENT" and "garbled.json" in garbled["error"]["message"]
    assert escape["error"]["code"] == "INVALID_ARGUMENT" and "outside the allowed roots" in escape["error"]["message"]
    assert (inbox / "rejected" / "garbled.json").is_file()
    with pytest.raises(ManifestError, match="unknown manifest key"):
        validate_manifest({"schema": "lipsync.job/1", "request_id": "x", "video": "/a", "audio": "/b", "ouput": "/c"})


def test_cancel_manifest_cancels_a_running_job(daemon, media_root: Path) -> None:
    running, _ = daemon
    job = {"schema": "lipsync.job/1", "request_id": "to-cancel", "video": str(media_root / "slow.mp4"),
           "audio": str(media_root / "dub.wav")}
    drop_manifest(running.config.inbox_dir, job)
    wait_result(running.config.outbox_dir, "to-cancel", ("RUNNING",))
    (running.config.inbox_dir / "cancel-it.json").write_text(json.dumps({"schema": "lipsync.cancel/1",
                                                                         "request_id": "to-cancel"}))
    result = wait_result(running.config.outbox_dir, "to-cancel", ("CANCELLED", "SUCCEEDED", "FAILED"))
    assert result["state"] == "CANCELLED" and result["error"]["code"] == "CANCELLED"


def test_cli_submit_wait_jobs_fetch_server_info(daemon, media_root: Path, tmp_path: Path, capsys) -> None:
    running, _ = daemon
    target = ["--daemon", running.addresses[0], "--token", running.token]
    assert lipsync(["submit", str(media_root / "tiny.mp4"), str(media_root / "dub.wav"), "--wait",
                    "--label", "take=3", *target]) == 0
    out = capsys.readouterr()
    job_id = out.out.split()[0]
    assert "SUCCEEDED" in out.out and "frame/s" in out.err  # a progress bar went to stderr
    assert lipsync(["jobs", "--json", "--state", "SUCCEEDED", *target]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(j["id"] == job_id and j["request"]["labels"] == {"take": "3"} for j in listed)
    assert lipsync(["fetch", job_id, str(tmp_path / "take.mp4"), *target]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "take.mp4") and (tmp_path / "take.mp4").stat().st_size > 0
    assert lipsync(["server-info", "--json", *target]) == 0
    assert json.loads(capsys.readouterr().out)["health"] == "SERVING"
    assert lipsync(["cancel", "no-such-job", *target]) == 2
    assert "NOT_FOUND" in capsys.readouterr().err


def test_config_file_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "daemon.toml"
    path.write_text(f'[daemon]\ndata_dir = "{tmp_path}"\nconcurrency = 3\nallowed_roots = ["{tmp_path}"]\n'
                    'listen = ["unix", "127.0.0.1:50551"]\n')
    config = load_config(path, {"concurrency": 4, "generator": None})
    assert config.concurrency == 4 and config.allowed_roots == (tmp_path.resolve(),)
    assert config.listen_targets() == [("unix", str(tmp_path / "run" / "lipsync.sock")), ("tcp", "127.0.0.1:50551")]
    path.write_text("concurency = 2\n")
    with pytest.raises(ConfigError, match="concurency"):
        load_config(path)


def test_generated_code_is_reproducible() -> None:
    done = subprocess.run([sys.executable, "proto/generate.py", "--check"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
