"""Fixtures of the daemon tests: real clips cut into a media root, an in-process daemon on an ephemeral
loopback port (fast tests), and a real daemon subprocess (kill -9 tests). Both use the identity
generator, so no weights are needed, and a real engine host process, real SQLite, real gRPC."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from media_factory import clip_frames, make_audio, make_video, speech_like
from lipsync_daemon.client import ClientError, LipsyncClient
from lipsync_daemon.launch import launch_daemon
from lipsync_daemon.config import load_config
from lipsync_daemon.server import Daemon

REPO = Path(__file__).resolve().parents[2]
CLIP = "clips/grid_bbaf2n.mp4"  # 360x288, 25 fps, one speaker, CC-BY-4.0


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """An allowed root holding: shot.mp4 (25 frames, 360x288, a real face), long.mp4 (75 frames),
    tiny.mp4 (10 frames, 96x80), dub.wav (1 s speech-like, 16 kHz), broken.mp4 (not decodable)."""
    root = tmp_path_factory.mktemp("media")
    frames = clip_frames(data_dir / CLIP, 0.0, 75)
    make_video(root / "shot.mp4", frames[:25])
    make_video(root / "long.mp4", frames)
    make_video(root / "tiny.mp4", [np.ascontiguousarray(f[100:180, 130:226]) for f in frames[:10]])
    make_audio(root / "dub.wav", speech_like(1.0), 16000)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    return root


def start_daemon(data_dir: Path, media_root: Path, **settings) -> tuple[Daemon, LipsyncClient]:
    config = load_config(None, {"data_dir": str(data_dir), "listen": ["127.0.0.1:0"], "allowed_roots": [str(media_root)],
                                "generator": "identity", "min_free_bytes": 0, **settings})
    daemon = Daemon(config)
    daemon.start()
    return daemon, LipsyncClient(daemon.addresses[0], daemon.token, timeout_s=20)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, media_root: Path) -> Iterator[tuple[Daemon, LipsyncClient]]:
    """An in-process daemon (concurrency 2, upload cap 64 kB) and a client with its token."""
    running, client = start_daemon(tmp_path_factory.mktemp("daemon"), media_root, concurrency=2,
                                   max_upload_bytes=64_000)
    yield running, client
    client.close()
    running.stop(0)


class DaemonProcess:
    """`python -m lipsync_daemon.main` as a real subprocess on an ephemeral loopback port."""

    def __init__(self, data_dir: Path, media_root: Path, *flags: str) -> None:
        self.data_dir, self.media_root, self.flags = data_dir, media_root, flags
        self.process: subprocess.Popen | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    def start(self, timeout_s: float = 90.0) -> LipsyncClient:
        flags = ["--listen", "127.0.0.1:0", "--root", str(self.media_root), "--generator", "identity",
                 "--min-free-bytes", "0", *self.flags]
        with open(self.log, "a") as log:
            try:
                self.process, client = launch_daemon(self.data_dir, flags, log=log, cwd=REPO, timeout_s=timeout_s)
            except ClientError as exc:
                raise AssertionError(f"{exc}: {self.log.read_text()[-2000:]}") from exc
        return client

    def engine_pids(self) -> list[int]:
        """Pids of the daemon's child processes (the engine host)."""
        children = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            children += [int(p) for p in (task / "children").read_text().split()]
        return children

    def kill9(self) -> None:
        children = self.engine_pids()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in children):
            assert time.monotonic() < deadline, "the engine host outlived the killed daemon"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


@pytest.fixture
def daemon_process(tmp_path: Path, media_root: Path) -> Iterator[callable]:
    """``daemon_process(*flags)`` -> a DaemonProcess on tmp_path/data; stopped at the end."""
    made: list[DaemonProcess] = []

    def make(*flags: str) -> DaemonProcess:
        made.append(DaemonProcess(tmp_path / "data", media_root, *flags))
        return made[-1]

    yield make
    for process in made:
        process.stop()
