"""Fixtures of the editor-plugin tests: a Resolve scene on the fake, and for end-to-end tests real media
cut from ../shared/data plus a real daemon (identity generator) on an ephemeral loopback port."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # fake_resolve, fake_resolve_items

from fake_resolve import FakeMediaPoolItem, FakeResolve, FakeTimeline  # noqa: E402
from media_factory import clip_frames, make_audio, make_video, pattern_frames, speech_like  # noqa: E402
from resolve_scene import REPO, SPEECH_CLIP  # noqa: E402

@pytest.fixture
def scene(tmp_path):
    """A Studio 21.1 project: 'Reel 1' at 24 fps from 01:00:00:00 (frame 86400).

    Video 1: shot_a.mov source [10, 58) at record 86400, shot_b.mov [0, 36) at 86448.
    Audio 1 'Dub DE': de.wav [0, 120) at 86400 (covers both shots).
    """
    resolve = FakeResolve()
    project = resolve.project
    pool = project.GetMediaPool()
    timeline = project.add_timeline(FakeTimeline("Reel 1", fps=24, start_tc="01:00:00:00"))
    timeline.SetTrackName("audio", 1, "Dub DE")
    media = {}
    for name, frames, kind in (("shot_a.mov", 96, "Video + Audio"), ("shot_b.mov", 48, "Video + Audio"),
                               ("de.wav", 120, "Audio")):
        media[name] = FakeMediaPoolItem(str(tmp_path / name), "24", frames, kind)
        pool.GetRootFolder().clips.append(media[name])
    timeline.place(media["shot_a.mov"], 10, 58, 86400, "video", 1)
    timeline.place(media["shot_b.mov"], 0, 36, 86448, "video", 1)
    timeline.place(media["de.wav"], 0, 120, 86400, "audio", 1)
    return resolve, timeline, media


@pytest.fixture(scope="module")
def media_root(tmp_path_factory, data_dir):
    """The daemon's allowed root: shot.mp4 (25 frames of a real face, 25 fps), noface.mp4 (10 frames of a
    pattern), de.wav (2 s speech-like), short.wav (0.3 s). Tests work in their own subfolders."""
    root = tmp_path_factory.mktemp("plugin_media").resolve()
    make_video(root / "shot.mp4", clip_frames(data_dir / SPEECH_CLIP, 0.0, 25))
    make_video(root / "noface.mp4", pattern_frames(10, 96, 80))
    make_audio(root / "de.wav", speech_like(2.0), 16000)
    make_audio(root / "short.wav", speech_like(0.3, seed=1), 16000)
    return root


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, media_root):
    """(daemon, client, address): a real in-process daemon on 127.0.0.1 with the identity generator."""
    from lipsync_daemon.client import LipsyncClient
    from lipsync_daemon.config import load_config
    from lipsync_daemon.server import Daemon

    config = load_config(None, {"data_dir": str(tmp_path_factory.mktemp("daemon")), "listen": ["127.0.0.1:0"],
                                "allowed_roots": [str(media_root)], "generator": "identity", "min_free_bytes": 0,
                                "inbox": False})
    running = Daemon(config)
    running.start()
    client = LipsyncClient(running.addresses[0], running.token, timeout_s=20)
    yield running, client
    client.close()
    running.stop(0)


@pytest.fixture
def daemon_env(daemon, monkeypatch):
    """Point `lipsync` subprocesses and default clients at the test daemon."""
    running, _client = daemon
    monkeypatch.setenv("LIPSYNC_DAEMON", running.addresses[0])
    monkeypatch.setenv("LIPSYNC_TOKEN", running.token)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return running
