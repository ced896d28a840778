"""ONNX export of the renderer with a dynamic batch axis, verified against torch before it is kept.

``export_onnx`` traces the module on CPU, writes the file atomically only after onnxruntime has run it
at several batch sizes and matched fp32 torch within ``atol`` (max abs difference of outputs in [0, 1]).
An fp16 export computes in half precision inside the graph (weights and activations) with fp32 inputs
and outputs, so TensorRT builds it as a strongly typed fp16 network and every runtime feeds it alike.
"""
from __future__ import annotations

import contextlib
import copy
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lipsync_engine.engines import RendererEngine
from lipsync_engine.engines.onnx_engine import OnnxEngine
from lipsync_engine.engines.torch_engine import forward_input_names
from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.export.files import atomic_output, cache_folder, file_sha256, mark_used, module_sha256, prune_cache

ONNX_OPSET = 17
OUTPUT_NAME = "output"
PARITY_ATOL = {"fp32": 1e-4, "fp16": 2e-2}  # onnxruntime vs fp32 torch on CPU; outputs are in [0, 1]
CHECK_BATCHES = (1, 3, 8)  # batch sizes the exported file is run at before it is kept
# torch.onnx.export keeps global state (GLOBALS.in_onnx_export): one export at a time per process
_EXPORTING = threading.RLock()


class HalfPrecision(nn.Module):
    """Export wrapper: fp32 inputs -> ``inner`` in fp16 -> fp32 output (casts become graph nodes)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner.half()

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.inner(*(x.half() if x.is_floating_point() else x for x in inputs)).float()


@dataclass(frozen=True)
class OnnxExport:
    """What export_onnx wrote and how well it matched torch."""

    path: Path
    sha256: str  # of the .onnx file
    weights_sha256: str  # module_sha256 of the exported module (ties the file to its weights)
    input_names: tuple[str, ...]
    precision: str  # "fp32" or "fp16" inside the graph; inputs and outputs are fp32 either way
    max_abs_diff: float  # largest |onnxruntime - torch| over every checked batch
    checked_batches: tuple[int, ...]


def batch_like(example: dict[str, torch.Tensor], batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs shaped like ``example`` with ``batch`` rows: uniform [0, 1) floats, cycled rows otherwise."""
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for name, tensor in example.items():
        if tensor.is_floating_point():
            out[name] = torch.rand((batch, *tensor.shape[1:]), generator=generator, dtype=torch.float32)
        else:
            out[name] = tensor[torch.arange(batch) % tensor.shape[0]]
    return out


def max_abs_diff_vs_torch(
    model: nn.Module, engine: RendererEngine, example: dict[str, torch.Tensor], batches: Sequence[int]
) -> float:
    """Largest |engine - torch| over random inputs at each batch size; ``model``: fp32 CPU, eval mode."""
    worst = 0.0
    for batch in batches:
        inputs = batch_like(example, batch, seed=batch)
        with torch.inference_mode():
            expected = model(**inputs).numpy()
        got = engine({name: tensor.numpy() for name, tensor in inputs.items()})
        if got.shape != expected.shape:
            raise ModelError(f"{engine.name} output shape {got.shape} != torch {expected.shape} at batch {batch}")
        worst = max(worst, float(np.max(np.abs(got - expected))))
    return worst


def _check_example(model: nn.Module, example: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    if not example:
        raise InputError("exporting a model needs example_inputs: name -> tensor with batch axis 0")
    names = forward_input_names(model)
    if tuple(example) != names:
        raise InputError(f"example_inputs {list(example)} must name forward's inputs in order: {list(names)}")
    return {name: tensor.detach().cpu().float() if tensor.is_floating_point() else tensor.cpu()
            for name, tensor in example.items()}


def export_onnx(
    model: nn.Module,
    example_inputs: dict[str, torch.Tensor],
    out: Path,
    *,
    precision: str = "fp32",
    opset: int = ONNX_OPSET,
    atol: float | None = None,
    check_batches: Sequence[int] = CHECK_BATCHES,
) -> OnnxExport:
    """Export ``model`` to ``out`` (.onnx) with batch axis 0 dynamic on every input and the output.

    The file is written to a temp path beside ``out``, run with onnxruntime at ``check_batches`` and
    compared to fp32 torch; only when the max abs difference is <= ``atol`` (default PARITY_ATOL of the
    precision) is it moved onto ``out``.
    Raises ModelError when tracing fails or parity is not met (``out`` is then left untouched).
    """
    example = _check_example(model, example_inputs)
    names = tuple(example)
    if precision not in PARITY_ATOL:
        raise InputError(f"ONNX export precision '{precision}' is not known; use one of {sorted(PARITY_ATOL)}")
    atol = PARITY_ATOL[precision] if atol is None else atol
    model = copy.deepcopy(model).float().cpu().eval()  # the caller's module keeps its device and dtype
    traced = HalfPrecision(copy.deepcopy(model)) if precision == "fp16" else model
    axes = {name: {0: "batch"} for name in (*names, OUTPUT_NAME)}
    with atomic_output(Path(out)) as temp:
        try:
            with _EXPORTING, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation + tracer notes
                torch.onnx.export(
                    traced, tuple(example.values()), str(temp), dynamo=False, input_names=list(names),
                    output_names=[OUTPUT_NAME], dynamic_axes=axes, opset_version=opset, do_constant_folding=True,
                )
        except Exception as exc:  # the tracer raises many types; all mean "this model does not export"
            raise ModelError(f"ONNX export of {type(model).__name__} ({precision}) failed: {exc}") from exc
        engine = OnnxEngine(temp, device="cpu", max_batch=max(check_batches), threads=0)
        diff = max_abs_diff_vs_torch(model, engine, example, check_batches)
        if not diff <= atol:
            raise ModelError(
                f"exported {precision} ONNX differs from torch by {diff:.3g} (> {atol:g}) at batches {list(check_batches)}; "
                "the file was not kept"
            )
    return OnnxExport(
        Path(out), file_sha256(Path(out)), module_sha256(model), names, precision, diff, tuple(check_batches)
    )


@contextlib.contextmanager
def onnx_file_for(
    model_or_path: nn.Module | str | Path,
    example_inputs: dict[str, torch.Tensor] | None,
    cache_dir: Path | None,
    precision: str = "fp32",
) -> Iterator[Path]:
    """Yield an .onnx path for a model: the path itself, or a verified ``precision`` export of the module.

    Exports go to ``cache_dir/renderer-<weights sha256[:16]>-<precision>.onnx`` (reused when present);
    ``cache_dir=None`` is the per-user default (engines.options.default_cache_dir). Several processes
    may export into one cache at once: each writes its own temp file and renames it into place. A new
    export prunes the cache of entries long unused or beyond its size cap (export.files.prune_cache).
    """
    if not isinstance(model_or_path, nn.Module):
        path = Path(model_or_path)
        if path.suffix != ".onnx":
            raise InputError(f"'{path}' is not an .onnx file; export one with `lipsync export-onnx`")
        yield path
        return
    _check_example(model_or_path, example_inputs)  # on a cache hit too: a call works alike on every machine
    with contextlib.ExitStack() as stack:
        folder = cache_folder(cache_dir, stack)
        target = folder / f"renderer-{module_sha256(model_or_path)[:16]}-{precision}.onnx"
        with _EXPORTING:  # a second thread waits for the first's export and reuses it
            mark_used(target)
            if not target.is_file():
                export_onnx(model_or_path, example_inputs, target, precision=precision)
                prune_cache(folder, keep=target)
        yield target
