"""The per-user engine cache: exports land in $LIPSYNC_CACHE/engines (else XDG, else ~/.cache), are reused,
and two processes (or threads) exporting the same weights at once both get a complete, verified file."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from lipsync_engine.engines import make_engine
from lipsync_engine.engines.options import default_cache_dir

from .conftest import numpy_batch

pytest.importorskip("onnxruntime")


def test_default_cache_dir_follows_lipsync_cache_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("LIPSYNC_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "mine" / "engines"
    monkeypatch.delenv("LIPSYNC_CACHE")
    assert default_cache_dir() == tmp_path / "xdg" / "lipsync" / "engines"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "lipsync" / "engines"


def onnx_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_export_goes_to_the_default_cache_and_is_reused(renderer, example_inputs, monkeypatch, tmp_path):
    monkeypatch.setenv("LIPSYNC_CACHE", str(tmp_path))
    cache = tmp_path / "engines"
    first = make_engine(renderer, "onnx", example_inputs=example_inputs)
    (name,) = onnx_files(cache)  # one verified export and no temp file
    assert name.startswith("renderer-") and name.endswith("-fp32.onnx")
    assert oct((cache).stat().st_mode & 0o777) == oct(0o700)
    stamp = (cache / name).stat()
    second = make_engine(renderer, "onnx", example_inputs=example_inputs)
    again = (cache / name).stat()
    assert (again.st_ino, again.st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns), "exported again"
    inputs = numpy_batch(3)
    np.testing.assert_array_equal(first(inputs), second(inputs))


def test_an_unusable_cache_folder_falls_back_to_a_temporary_one(renderer, example_inputs, monkeypatch, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LIPSYNC_CACHE", str(blocker))  # <file>/engines cannot be created
    engine = make_engine(renderer, "onnx", example_inputs=example_inputs)
    assert engine(numpy_batch(2)).shape[0] == 2
    assert blocker.read_text() == "not a folder"


def test_threads_exporting_at_once_share_the_cache(renderer, example_inputs, monkeypatch, tmp_path):
    monkeypatch.setenv("LIPSYNC_CACHE", str(tmp_path))
    results, errors = [], []
    inputs = numpy_batch(2)  # made here: numpy_batch seeds torch's global generator

    def load():
        try:
            results.append(make_engine(renderer, "onnx", example_inputs=example_inputs)(inputs))
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 3
    assert all(np.array_equal(results[0], r) for r in results)  # one file, the same inputs
    assert len(onnx_files(tmp_path / "engines")) == 1


EXPORT_WHEN_TOLD = """
import sys
import torch
from lipsync_engine.engines import make_engine
from lipsync_engine.model import RendererConfig, build_renderer, renderer_example_inputs
config = RendererConfig(crop_size=32, region_top=16, widths=(8, 12, 16))
torch.manual_seed(0)
model = build_renderer(config).eval()
print("ready", flush=True)
sys.stdin.readline()  # both processes start exporting together
engine = make_engine(model, "onnx", example_inputs=renderer_example_inputs(config, 1))
inputs = {k: v.numpy() for k, v in renderer_example_inputs(config, 2).items()}
print("ok", float(engine(inputs).sum()), flush=True)
"""


def test_two_processes_exporting_at_once_both_get_a_complete_file(tmp_path):
    env = {**os.environ, "LIPSYNC_CACHE": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", EXPORT_WHEN_TOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-2000:]
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=300) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-2000:]
    sums = [float(out.split()[-1]) for out, _ in outputs]
    assert abs(sums[0] - sums[1]) < 1e-3
    (name,) = onnx_files(tmp_path / "engines")  # one file, no temp file left by either process
    assert name.endswith(".onnx")
