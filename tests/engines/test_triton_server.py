"""The triton engine against a real Triton server (PyTriton's bundled tritonserver) that the test starts."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from lipsync_engine.engines import make_engine
from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.export.files import module_sha256
from lipsync_engine.export.onnx import export_onnx
from lipsync_engine.export.triton import write_triton_repository

from .conftest import numpy_batch

pytest.importorskip("tritonclient.grpc", reason="the triton backend needs `pip install lipsync[triton]`")
pytest.importorskip("pytriton", reason="the test server needs nvidia-pytriton (`pip install lipsync[triton]`)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(renderer, example_inputs, tmp_path_factory):
    """(url, model_dir): `lipsync serve-triton` on loopback ports serving an export-triton repository."""
    work = tmp_path_factory.mktemp("triton")
    onnx_path = export_onnx(renderer, example_inputs, work / "r.onnx").path
    model_dir = write_triton_repository(
        work / "repo", onnx_path, onnx_path, model_name="lipsync_renderer", max_batch=4,
        parameters={"lipsync_weights_sha256": module_sha256(renderer)},
    )
    grpc_port = free_port()
    log = open(work / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "lipsync_cli.main", "serve-triton", str(model_dir),
         "--grpc-port", str(grpc_port), "--http-port", str(free_port())],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"127.0.0.1:{grpc_port}"
    try:
        import tritonclient.grpc as grpcclient

        client = grpcclient.InferenceServerClient(url)
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.is_model_ready("lipsync_renderer"):
                    break
            except Exception:  # not listening yet
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Triton server did not become ready:\n{(work / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, model_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_triton_engine_matches_torch_with_batches_split_to_the_servers_max(renderer, server):
    url, _ = server
    engine = make_engine(renderer, "triton", triton_url=url)
    assert (engine.name, engine.device, engine.max_batch) == ("triton", url, 4)
    assert engine.input_names == ("target", "mask", "shape", "reference")
    reference = make_engine(renderer, "torch")
    for batch in (1, 3, 8):  # 8 > max_batch_size 4: split into two requests
        inputs = numpy_batch(batch, seed=batch)
        got = engine(inputs)
        assert got.shape == (batch, 3, 32, 32) and got.dtype == np.float32
        assert np.max(np.abs(got - reference(inputs))) <= 1e-4


def test_triton_engine_by_model_name(server):
    url, _ = server
    engine = make_engine("lipsync_renderer", "triton", triton_url=url)
    assert engine(numpy_batch(2)).shape == (2, 3, 32, 32)


def test_unknown_model_on_a_live_server_is_named(server):
    url, _ = server
    with pytest.raises(ModelError, match="no ready model 'other_model'"):
        make_engine("other_model", "triton", triton_url=url)


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(ModelError, match="cannot be queried"):
        make_engine("lipsync_renderer", "triton", triton_url=f"127.0.0.1:{free_port()}", timeout_s=2)


def test_triton_backend_needs_a_url(renderer):
    with pytest.raises(InputError, match="--triton-url"):
        make_engine(renderer, "triton")


def test_concurrent_clients_share_the_dynamic_batcher(renderer, server):
    from concurrent.futures import ThreadPoolExecutor

    url, _ = server
    reference = make_engine(renderer, "torch")
    inputs = [numpy_batch(1, seed=10 + i) for i in range(8)]

    def call(batch: dict) -> np.ndarray:
        return make_engine("lipsync_renderer", "triton", triton_url=url)(batch)  # one client per thread

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(call, inputs))
    for batch, got in zip(inputs, results):
        assert np.max(np.abs(got - reference(batch))) <= 1e-4


def test_a_missed_deadline_is_a_model_error(server):
    url, _ = server
    with pytest.raises(ModelError, match="Deadline Exceeded"):
        make_engine("lipsync_renderer", "triton", triton_url=url, timeout_s=1e-6)(numpy_batch(1))
