"""Shared fixtures: the real clips in ../shared/data and short fixtures cut from them at test time."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/media_factory.py for every test folder

from media_factory import clip_frames, make_video, shared_data  # noqa: E402

SPEECH_CLIP = "clips/grid_bbaf2n.mp4"  # 360x288, 25 fps, 3 s, one speaker, CC-BY-4.0 (GRID corpus)


@pytest.fixture(scope="session", autouse=True)
def engine_cache(tmp_path_factory) -> Path:
    """The per-user engine cache (exported .onnx files) lives in a session folder, never in the real home."""
    root = tmp_path_factory.mktemp("lipsync-cache")
    os.environ["LIPSYNC_CACHE"] = str(root)  # subprocesses (CLI, daemon) inherit it
    return root / "engines"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data`` beside the repo; tests needing real clips skip when it is absent."""
    found = shared_data()
    if found is None:
        pytest.skip("real clips not found: ../shared/data/clips beside the repo is absent (see README)")
    return found


@pytest.fixture(scope="session")
def speech_clip(data_dir: Path) -> Path:
    """A real 3 s talking-face clip with its speech (GRID, 360x288, 25 fps, AAC)."""
    return data_dir / SPEECH_CLIP


@pytest.fixture
def cut_clip(tmp_path: Path, data_dir: Path) -> Callable[..., Path]:
    """``cut_clip(name="clips/grid_bbaf2n.mp4", start=0.0, frames=25, size=None, **make_video_kwargs)``:
    re-encode a short range of a real clip into tmp_path and return the new file's path."""
    def cut(name: str = SPEECH_CLIP, start: float = 0.0, frames: int = 25, size: tuple[int, int] | None = None,
            out_name: str = "cut.mp4", **kwargs: object) -> Path:
        return make_video(tmp_path / out_name, clip_frames(data_dir / name, start, frames, size), **kwargs)

    return cut
