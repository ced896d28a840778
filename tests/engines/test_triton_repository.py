"""The Triton model repository: layout, config parsed by Triton's own schema, manifest, names."""
from __future__ import annotations

import pytest

from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.export.files import file_sha256
from lipsync_engine.export.onnx import export_onnx
from lipsync_engine.export.triton import read_triton_config, verify_manifest, write_triton_repository


@pytest.fixture(scope="module")
def onnx_file(renderer, example_inputs, tmp_path_factory):
    return export_onnx(renderer, example_inputs, tmp_path_factory.mktemp("x") / "r.onnx").path


def write(repo, onnx_file, **kwargs):
    return write_triton_repository(repo, onnx_file, onnx_file, model_name=kwargs.pop("model_name", "lipsync_renderer"),
                                   parameters={"lipsync_weights_sha256": "ab" * 32}, **kwargs)


def test_layout_and_config(tmp_path, onnx_file):
    pytest.importorskip("tritonclient.grpc", reason="parsing config.pbtxt needs `pip install lipsync[triton]`")
    model_dir = write(tmp_path, onnx_file, max_batch=16, preferred_batch_sizes=(4, 8, 32))
    assert model_dir == tmp_path / "lipsync_renderer"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "lipsync_renderer", "lipsync_renderer/1", "lipsync_renderer/1/model.onnx",
        "lipsync_renderer/SHA256SUMS", "lipsync_renderer/config.pbtxt",
    ]
    config = read_triton_config(model_dir)
    assert config.name == "lipsync_renderer"  # must equal the directory name
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == 16
    assert list(config.dynamic_batching.preferred_batch_size) == [4, 8]  # 32 > max_batch dropped
    assert [(t.name, list(t.dims)) for t in config.input] == [
        ("target", [3, 32, 32]), ("mask", [1, 32, 32]), ("shape", [2, 32, 32]), ("reference", [3, 32, 32])]
    assert [(t.name, list(t.dims)) for t in config.output] == [("output", [3, 32, 32])]
    assert config.parameters["lipsync_weights_sha256"].string_value == "ab" * 32
    assert verify_manifest(model_dir) == {
        "1/model.onnx": file_sha256(onnx_file), "config.pbtxt": file_sha256(model_dir / "config.pbtxt")}


def test_tensorrt_platform_names_a_plan_on_gpu_instances(tmp_path, onnx_file):
    pytest.importorskip("tritonclient.grpc", reason="parsing config.pbtxt needs `pip install lipsync[triton]`")
    plan = tmp_path / "engine.plan"
    plan.write_bytes(b"plan bytes stand in for a GPU-built plan; layout only")
    model_dir = write_triton_repository(tmp_path / "repo", plan, onnx_file, model_name="r-1", platform="tensorrt")
    config = read_triton_config(model_dir)
    assert config.platform == "tensorrt_plan"
    assert (model_dir / "1" / "model.plan").read_bytes() == plan.read_bytes()
    assert config.instance_group[0].kind == config.instance_group[0].KIND_GPU


@pytest.mark.parametrize("name", ["Lipsync", "../evil", "a.b", "", "with space"])
def test_unsafe_model_names_are_refused(tmp_path, onnx_file, name):
    with pytest.raises(InputError, match="not allowed"):
        write(tmp_path, onnx_file, model_name=name)
    assert list(tmp_path.iterdir()) == []


def test_existing_model_is_replaced_only_with_overwrite(tmp_path, onnx_file):
    write(tmp_path, onnx_file)
    with pytest.raises(InputError, match="already exists"):
        write(tmp_path, onnx_file)
    write(tmp_path, onnx_file, max_batch=4, overwrite=True)
    assert "max_batch_size: 4" in (tmp_path / "lipsync_renderer" / "config.pbtxt").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["lipsync_renderer"]  # no staging or retired dirs left


def test_tampered_model_file_fails_the_manifest(tmp_path, onnx_file):
    model_dir = write(tmp_path, onnx_file)
    with open(model_dir / "1" / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="does not match its sha256"):
        verify_manifest(model_dir)
