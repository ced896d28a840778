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
