"""Serve a repository written by ``lipsync export-triton`` through PyTriton (Triton server + Python backend).

The PyTriton wheel bundles a Triton server with only the Python backend, so the served function runs
the repository's ``1/model.onnx`` with onnxruntime after checking its sha256 manifest; clients see the
same model name, tensors, max batch and dynamic batching as in config.pbtxt. TensorRT plans need a
full Triton server with its TensorRT backend instead.

The Python backend's stub links ``libpython3.X.so`` by name; the system's copy may be another patch
release than the running interpreter, whose stdlib it would then load and fail on (missing numpy,
or ``'_thread.RLock' object has no attribute '_recursion_count'``). ``stub_environment()`` gives the
LD_LIBRARY_PATH that makes it load this interpreter's own libpython; ``lipsync serve-triton`` sets it
in its own environment before the server starts (this module reads and changes no environment).
"""
from __future__ import annotations

import contextlib
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lipsync_engine.engines.onnx_engine import OnnxEngine
from lipsync_engine.errors import InputError
from lipsync_engine.export.triton import onnx_tensors, read_triton_config, verify_manifest

_NUMPY_TYPES = {"TYPE_FP32": np.float32, "TYPE_FP16": np.float16, "TYPE_INT32": np.int32,
                "TYPE_INT64": np.int64, "TYPE_BOOL": np.bool_}


def stub_environment(current: dict[str, str]) -> dict[str, str]:
    """Environment entries that make the Python backend stub load this interpreter's libpython."""
    libdir = sysconfig.get_config_var("LIBDIR")
    if not sysconfig.get_config_var("Py_ENABLE_SHARED") or not libdir:
        return {}
    rest = current.get("LD_LIBRARY_PATH", "")
    return {"LD_LIBRARY_PATH": f"{libdir}:{rest}" if rest else libdir}


@contextlib.contextmanager
def serve_repository(
    model_dir: Path, *, grpc_port: int, http_port: int, device: str = "cpu", address: str = "127.0.0.1"
) -> Iterator[None]:
    """Serve ``model_dir`` (``<repo>/<model>``) on ``address`` until the context exits."""
    from pytriton.decorators import batch
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig

    model_dir = Path(model_dir)
    verify_manifest(model_dir)
    config = read_triton_config(model_dir)
    model_file = model_dir / "1" / "model.onnx"
    if config.platform != "onnxruntime_onnx" or not model_file.is_file():
        raise InputError(
            f"'{model_dir}' holds a '{config.platform}' model; this server runs ONNX repositories only "
            "(serve TensorRT plans with a full Triton server)"
        )
    engine = OnnxEngine(model_file, device=device, max_batch=config.max_batch_size, threads=0)
    inputs, outputs = onnx_tensors(model_file)
    output_name = outputs[0].name

    @batch
    def infer(**named: np.ndarray) -> dict[str, np.ndarray]:
        return {output_name: engine(named)}

    def spec(tensor) -> Tensor:
        return Tensor(name=tensor.name, dtype=_NUMPY_TYPES[tensor.data_type], shape=tensor.dims)

    batcher = DynamicBatcher(
        max_queue_delay_microseconds=config.dynamic_batching.max_queue_delay_microseconds,
        preferred_batch_size=list(config.dynamic_batching.preferred_batch_size),
    )
    server = TritonConfig(
        grpc_address=address, grpc_port=grpc_port, http_address=address, http_port=http_port,
        allow_metrics=False, exit_on_error=True,
    )
    with Triton(config=server) as triton:
        triton.bind(
            model_name=config.name, infer_func=infer, inputs=[spec(t) for t in inputs],
            outputs=[spec(t) for t in outputs],
            config=ModelConfig(max_batch_size=config.max_batch_size, batcher=batcher), strict=True,
        )
        triton.run()
        yield

