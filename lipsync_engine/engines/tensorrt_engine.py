"""The renderer run by TensorRT from a built ``.plan`` (CUDA only; fp16 or fp32 inside, fp32 I/O).

Device buffers are torch CUDA tensors; one execution context runs on torch's current stream.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from lipsync_engine.engines.batching import BatchedEngine, split_device
from lipsync_engine.engines.options import EngineRequest
from lipsync_engine.errors import InputError, ModelError


class TensorRTEngine(BatchedEngine):
    """Runs a deserialised TensorRT plan on ``cuda:N``; named inputs, batch axis 0, first output."""

    name = "tensorrt"

    def __init__(self, plan_path: Path, *, device: str, precision: str, max_batch: int) -> None:
        import tensorrt as trt
        import torch

        kind, index = split_device(device)
        if kind != "cuda" or not torch.cuda.is_available():
            raise InputError(f"the tensorrt backend runs on a CUDA GPU, not '{device}'")
        self._torch, self._trt = torch, trt
        self.device = f"cuda:{index}"
        self.precision = precision
        with torch.cuda.device(index):
            self._engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(
                Path(plan_path).read_bytes()
            )
            if self._engine is None:
                raise ModelError(f"'{plan_path}' is not a TensorRT plan for this GPU and TensorRT version; rebuild it")
            self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        is_input = {n: self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.input_names = tuple(n for n in names if is_input[n])
        self._output = next(n for n in names if not is_input[n])
        profile_max = min(int(self._engine.get_tensor_profile_shape(n, 0)[2][0]) for n in self.input_names)
        self.max_batch = min(max_batch, profile_max)
        self._dtypes = {n: self._torch_dtype(self._engine.get_tensor_dtype(n)) for n in names}

    def _torch_dtype(self, trt_dtype):
        torch, trt = self._torch, self._trt
        table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
                 trt.int64: torch.int64, trt.bool: torch.bool}
        return table[trt_dtype]

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        with torch.cuda.device(self.device):
            stream = torch.cuda.current_stream()
            keep = []
            for name in self.input_names:
                tensor = torch.from_numpy(np.ascontiguousarray(inputs[name])).to(
                    self.device, self._dtypes[name], non_blocking=True
                )
                keep.append(tensor)
                self._context.set_input_shape(name, tuple(tensor.shape))
                self._context.set_tensor_address(name, tensor.data_ptr())
            output = torch.empty(tuple(self._context.get_tensor_shape(self._output)),
                                 dtype=self._dtypes[self._output], device=self.device)
            self._context.set_tensor_address(self._output, output.data_ptr())
            if not self._context.execute_async_v3(stream.cuda_stream):
                raise ModelError("TensorRT execution failed (see its log above)")
            result = output.float().cpu().numpy()  # synchronises the stream
        del keep
        return result


def load(model_or_path: object, request: EngineRequest) -> TensorRTEngine:
    """An engine on a ``.plan``, or on a plan built (and cached in ``options.cache_dir``) from an .onnx
    file (its graph fixes the precision) or an nn.Module (exported at ``request.precision`` first;
    needs ``example_inputs``)."""
    from torch import nn

    from lipsync_engine.export.files import cache_folder
    from lipsync_engine.export.onnx import onnx_file_for
    from lipsync_engine.export.tensorrt import build_trt_engine

    options = request.options
    _, index = split_device(request.device)
    if not isinstance(model_or_path, nn.Module) and Path(str(model_or_path)).suffix in (".plan", ".engine"):
        return TensorRTEngine(Path(str(model_or_path)), device=request.device, precision=request.precision,
                              max_batch=options.max_batch)
    with contextlib.ExitStack() as stack:
        cache = cache_folder(options.cache_dir, stack)
        onnx_path = stack.enter_context(onnx_file_for(model_or_path, request.example_inputs, cache, request.precision))
        plan = build_trt_engine(onnx_path, cache, precision=request.precision, opt_batch=options.opt_batch,
                                max_batch=options.max_batch, device_index=index)
        return TensorRTEngine(plan, device=request.device, precision=request.precision, max_batch=options.max_batch)
