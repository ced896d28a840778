"""The renderer served by a Triton Inference Server, called over gRPC (tritonclient).

The server serves the repository ``lipsync export-triton`` wrote (ONNX or TensorRT platform), or the
same model through ``lipsync serve-triton`` (PyTriton + onnxruntime). Requests larger than the
model's ``max_batch_size`` are split; the server's dynamic batcher merges concurrent callers.
"""
from __future__ import annotations

import numpy as np

from lipsync_engine.engines.batching import BatchedEngine
from lipsync_engine.engines.options import EngineRequest
from lipsync_engine.errors import InputError, ModelError

WEIGHTS_PARAMETER = "lipsync_weights_sha256"  # config.pbtxt parameter written by export-triton
PRECISION_PARAMETER = "lipsync_precision"


class TritonEngine(BatchedEngine):
    """A gRPC client of model ``model`` on the Triton server at ``url`` ("host:port")."""

    name = "triton"

    def __init__(self, url: str, model: str, *, max_batch: int, timeout_s: float) -> None:
        import tritonclient.grpc as grpcclient
        from tritonclient.utils import InferenceServerException, triton_to_np_dtype

        self._grpc = grpcclient
        self._failure = InferenceServerException
        self._model = model
        self._timeout_s = timeout_s
        self.device = url
        try:
            self._client = grpcclient.InferenceServerClient(url)
            ready = self._client.is_model_ready(model, client_timeout=timeout_s)
            metadata = self._client.get_model_metadata(model, as_json=True, client_timeout=timeout_s) if ready else {}
            config = self._client.get_model_config(model, as_json=True, client_timeout=timeout_s) if ready else {}
        except InferenceServerException as exc:
            raise ModelError(
                f"Triton server at '{url}' cannot be queried ({exc}); start it or check --triton-url"
            ) from exc
        if not ready:
            raise ModelError(
                f"Triton server at '{url}' has no ready model '{model}'; load the repository written by "
                "`lipsync export-triton` or pass the served model's name"
            )
        config = config["config"]
        server_batch = int(config.get("max_batch_size", 0))
        if server_batch < 1:
            raise ModelError(f"Triton model '{model}' has no batch axis (max_batch_size 0); re-export it")
        self.max_batch = min(max_batch, server_batch)
        self.input_names = tuple(i["name"] for i in metadata["inputs"])
        self._datatypes = {i["name"]: i["datatype"] for i in metadata["inputs"]}
        self._numpy_types = {n: triton_to_np_dtype(t) for n, t in self._datatypes.items()}
        self._output = metadata["outputs"][0]["name"]
        parameters = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        self.precision = parameters.get(PRECISION_PARAMETER, "fp32")
        self.weights_sha256 = parameters.get(WEIGHTS_PARAMETER)  # None when the server does not say

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        requests = []
        for name in self.input_names:
            array = np.ascontiguousarray(inputs[name], dtype=self._numpy_types[name])
            request = self._grpc.InferInput(name, list(array.shape), self._datatypes[name])
            request.set_data_from_numpy(array)
            requests.append(request)
        try:
            result = self._client.infer(
                self._model, requests, outputs=[self._grpc.InferRequestedOutput(self._output)],
                client_timeout=self._timeout_s,
            )
        except self._failure as exc:
            raise ModelError(f"Triton inference on '{self.device}' model '{self._model}' failed: {exc}") from exc
        return result.as_numpy(self._output).astype(np.float32, copy=False)


def load(model_or_path: object, request: EngineRequest) -> TritonEngine:
    """Connect to ``options.triton_url``. ``model_or_path``: a served model name, or the renderer module
    (then ``options.triton_model`` is served, and its weights sha256, when the server states one,
    must match the module's). ``device`` and ``precision`` are the server's business and not used."""
    from torch import nn

    options = request.options
    if not options.triton_url:
        raise InputError("the triton backend needs the server's gRPC address: pass --triton-url HOST:PORT")
    model = options.triton_model if isinstance(model_or_path, nn.Module) else str(model_or_path)
    engine = TritonEngine(options.triton_url, model, max_batch=options.max_batch, timeout_s=options.timeout_s)
    if isinstance(model_or_path, nn.Module) and engine.weights_sha256 is not None:
        from lipsync_engine.export.files import module_sha256

        if engine.weights_sha256 != module_sha256(model_or_path):
            raise ModelError(
                f"Triton model '{model}' at '{options.triton_url}' serves other weights than the loaded "
                "generator; re-run `lipsync export-triton` with these weights and reload the server"
            )
    return engine
