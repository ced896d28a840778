"""The ONNX export verifies itself and never leaves an unverified file at the target."""
from __future__ import annotations

import onnx
import pytest

from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.export.files import file_sha256, module_sha256
from lipsync_engine.export.onnx import CHECK_BATCHES, export_onnx


def test_export_reports_parity_and_a_dynamic_batch_axis(renderer, example_inputs, tmp_path):
    report = export_onnx(renderer, example_inputs, tmp_path / "r.onnx")
    assert report.checked_batches == CHECK_BATCHES == (1, 3, 8)
    assert 0.0 <= report.max_abs_diff <= 1e-4
    assert report.input_names == ("target", "mask", "shape", "reference")
    assert report.sha256 == file_sha256(tmp_path / "r.onnx")
    assert report.weights_sha256 == module_sha256(renderer)
    graph = onnx.load(str(tmp_path / "r.onnx")).graph
    for value in (*graph.input, *graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch", value.name
    assert [p.name for p in tmp_path.iterdir()] == ["r.onnx"]  # no temp file left beside it


def test_failed_parity_keeps_no_file(renderer, example_inputs, tmp_path):
    with pytest.raises(ModelError, match="differs from torch"):
        export_onnx(renderer, example_inputs, tmp_path / "r.onnx", atol=1e-12)
    assert list(tmp_path.iterdir()) == []


def test_example_inputs_must_name_forward_inputs_in_order(renderer, example_inputs, tmp_path):
    swapped = dict(reversed(list(example_inputs.items())))
    with pytest.raises(InputError, match="in order"):
        export_onnx(renderer, swapped, tmp_path / "r.onnx")


def test_weights_fingerprint_changes_with_any_weight(renderer):
    import copy

    import torch

    other = copy.deepcopy(renderer)
    with torch.no_grad():
        other.head.bias[0] += 1e-3
    assert module_sha256(other) != module_sha256(renderer)
    assert module_sha256(copy.deepcopy(renderer)) == module_sha256(renderer)


def test_fp16_export_computes_in_half_with_fp32_inputs_and_outputs(renderer, example_inputs, tmp_path):
    report = export_onnx(renderer, example_inputs, tmp_path / "h.onnx", precision="fp16")
    assert report.precision == "fp16"
    assert 0.0 < report.max_abs_diff <= 2e-2
    graph = onnx.load(str(tmp_path / "h.onnx")).graph
    float32, float16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    assert {v.type.tensor_type.elem_type for v in (*graph.input, *graph.output)} == {float32}
    weights = [init for init in graph.initializer if len(init.dims) == 4]  # conv kernels
    assert weights and all(init.data_type == float16 for init in weights)
