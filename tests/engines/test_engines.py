"""torch and onnx engines on the real renderer: parity, batching, precision, bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

from lipsync_engine.engines import RendererEngine, make_engine
from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.export.onnx import export_onnx

from .conftest import numpy_batch


@pytest.fixture(scope="module")
def onnx_path(renderer, example_inputs, tmp_path_factory):
    return export_onnx(renderer, example_inputs, tmp_path_factory.mktemp("onnx") / "renderer.onnx").path


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_onnx_engine_matches_torch_at_dynamic_batch_sizes(renderer, onnx_path, batch):
    torch_engine = make_engine(renderer, "torch")
    onnx_engine = make_engine(onnx_path, "onnx")
    inputs = numpy_batch(batch)
    expected = torch_engine(inputs)
    got = onnx_engine(inputs)
    assert got.shape == expected.shape == (batch, 3, 32, 32)
    assert got.dtype == np.float32
    assert np.max(np.abs(got - expected)) <= 1e-4
    assert 0.0 <= got.min() and got.max() <= 1.0
    assert got.std() > 0.05  # a real picture, not a constant


def test_torch_fp16_on_cpu_stays_close_to_fp32(renderer):
    inputs = numpy_batch(3)
    fp32 = make_engine(renderer, "torch", precision="fp32")(inputs)
    half = make_engine(renderer, "torch", precision="fp16")
    assert (half.name, half.device, half.precision) == ("torch", "cpu", "fp16")
    got = half(inputs)
    assert got.dtype == np.float32
    assert np.max(np.abs(got - fp32)) <= 2e-2


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_inputs_larger_than_max_batch_are_split_transparently(renderer, onnx_path, backend):
    model = renderer if backend == "torch" else onnx_path
    inputs = numpy_batch(5)
    whole = make_engine(model, backend, max_batch=8)(inputs)
    split = make_engine(model, backend, max_batch=2)
    assert isinstance(split, RendererEngine) and split.max_batch == 2
    np.testing.assert_allclose(split(inputs), whole, atol=1e-5)


def test_module_on_onnx_backend_is_exported_and_cached(renderer, example_inputs, tmp_path):
    first = make_engine(renderer, "onnx", example_inputs=example_inputs, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("renderer-*.onnx")
    stamp = cached.stat().st_mtime_ns
    second = make_engine(renderer, "onnx", example_inputs=example_inputs, cache_dir=tmp_path)
    assert cached.stat().st_mtime_ns == stamp  # reused, not exported again
    inputs = numpy_batch(2)
    np.testing.assert_array_equal(first(inputs), second(inputs))


def test_module_on_onnx_backend_without_example_inputs_says_what_is_missing(renderer):
    with pytest.raises(InputError, match="example_inputs"):
        make_engine(renderer, "onnx")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x: x.pop("mask"), r"missing \['mask'\]"),
        (lambda x: x.update(extra=x["mask"]), r"unexpected \['extra'\]"),
        (lambda x: x.update(mask=x["mask"][:1]), "one shared batch size"),
    ],
)
def test_bad_inputs_are_named(renderer, change, message):
    inputs = numpy_batch(2)
    change(inputs)
    with pytest.raises(InputError, match=message):
        make_engine(renderer, "torch")(inputs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "openvino"}, "backend 'openvino' is not known"),
        ({"precision": "int8"}, "precision 'int8' is not known"),
        ({"backend": "onnx", "precision": "fp16"}, "runs fp32 models"),
        ({"backend": "tensorrt"}, "tensorrt.*cannot run on device 'cpu'"),
        ({"device": "gpu"}, "device 'gpu' is not valid"),
        ({"max_batch": 0}, "max_batch=0"),
        ({"batch": 4}, r"unknown engine option\(s\) \['batch'\]"),
    ],
)
def test_bad_engine_requests_raise_clear_input_errors(onnx_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        make_engine(onnx_path, **kwargs)


def test_torch_backend_refuses_a_file(onnx_path):
    with pytest.raises(ModelError, match="runs an nn.Module"):
        make_engine(onnx_path, "torch")


def test_corrupt_onnx_file_is_a_model_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        make_engine(bad, "onnx")


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        make_engine(tmp_path / "nope.onnx", "onnx")


def test_engine_options_object_from_the_edge(renderer):
    from lipsync_engine.engines import EngineOptions

    engine = make_engine(renderer, "torch", options=EngineOptions(max_batch=3))
    assert engine.max_batch == 3
    with pytest.raises(InputError, match="not both"):
        make_engine(renderer, "torch", options=EngineOptions(), max_batch=3)
