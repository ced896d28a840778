"""Helpers of the daemon tests: an in-process daemon on an ephemeral loopback port, and a real daemon
subprocess that can be killed with SIGKILL (its engine host must die with it)."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from lipsync_daemon.client import ClientError, LipsyncClient
from lipsync_daemon.config import load_config
from lipsync_daemon.launch import launch_daemon
from lipsync_daemon.server import Daemon

REPO = Path(__file__).resolve().parents[2]
CLIP = "clips/grid_bbaf2n.mp4"  # under ../shared/data: 360x288, 25 fps, one speaker, CC-BY-4.0


def start_daemon(data_dir: Path, media_root: Path, **settings) -> tuple[Daemon, LipsyncClient]:
    config = load_config(None, {"data_dir": str(data_dir), "listen": ["127.0.0.1:0"], "allowed_roots": [str(media_root)],
                                "generator": "identity", "min_free_bytes": 0, **settings})
    daemon = Daemon(config)
    daemon.start()
    return daemon, LipsyncClient(daemon.addresses[0], daemon.token, timeout_s=20)


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


