"""The renderer run by ONNX Runtime from an exported .onnx file (fp32; CPU, or CUDA with onnxruntime-gpu)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lipsync_engine.engines.batching import BatchedEngine, split_device
from lipsync_engine.engines.options import EngineRequest
from lipsync_engine.errors import InputError, ModelError

# ONNX tensor type -> numpy dtype of what we feed.
_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}


def _providers(device: str) -> list:
    kind, index = split_device(device)
    if kind == "cuda":
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxEngine(BatchedEngine):
    """An onnxruntime session on ``path``; named inputs, batch axis 0, first output returned as float32."""

    name = "onnx"

    def __init__(self, path: Path, *, device: str, max_batch: int, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=_providers(device))
        except Exception as exc:  # onnxruntime raises its own pybind types for unreadable/invalid files
            raise ModelError(f"'{path}' is not a loadable ONNX model: {exc}") from exc
        kind, index = split_device(device)
        self.device = f"cuda:{index}" if kind == "cuda" else "cpu"
        self.max_batch = max_batch
        inputs = self._session.get_inputs()
        self.input_names = tuple(i.name for i in inputs)
        unknown = {i.name: i.type for i in inputs if i.type not in _NUMPY_TYPES}
        if unknown:
            raise ModelError(f"ONNX model '{path}' has inputs of unsupported types {unknown}")
        self._dtypes = {i.name: _NUMPY_TYPES[i.type] for i in inputs}
        self._output = self._session.get_outputs()[0].name
        self.precision = "fp16" if np.float16 in self._dtypes.values() else "fp32"

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: np.ascontiguousarray(inputs[name], dtype=self._dtypes[name]) for name in self.input_names}
        (output,) = self._session.run([self._output], feed)
        return output.astype(np.float32, copy=False)


def load(model_or_path: object, request: EngineRequest) -> OnnxEngine:
    """An engine on an .onnx file, or on a verified export of an nn.Module (needs ``example_inputs``)."""
    from lipsync_engine.export.onnx import onnx_file_for

    if request.precision != "fp32":
        raise InputError(
            f"the onnx backend runs fp32 models, not '{request.precision}'; for fp16 use backend 'torch' or 'tensorrt'"
        )
    options = request.options
    with onnx_file_for(model_or_path, request.example_inputs, options.cache_dir) as path:
        return OnnxEngine(path, device=request.device, max_batch=options.max_batch, threads=options.threads)
