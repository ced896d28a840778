"""Which backend `auto` picks, and what this machine reports as available."""
from __future__ import annotations

import importlib.util

import pytest
import torch

from lipsync_engine.engines import available_backends, best_backend, choose_backend, make_engine


@pytest.mark.parametrize(
    ("kind", "precision", "found", "expected"),
    [
        ("cuda", "fp16", ["torch", "onnx", "tensorrt", "triton"], "tensorrt"),
        ("cuda", "fp32", ["torch", "onnx", "tensorrt"], "tensorrt"),
        ("cuda", "fp16", ["torch", "onnx", "triton"], "torch"),
        ("cpu", "fp32", ["torch", "onnx", "triton"], "onnx"),
        ("cpu", "fp16", ["torch", "onnx"], "torch"),
        ("cpu", "fp32", ["torch"], "torch"),
        ("cpu", "fp32", ["torch", "triton"], "torch"),  # triton is never automatic
    ],
)
def test_choose_backend(kind, precision, found, expected):
    assert choose_backend(kind, precision, found) == expected


def test_this_machine_reports_what_is_installed():
    found = available_backends("cpu")
    assert found[0] == "torch"
    assert ("onnx" in found) == (importlib.util.find_spec("onnxruntime") is not None)
    assert "tensorrt" not in found  # never on a CPU device
    assert best_backend("cpu", "fp32") == ("onnx" if "onnx" in found else "torch")
    assert best_backend("cpu", "fp16") == "torch"


def test_auto_engine_reports_its_backend(renderer, example_inputs):
    engine = make_engine(renderer, "auto", example_inputs=example_inputs)
    assert engine.name == best_backend("cpu")
    assert engine.device == "cpu" and engine.precision == "fp32"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cuda_device_without_a_gpu_is_refused(renderer):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        make_engine(renderer, "torch", device="cuda")
