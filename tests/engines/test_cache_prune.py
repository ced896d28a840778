"""Engine cache housekeeping: after a new export, entries unused for long or beyond the size cap go, least
recently used first; never the one just made, one in use, a writer's temp file or a stranger's file."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lipsync_engine.engines import make_engine
from lipsync_engine.export.files import CACHE_MAX_AGE_S, mark_used, prune_cache

pytest.importorskip("onnxruntime")
DAY = 86400


def _file(folder: Path, name: str, size: int = 1000, days_ago: float = 0.0) -> Path:
    """A cache file last used (read and written) ``days_ago`` days ago."""
    path = folder / name
    path.write_bytes(b"x" * size)
    stamp = time.time() - days_ago * DAY
    os.utime(path, (stamp, stamp))
    return path


def test_long_unused_entries_go_and_everything_else_stays(tmp_path):
    kept = _file(tmp_path, "renderer-aaaaaaaaaaaaaaaa-fp32.onnx", days_ago=40)  # the one just made (old stamp: still kept)
    stale = _file(tmp_path, "renderer-bbbbbbbbbbbbbbbb-fp32.onnx", days_ago=40)
    fresh = _file(tmp_path, "renderer-cccccccccccccccc-fp16.onnx", days_ago=2)
    plan = _file(tmp_path, "gpu_trt10.13_fp16_b8-32_dddddddddddddddd.plan", days_ago=31)
    sidecar = _file(tmp_path, "gpu_trt10.13_fp16_b8-32_dddddddddddddddd.json", days_ago=31)
    writing = _file(tmp_path, ".renderer-eeeeeeeeeeeeeeee-fp32.onnx.123.abcd1234.tmp", days_ago=40)  # a writer's
    stranger = _file(tmp_path, "notes.onnx", days_ago=400)  # not a name the cache gives
    removed = prune_cache(tmp_path, keep=kept)
    assert sorted(removed) == sorted([stale, plan, sidecar])
    assert all(p.exists() for p in (kept, fresh, writing, stranger))


def test_beyond_the_size_cap_the_least_recently_used_go_first(tmp_path):
    oldest = _file(tmp_path, "renderer-1111111111111111-fp32.onnx", days_ago=5)
    older = _file(tmp_path, "renderer-2222222222222222-fp32.onnx", days_ago=3)
    recent = _file(tmp_path, "renderer-3333333333333333-fp32.onnx", days_ago=1)
    in_use = _file(tmp_path, "renderer-4444444444444444-fp32.onnx", days_ago=0)  # opened moments ago elsewhere
    kept = _file(tmp_path, "renderer-5555555555555555-fp32.onnx", days_ago=0)
    assert prune_cache(tmp_path, keep=kept, max_bytes=2500) == [oldest, older, recent]  # 5000 bytes -> 2000
    assert in_use.exists() and kept.exists()
    assert prune_cache(tmp_path, keep=kept, max_bytes=0) == []  # the rest is in its grace period


def test_a_use_is_recorded_without_changing_the_export(tmp_path):
    path = _file(tmp_path, "renderer-6666666666666666-fp32.onnx", days_ago=40)
    written = path.stat().st_mtime_ns
    mark_used(path)
    assert path.stat().st_mtime_ns == written and time.time() - path.stat().st_atime < 60
    assert prune_cache(tmp_path, keep=tmp_path / "renderer-7777777777777777-fp32.onnx") == []
    mark_used(tmp_path / "gone.onnx")  # a file another process removed: no error


def test_a_new_export_prunes_its_cache_and_a_reused_one_is_marked(renderer, example_inputs, tmp_path):
    stale = _file(tmp_path, "renderer-0000000000000000-fp32.onnx", days_ago=CACHE_MAX_AGE_S / DAY + 1)
    make_engine(renderer, "onnx", example_inputs=example_inputs, cache_dir=tmp_path)
    (export,) = tmp_path.glob("renderer-*.onnx")
    assert not stale.exists() and export != stale
    last_week = time.time() - 7 * DAY
    os.utime(export, (last_week, export.stat().st_mtime))
    written = export.stat().st_mtime_ns
    make_engine(renderer, "onnx", example_inputs=example_inputs, cache_dir=tmp_path)  # a cache hit
    assert export.stat().st_mtime_ns == written and export.stat().st_atime > last_week + DAY
