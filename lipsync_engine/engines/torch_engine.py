"""The renderer run by PyTorch itself: fp32 or fp16, CPU or CUDA, batched."""
from __future__ import annotations

import copy
import inspect

import numpy as np
import torch
from torch import nn

from lipsync_engine.engines.batching import BatchedEngine, split_device
from lipsync_engine.engines.options import EngineRequest
from lipsync_engine.errors import InputError, ModelError


def forward_input_names(model: nn.Module) -> tuple[str, ...]:
    """Names of ``model.forward``'s named parameters, in order (the renderer's input names)."""
    params = inspect.signature(model.forward).parameters.values()
    return tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


class TorchEngine(BatchedEngine):
    """Runs a copy of ``model`` in eval mode on ``device`` at ``precision``.

    Call with named float arrays, batch on axis 0; returns the model's output as float32 numpy.
    """

    name = "torch"

    def __init__(self, model: nn.Module, *, device: str, precision: str, max_batch: int) -> None:
        kind, index = split_device(device)
        if kind == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device '{device}' was asked for but torch sees no CUDA GPU; use device='cpu'")
        self.device = f"cuda:{index}" if kind == "cuda" else "cpu"
        self.precision = precision
        self.max_batch = max_batch
        self.input_names = forward_input_names(model)
        self._dtype = torch.float16 if precision == "fp16" else torch.float32
        self._model = copy.deepcopy(model).eval().to(device=self.device, dtype=self._dtype)

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {}
        for name in self.input_names:
            tensor = torch.from_numpy(np.ascontiguousarray(inputs[name])).to(self.device, non_blocking=True)
            feed[name] = tensor.to(self._dtype) if tensor.is_floating_point() else tensor
        with torch.inference_mode():
            output = self._model(**feed)
        return output.float().cpu().numpy()


def load(model_or_path: object, request: EngineRequest) -> TorchEngine:
    """Build the torch engine; it needs the model itself (an nn.Module), not an exported file."""
    if not isinstance(model_or_path, nn.Module):
        raise ModelError(
            f"the torch backend runs an nn.Module, not {model_or_path!r}; "
            "load the weights with the generator, or use backend 'onnx' for an .onnx file"
        )
    return TorchEngine(
        model_or_path, device=request.device, precision=request.precision, max_batch=request.options.max_batch
    )
