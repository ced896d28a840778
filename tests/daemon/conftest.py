"""Fixtures of the daemon tests: real clips cut into a media root, an in-process daemon on an ephemeral
loopback port (fast tests), and a real daemon subprocess (kill -9 tests). Both use the identity
generator, so no weights are needed, and a real engine host process, real SQLite, real gRPC."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from daemon_harness import CLIP, DaemonProcess, start_daemon
from lipsync_daemon.client import LipsyncClient
from lipsync_daemon.server import Daemon
from media_factory import clip_frames, make_audio, make_video, speech_like



@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """An allowed root holding: shot.mp4 (25 frames, 360x288, a real face), long.mp4 (75 frames),
    slow.mp4 (300 frames: long enough to still be running when a cancel arrives, even when the shot's
    face track is already cached), tiny.mp4 (10 frames, 96x80), dub.wav (1 s speech-like, 16 kHz),
    broken.mp4 (not decodable)."""
    root = tmp_path_factory.mktemp("media")
    frames = clip_frames(data_dir / CLIP, 0.0, 75)
    make_video(root / "shot.mp4", frames[:25])
    make_video(root / "long.mp4", frames)
    make_video(root / "slow.mp4", frames * 4)
    make_video(root / "tiny.mp4", [np.ascontiguousarray(f[100:180, 130:226]) for f in frames[:10]])
    make_audio(root / "dub.wav", speech_like(1.0), 16000)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    return root


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, media_root: Path) -> Iterator[tuple[Daemon, LipsyncClient]]:
    """An in-process daemon (concurrency 2, upload cap 64 kB, a batch window long enough that two jobs
    rendering at once on a loaded CPU do meet in one batch) and a client with its token."""
    running, client = start_daemon(tmp_path_factory.mktemp("daemon"), media_root, concurrency=2,
                                   max_upload_bytes=64_000, batch_window_ms=150.0)
    yield running, client
    client.close()
    running.stop(0)


@pytest.fixture
def daemon_process(tmp_path: Path, media_root: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """``daemon_process(*flags)`` -> a DaemonProcess on tmp_path/data; stopped at the end."""
    made: list[DaemonProcess] = []

    def make(*flags: str) -> DaemonProcess:
        made.append(DaemonProcess(tmp_path / "data", media_root, *flags))
        return made[-1]

    yield make
    for process in made:
        process.stop()
