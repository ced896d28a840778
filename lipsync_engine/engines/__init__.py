"""Renderer engines: the generator's heavy network behind one interface, whatever runs it.

``make_engine(model_or_path, backend=...)`` returns a ``RendererEngine``: call it with the renderer's
named inputs (numpy, batch on axis 0) and get its output (N, 3, S, S) float32 in [0, 1]. Backends:

- ``torch``: PyTorch itself, fp32 or fp16, CPU or CUDA.
- ``onnx``: ONNX Runtime on an exported .onnx (CPU, or CUDA when onnxruntime-gpu is installed), fp32.
- ``tensorrt``: a TensorRT engine built from the ONNX (fp16 or fp32), CUDA only, cached on disk.
- ``triton``: a gRPC client of a Triton server that serves the repository ``lipsync export-triton`` wrote.

``backend="auto"`` takes ``best_backend(device, precision)``; Triton is never chosen automatically
because it needs a server address.
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from lipsync_engine.engines.batching import split_device
from lipsync_engine.engines.options import DEFAULT_TRITON_MODEL, EngineOptions, EngineRequest
from lipsync_engine.errors import InputError

BACKENDS = ("torch", "onnx", "tensorrt", "triton")
PRECISIONS = ("fp32", "fp16")

__all__ = [
    "BACKENDS",
    "DEFAULT_TRITON_MODEL",
    "PRECISIONS",
    "EngineOptions",
    "RendererEngine",
    "available_backends",
    "best_backend",
    "choose_backend",
    "make_engine",
]


@runtime_checkable
class RendererEngine(Protocol):
    """A runnable renderer. Not thread-safe: one caller at a time."""

    name: str  # backend that runs it: "torch", "onnx", "tensorrt", "triton"
    device: str  # "cpu", "cuda:0", or the Triton URL for "triton"
    precision: str  # "fp32" or "fp16"
    max_batch: int  # largest batch sent in one call; larger inputs are split transparently
    input_names: tuple[str, ...]  # the renderer's named inputs, in order

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """inputs: name -> (N, ...) float32 array -> (N, 3, S, S) float32 in [0, 1]."""
        ...


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _onnxruntime_has_cuda() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def available_backends(device: str = "cpu") -> list[str]:
    """Backends that can run on ``device`` in this environment, in BACKENDS order.

    torch always; onnx when onnxruntime is installed (on CUDA: with its CUDA provider); tensorrt with
    the tensorrt package and a CUDA GPU; triton when tritonclient[grpc] is installed (the server runs
    wherever it runs, so the device does not matter).
    """
    kind, _ = split_device(device)
    on_gpu = kind == "cuda" and _cuda_available()
    found = ["torch"]
    if _installed("onnxruntime") and (kind == "cpu" or _onnxruntime_has_cuda()):
        found.append("onnx")
    if on_gpu and _installed("tensorrt"):
        found.append("tensorrt")
    if _installed("tritonclient") and _installed("tritonclient.grpc"):
        found.append("triton")
    return found


def choose_backend(device_kind: str, precision: str, found: list[str]) -> str:
    """The fastest of the ``found`` backends for a device kind ("cpu"/"cuda") and precision.

    CUDA: tensorrt when found, else torch (cuDNN fp16 beats onnxruntime's CUDA provider, which runs
    fp32 only here). CPU: onnx for fp32 (4x torch's speed on the renderer, docs/engines.md), torch
    for fp16 (onnxruntime's CPU provider lacks fp16 kernels). Never triton: it needs a server address.
    """
    if device_kind == "cuda":
        return "tensorrt" if "tensorrt" in found else "torch"
    return "onnx" if precision == "fp32" and "onnx" in found else "torch"


def best_backend(device: str = "cpu", precision: str = "fp32") -> str:
    """The fastest backend available here for ``device`` and ``precision`` (see choose_backend)."""
    kind, _ = split_device(device)
    return choose_backend(kind, precision, available_backends(device))


_INSTALL_HINTS = {
    "onnx": "install onnxruntime (onnxruntime-gpu for CUDA)",
    "tensorrt": "needs a CUDA GPU and `pip install lipsync[tensorrt]`",
    "triton": "install `pip install lipsync[triton]` and run a Triton server",
}


def make_engine(
    model_or_path: object,
    backend: str = "auto",
    *,
    device: str = "cpu",
    precision: str = "fp32",
    example_inputs: dict | None = None,
    options: EngineOptions | None = None,
    **opts: object,
) -> RendererEngine:
    """Return a ready engine for the renderer.

    ``model_or_path``: the renderer ``nn.Module`` (any backend; onnx/tensorrt export it first, which
    needs ``example_inputs``: name -> tensor with batch axis 0), an ``.onnx`` file (onnx, tensorrt),
    a TensorRT ``.plan`` (tensorrt), or a Triton model name (triton). Engine settings come as an
    ``options`` EngineOptions built at the edge (daemon, CLI), or as its fields in ``opts`` (max_batch,
    opt_batch, cache_dir, threads, triton_url, triton_model, timeout_s), not both.
    Raises InputError for an unknown or unavailable backend, device or precision, ModelError when the
    model cannot be loaded or exported.
    """
    if backend != "auto" and backend not in BACKENDS:
        raise InputError(f"backend '{backend}' is not known; use 'auto' or one of {list(BACKENDS)}")
    if precision not in PRECISIONS:
        raise InputError(f"precision '{precision}' is not known; use one of {list(PRECISIONS)}")
    if options is not None and opts:
        raise InputError(f"pass engine settings either as options= or as keywords {sorted(opts)}, not both")
    options = options or EngineOptions.from_kwargs(**opts)
    chosen = best_backend(device, precision) if backend == "auto" else backend
    if chosen not in available_backends(device):
        raise InputError(
            f"backend '{chosen}' cannot run on device '{device}' here: {_INSTALL_HINTS.get(chosen, '')}; "
            f"available: {available_backends(device)}"
        )
    if isinstance(model_or_path, (str, Path)) and chosen != "triton" and not Path(model_or_path).is_file():
        raise InputError(f"model file '{model_or_path}' does not exist")
    module = importlib.import_module(f"lipsync_engine.engines.{chosen}_engine")
    return module.load(model_or_path, EngineRequest(device, precision, options, example_inputs))
