"""The export commands' refusals: one clear line and exit code 2, nothing written."""
from __future__ import annotations

from lipsync_cli.main import main


def test_export_triton_refuses_an_unsafe_model_name(tmp_path, capsys):
    assert main(["export-triton", str(tmp_path / "repo"), "--model-name", "../up"]) == 2
    assert "Triton model name '../up' is not allowed" in capsys.readouterr().err
    assert not (tmp_path / "repo").exists()


def test_export_onnx_with_missing_weights_names_the_file(tmp_path, capsys):
    assert main(["export-onnx", str(tmp_path / "r.onnx"), "--weights", str(tmp_path / "none.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lipsync: error:") and "none.safetensors" in err
    assert list(tmp_path.iterdir()) == []


def test_serve_triton_needs_a_model_directory(tmp_path, capsys):
    assert main(["serve-triton", str(tmp_path)]) == 2
    assert "no Triton model directory" in capsys.readouterr().err


def test_export_onnx_and_triton_from_the_shipped_weights(tmp_path, capsys):
    import pytest

    from lipsync_engine.engines import make_engine
    from lipsync_engine.export.files import module_sha256
    from lipsync_engine.export.triton import read_triton_config, verify_manifest
    from lipsync_engine.generator.learned import DEFAULT_WEIGHTS
    from lipsync_engine.model.bundle import load_bundle

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip(f"no shipped generator weights at {DEFAULT_WEIGHTS}")
    assert main(["export-onnx", str(tmp_path / "r.onnx")]) == 0
    assert "onnxruntime vs torch fp32: max abs diff" in capsys.readouterr().out
    engine = make_engine(tmp_path / "r.onnx", "onnx")
    assert engine.input_names == ("target", "mask", "shape", "reference")

    assert main(["export-triton", str(tmp_path / "repo"), "--max-batch", "16"]) == 0
    model_dir = tmp_path / "repo" / "lipsync_renderer"
    assert set(verify_manifest(model_dir)) == {"1/model.onnx", "config.pbtxt"}
    pytest.importorskip("tritonclient.grpc", reason="parsing config.pbtxt needs `pip install lipsync[triton]`")
    config = read_triton_config(model_dir)
    assert config.max_batch_size == 16
    renderer = load_bundle(DEFAULT_WEIGHTS).renderer
    assert config.parameters["lipsync_weights_sha256"].string_value == module_sha256(renderer)
    assert config.parameters["lipsync_precision"].string_value == "fp32"


def test_tensorrt_commands_without_tensorrt_say_what_is_needed(tmp_path, capsys):
    import importlib.util

    import pytest
    import torch

    if importlib.util.find_spec("tensorrt") and torch.cuda.is_available():
        pytest.skip("TensorRT and a CUDA GPU are present: the refusal does not apply")
    assert main(["export-triton", str(tmp_path / "repo"), "--platform", "tensorrt"]) == 2
    assert main(["build-trt", "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.count("lipsync: error:") == 2 and ("lipsync[tensorrt]" in err or "CUDA GPU" in err)
    assert not (tmp_path / "repo").exists() and not (tmp_path / "cache").exists()
