"""TensorRT: cache keys everywhere; plan build, parity and speed only on a CUDA GPU with tensorrt."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from lipsync_engine.engines import make_engine
from lipsync_engine.errors import InputError
from lipsync_engine.export.tensorrt import build_trt_engine, trt_cache_key

from .conftest import numpy_batch

HAS_TRT = importlib.util.find_spec("tensorrt") is not None
GPU_REASON = (
    "TensorRT needs a CUDA GPU and `pip install lipsync[tensorrt]`: "
    f"torch.cuda.is_available()={torch.cuda.is_available()}, tensorrt installed={HAS_TRT}"
)
needs_trt = pytest.mark.skipif(not (HAS_TRT and torch.cuda.is_available()), reason=GPU_REASON)

BASE = dict(gpu_name="NVIDIA H100 80GB HBM3", trt_version="10.13.0.35", onnx_sha256="1a2b" * 16,
            precision="fp16", opt_batch=8, max_batch=32)


def test_cache_key_is_file_safe_and_readable():
    key = trt_cache_key(**BASE)
    assert key == "nvidia-h100-80gb-hbm3_trt10.13.0.35_fp16_b8-32_1a2b1a2b1a2b1a2b"
    assert all(c.isalnum() or c in "._-" for c in key)


@pytest.mark.parametrize(
    "change",
    [{"gpu_name": "NVIDIA A10G"}, {"trt_version": "10.14.0"}, {"onnx_sha256": "ffff" * 16},
     {"precision": "fp32"}, {"opt_batch": 16}, {"max_batch": 64}],
)
def test_cache_key_changes_with_everything_a_plan_depends_on(change):
    assert trt_cache_key(**{**BASE, **change}) != trt_cache_key(**BASE)


@pytest.mark.skipif(HAS_TRT and torch.cuda.is_available(), reason="checks the refusal without TensorRT/CUDA")
def test_building_without_tensorrt_or_gpu_says_what_is_needed(tmp_path):
    with pytest.raises(InputError, match="lipsync\\[tensorrt\\]|CUDA GPU"):
        build_trt_engine(tmp_path / "r.onnx", tmp_path)


@needs_trt
def test_fp16_plan_matches_torch_and_is_cached(renderer, example_inputs, tmp_path):
    engine = make_engine(renderer, "tensorrt", device="cuda", precision="fp16",
                         example_inputs=example_inputs, cache_dir=tmp_path, max_batch=8)
    (plan,) = tmp_path.glob("*.plan")
    assert plan.with_suffix(".json").is_file()
    reference = make_engine(renderer, "torch")
    for batch in (1, 3, 8):
        inputs = numpy_batch(batch, seed=batch)
        assert np.max(np.abs(engine(inputs) - reference(inputs))) <= 2e-2
    stamp = plan.stat().st_mtime_ns
    make_engine(renderer, "tensorrt", device="cuda", precision="fp16", example_inputs=example_inputs,
                cache_dir=tmp_path, max_batch=8)
    assert plan.stat().st_mtime_ns == stamp  # reused, not rebuilt


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch fp16 on CUDA needs a CUDA GPU")
def test_torch_fp16_on_cuda_matches_fp32(renderer):
    inputs = numpy_batch(8)
    got = make_engine(renderer, "torch", device="cuda", precision="fp16")(inputs)
    assert np.max(np.abs(got - make_engine(renderer, "torch")(inputs))) <= 2e-2

