"""TensorRT engines (``.plan``) built from the verified ONNX export, cached on disk.

A plan only runs on the GPU model and TensorRT version it was built with, so the cache key holds the
GPU name, the TensorRT version, the ONNX file's sha256, the precision and the batch range. Needs the
``tensorrt`` package >= 10 (``pip install lipsync[tensorrt]``) and a CUDA GPU.

Networks are built strongly typed: the ONNX graph fixes every tensor's type, so an fp16 engine comes
from the fp16 export (``export_onnx(..., precision="fp16")``). This is the only way TensorRT 11 offers
(it removed ``BuilderFlag.FP16``) and works the same on TensorRT 10.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.export.files import atomic_output, file_sha256, mark_used, prune_cache

WORKSPACE_BYTES = 4 << 30  # builder scratch memory limit


def trt_cache_key(
    gpu_name: str, trt_version: str, onnx_sha256: str, precision: str, opt_batch: int, max_batch: int
) -> str:
    """A file-name-safe key naming everything a plan depends on, e.g.
    ``nvidia-h100-80gb-hbm3_trt10.13.0_fp16_b8-32_1a2b3c4d5e6f7a8b``."""
    gpu = re.sub(r"[^a-z0-9]+", "-", gpu_name.lower()).strip("-")
    version = re.sub(r"[^0-9a-z.]+", "-", trt_version.lower())
    return f"{gpu}_trt{version}_{precision}_b{opt_batch}-{max_batch}_{onnx_sha256[:16]}"


def require_tensorrt():
    """The tensorrt module, or InputError saying what is missing (package >= 10, CUDA GPU)."""
    try:
        import tensorrt
    except ImportError as exc:
        raise InputError("building a TensorRT engine needs `pip install lipsync[tensorrt]` and a CUDA GPU") from exc
    import torch

    if int(tensorrt.__version__.split(".")[0]) < 10:
        raise InputError(f"TensorRT {tensorrt.__version__} is too old; lipsync needs TensorRT 10 or newer")
    if not torch.cuda.is_available():
        raise InputError("building a TensorRT engine needs a CUDA GPU; torch sees none")
    return tensorrt


def build_trt_engine(
    onnx_path: Path,
    cache_dir: Path,
    *,
    precision: str = "fp16",
    opt_batch: int = 8,
    max_batch: int = 32,
    device_index: int = 0,
) -> Path:
    """Return the cached plan for ``onnx_path`` on this GPU, building it first when absent.

    ``precision`` names what the ONNX graph computes in (for the key and the sidecar). Every input's
    batch axis gets the profile (1, opt_batch, max_batch); other dims come from the ONNX graph. A JSON
    sidecar beside the plan records the key's fields; a new plan prunes the cache (export.files.prune_cache).
    Raises ModelError when TensorRT rejects the graph.
    """
    trt = require_tensorrt()
    import torch

    opt_batch = min(opt_batch, max_batch)
    gpu = torch.cuda.get_device_name(device_index)
    onnx_sha = file_sha256(Path(onnx_path))
    key = trt_cache_key(gpu, trt.__version__, onnx_sha, precision, opt_batch, max_batch)
    plan_path = Path(cache_dir) / f"{key}.plan"
    if plan_path.is_file():
        mark_used(plan_path)
        return plan_path
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT cannot parse '{onnx_path}': {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        rest = tuple(tensor.shape)[1:]
        profile.set_shape(tensor.name, (1, *rest), (opt_batch, *rest), (max_batch, *rest))
    config.add_optimization_profile(profile)
    with torch.cuda.device(device_index):
        plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ModelError(f"TensorRT failed to build an engine from '{onnx_path}' (see its log above)")
    with atomic_output(plan_path) as temp:
        temp.write_bytes(bytes(plan))
    with atomic_output(plan_path.with_suffix(".json")) as temp:
        temp.write_text(json.dumps({"gpu": gpu, "tensorrt": trt.__version__, "onnx_sha256": onnx_sha,
                                    "precision": precision, "opt_batch": opt_batch, "max_batch": max_batch}))
    prune_cache(Path(cache_dir), keep=plan_path)
    return plan_path
