"""A Triton model repository for the renderer: ``<repo>/<model>/config.pbtxt`` + ``1/model.onnx|model.plan``.

The config enables dynamic batching, names the tensors exactly as the ONNX graph does (batch axis
implicit), and carries the weights' sha256 as a parameter so a client can check what the server runs.
``<repo>/<model>/SHA256SUMS`` (``sha256sum -c`` format) lists every file of the model directory.
The model directory is built beside its final place and moved there in one rename.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx

from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.export.files import file_sha256, fsync_dir

MODEL_NAME_PATTERN = re.compile(r"^[a-z0-9_-]+$")  # no dots or slashes: the name is a directory name
MANIFEST = "SHA256SUMS"
# platform -> (Triton platform string, model file name in the version directory)
PLATFORMS = {"onnx": ("onnxruntime_onnx", "model.onnx"), "tensorrt": ("tensorrt_plan", "model.plan")}
# ONNX TensorProto element type -> Triton data type
_TRITON_TYPES = {1: "TYPE_FP32", 10: "TYPE_FP16", 6: "TYPE_INT32", 7: "TYPE_INT64", 9: "TYPE_BOOL"}


@dataclass(frozen=True)
class TritonTensor:
    """One input or output as config.pbtxt states it: dims exclude the (dynamic) batch axis; -1 = any."""

    name: str
    data_type: str
    dims: tuple[int, ...]


def onnx_tensors(path: Path) -> tuple[list[TritonTensor], list[TritonTensor]]:
    """Inputs and outputs of an ONNX graph whose axis 0 is the batch, in Triton's terms."""
    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}

    def convert(value: onnx.ValueInfoProto) -> TritonTensor:
        tensor_type = value.type.tensor_type
        if tensor_type.elem_type not in _TRITON_TYPES:
            raise ModelError(f"ONNX tensor '{value.name}' has element type {tensor_type.elem_type}, not servable")
        dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim)
        return TritonTensor(value.name, _TRITON_TYPES[tensor_type.elem_type], dims[1:])

    inputs = [convert(v) for v in graph.input if v.name not in initializers]
    return inputs, [convert(v) for v in graph.output]


def _tensor_block(kind: str, tensors: Sequence[TritonTensor]) -> str:
    items = ",\n".join(
        f'  {{\n    name: "{t.name}"\n    data_type: {t.data_type}\n    dims: [ {", ".join(map(str, t.dims))} ]\n  }}'
        for t in tensors
    )
    return f"{kind} [\n{items}\n]\n"


def render_config(
    model_name: str,
    platform: str,
    max_batch: int,
    inputs: Sequence[TritonTensor],
    outputs: Sequence[TritonTensor],
    *,
    preferred_batch_sizes: Sequence[int],
    max_queue_delay_us: int,
    instance_kind: str,
    parameters: dict[str, str],
) -> str:
    """The text of config.pbtxt (protobuf text format of Triton's ModelConfig)."""
    preferred = ", ".join(str(b) for b in preferred_batch_sizes if b <= max_batch)
    params = "".join(
        f'parameters {{\n  key: "{key}"\n  value {{ string_value: "{value}" }}\n}}\n'
        for key, value in sorted(parameters.items())
    )
    return (
        f'name: "{model_name}"\nplatform: "{PLATFORMS[platform][0]}"\nmax_batch_size: {max_batch}\n'
        + _tensor_block("input", inputs)
        + _tensor_block("output", outputs)
        + f"dynamic_batching {{\n  preferred_batch_size: [ {preferred} ]\n"
        f"  max_queue_delay_microseconds: {max_queue_delay_us}\n}}\n"
        f"instance_group [\n  {{\n    count: 1\n    kind: {instance_kind}\n  }}\n]\n"
        + params
    )


def write_manifest(model_dir: Path) -> None:
    """Write ``SHA256SUMS`` over every other file under ``model_dir`` (paths relative, sorted)."""
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.name != MANIFEST)
    lines = [f"{file_sha256(p)}  {p.relative_to(model_dir).as_posix()}\n" for p in files]
    (model_dir / MANIFEST).write_text("".join(lines))


def verify_manifest(model_dir: Path) -> dict[str, str]:
    """Check every file listed in ``SHA256SUMS``; return relative path -> sha256, or raise ModelError."""
    manifest = Path(model_dir) / MANIFEST
    if not manifest.is_file():
        raise ModelError(f"'{model_dir}' has no {MANIFEST}; write the repository with `lipsync export-triton`")
    listed = {}
    for line in manifest.read_text().splitlines():
        digest, _, relative = line.partition("  ")
        path = Path(model_dir) / relative
        if not path.is_file() or file_sha256(path) != digest:
            raise ModelError(f"'{path}' is missing or does not match its sha256 in {manifest}; re-export it")
        listed[relative] = digest
    return listed


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a safe Triton model name, else raise InputError."""
    if not MODEL_NAME_PATTERN.fullmatch(name):
        raise InputError(f"Triton model name '{name}' is not allowed; use lowercase letters, digits, '_' and '-'")
    return name


def write_triton_repository(
    repo: Path,
    model_file: Path,
    io_onnx: Path,
    *,
    model_name: str,
    platform: str = "onnx",
    max_batch: int = 32,
    preferred_batch_sizes: Sequence[int] = (4, 8, 16),
    max_queue_delay_us: int = 2000,
    parameters: dict[str, str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``<repo>/<model_name>/`` for ``model_file`` (.onnx or TensorRT .plan); return that directory.

    ``io_onnx`` is the ONNX graph the tensors are named from (the model file itself for platform
    "onnx"). Instances are KIND_GPU for TensorRT plans and KIND_AUTO (GPU when the server has one)
    for ONNX. An existing model directory is replaced only with ``overwrite``.
    """
    check_model_name(model_name)
    if platform not in PLATFORMS:
        raise InputError(f"Triton platform '{platform}' is not known; use one of {sorted(PLATFORMS)}")
    if max_batch < 1:
        raise InputError(f"max_batch={max_batch} must be >= 1")
    repo = Path(repo)
    target = repo / model_name
    if target.exists() and not overwrite:
        raise InputError(f"'{target}' already exists; choose another OUT_DIR or pass --overwrite")
    inputs, outputs = onnx_tensors(Path(io_onnx))
    text = render_config(
        model_name, platform, max_batch, inputs, outputs, preferred_batch_sizes=preferred_batch_sizes,
        max_queue_delay_us=max_queue_delay_us, instance_kind="KIND_GPU" if platform == "tensorrt" else "KIND_AUTO",
        parameters=parameters or {},
    )
    repo.mkdir(parents=True, exist_ok=True)
    staging = repo / f".{model_name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        (staging / "1").mkdir(parents=True)
        shutil.copyfile(model_file, staging / "1" / PLATFORMS[platform][1])
        (staging / "config.pbtxt").write_text(text)
        write_manifest(staging)
        for path in staging.rglob("*"):
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        if target.exists():
            retired = repo / f".{model_name}.old-{os.getpid()}"
            os.replace(target, retired)
            shutil.rmtree(retired)
        os.replace(staging, target)
        fsync_dir(repo)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def read_triton_config(model_dir: Path):  # -> tritonclient.grpc.model_config_pb2.ModelConfig
    """Parse ``config.pbtxt`` with Triton's own ModelConfig schema (needs ``lipsync[triton]``)."""
    try:
        from google.protobuf import text_format
        from tritonclient.grpc import model_config_pb2
    except ImportError as exc:
        raise InputError("reading a Triton config needs tritonclient: `pip install lipsync[triton]`") from exc
    config = model_config_pb2.ModelConfig()
    try:
        text_format.Parse((Path(model_dir) / "config.pbtxt").read_text(), config)
    except (OSError, text_format.ParseError) as exc:
        raise ModelError(f"'{model_dir}/config.pbtxt' is not a readable Triton model config: {exc}") from exc
    return config
