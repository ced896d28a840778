"""Fixtures of the eval tests: short real clips of two held-out speakers cut from ../shared/data, and their cache."""
from __future__ import annotations

from pathlib import Path

import pytest

from lipsync_engine.data.builder import build_cache
from lipsync_engine.data.splits import ClipSource, folder_sources
from lipsync_engine.eval.excerpt import cut_excerpt

DATA = Path(__file__).resolve().parents[2] / "../shared/data"
CLIPS = DATA / "clips"
SECONDS = 2.0
# (held-out speaker, source clip): a broadcast interview and a GRID studio sentence.
FOOTAGE = (("vr5_woman_glasses", "retalking_face5.mp4"), ("grid_s2", "grid_pwij3p.mp4"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repo; skips when absent."""
    if not (CLIPS / "MANIFEST.csv").is_file():
        pytest.skip(f"shared data not found at {DATA.resolve()}; clone the repo beside shared/")
    return DATA


@pytest.fixture(scope="session")
def footage(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user-style footage folder: <speaker>/take1.mp4, 2 s of each held-out speaker with its own speech."""
    root = tmp_path_factory.mktemp("footage")
    for speaker, clip in FOOTAGE:
        (root / speaker).mkdir()
        cut_excerpt(shared_data / "clips" / clip, root / speaker / "take1.mp4", SECONDS)
    return root


@pytest.fixture(scope="session")
def footage_sources(footage: Path) -> list[ClipSource]:
    return folder_sources(footage)


@pytest.fixture(scope="session")
def eval_cache(footage_sources: list[ClipSource], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dataset cache of ``footage`` (built once per session)."""
    cache = tmp_path_factory.mktemp("cache")
    build_cache(footage_sources, cache)
    return cache
