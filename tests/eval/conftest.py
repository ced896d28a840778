"""Fixtures of the eval tests: short real clips cut from ../shared/data with PyAV."""
from __future__ import annotations

from pathlib import Path

import pytest

from lipsync_engine.eval.excerpt import cut_excerpt

DATA = Path(__file__).resolve().parents[2] / "../shared/data"
CLIPS = DATA / "clips"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repo; skips when absent."""
    if not (CLIPS / "MANIFEST.csv").is_file():
        pytest.skip(f"shared data not found at {DATA.resolve()}; clone the repo beside shared/")
    return DATA


@pytest.fixture(scope="session")
def short_clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.6 s of a real held-out speaker (retalking_face5, 524x524) with its own speech."""
    src = shared_data / "clips" / "retalking_face5.mp4"
    folder = tmp_path_factory.mktemp("footage") / "vr5_woman_glasses"
    folder.mkdir()
    return cut_excerpt(src, folder / "take1.mp4", 1.6)
