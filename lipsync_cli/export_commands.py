"""`lipsync export-onnx`, `export-triton`, `build-trt` and `serve-triton`: the renderer for other runtimes."""
from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
from pathlib import Path

from lipsync_engine.errors import InputError


def _add_weights(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", default="default",
                        help="generator weights: 'default' (shipped) or a .safetensors path")


def _renderer(weights: str):
    """(renderer module fp32 eval, example inputs at batch 1) from a generator weights file."""
    from lipsync_engine.generator.learned import weights_path
    from lipsync_engine.model import renderer_example_inputs
    from lipsync_engine.model.bundle import load_bundle

    bundle = load_bundle(weights_path(weights))
    return bundle.renderer, renderer_example_inputs(bundle.config.renderer, 1)


def _export_onnx(args: argparse.Namespace) -> int:
    from lipsync_engine.export.onnx import export_onnx

    model, example = _renderer(args.weights)
    report = export_onnx(model, example, Path(args.out), precision=args.precision)
    print(f"wrote {report.path} ({report.precision} inside, fp32 inputs/outputs; sha256 {report.sha256[:16]}...)")
    print(f"onnxruntime vs torch fp32: max abs diff {report.max_abs_diff:.2e} at batch sizes {list(report.checked_batches)}")
    return 0


def _build_plan(model, example, cache_dir: Path, precision: str, max_batch: int) -> tuple[Path, float]:
    """Build (or reuse) the TensorRT plan; return it and its max abs diff against torch."""
    from lipsync_engine.engines.tensorrt_engine import TensorRTEngine
    from lipsync_engine.export.onnx import CHECK_BATCHES, max_abs_diff_vs_torch, onnx_file_for
    from lipsync_engine.export.tensorrt import build_trt_engine

    print("building the TensorRT engine (minutes on first use; cached afterwards)...", flush=True)
    with onnx_file_for(model, example, cache_dir, precision) as onnx_path:
        plan = build_trt_engine(onnx_path, cache_dir, precision=precision, max_batch=max_batch)
    engine = TensorRTEngine(plan, device="cuda", precision=precision, max_batch=max_batch)
    return plan, max_abs_diff_vs_torch(model.float().cpu().eval(), engine, example, CHECK_BATCHES)


def _build_trt(args: argparse.Namespace) -> int:
    from lipsync_engine.export.tensorrt import require_tensorrt

    require_tensorrt()  # before the minutes of export work, not after
    model, example = _renderer(args.weights)
    plan, diff = _build_plan(model, example, Path(args.cache_dir), args.precision, args.max_batch)
    print(f"TensorRT plan: {plan}")
    print(f"TensorRT {args.precision} vs torch fp32: max abs diff {diff:.2e}")
    return 0


def _export_triton(args: argparse.Namespace) -> int:
    from lipsync_engine.export.files import module_sha256
    from lipsync_engine.export.onnx import export_onnx
    from lipsync_engine.export.triton import check_model_name, write_triton_repository

    check_model_name(args.model_name)
    if args.platform == "tensorrt":
        from lipsync_engine.export.tensorrt import require_tensorrt

        require_tensorrt()
    model, example = _renderer(args.weights)
    with tempfile.TemporaryDirectory(prefix="lipsync-triton-") as work:
        onnx_path = export_onnx(model, example, Path(work) / "model.onnx").path
        model_file, precision = onnx_path, "fp32"
        if args.platform == "tensorrt":
            cache = Path(args.cache_dir) if args.cache_dir else Path(work)
            model_file, diff = _build_plan(model, example, cache, "fp16", args.max_batch)
            precision = "fp16"
            print(f"TensorRT fp16 vs torch fp32: max abs diff {diff:.2e}")
        model_dir = write_triton_repository(
            Path(args.out_dir), model_file, onnx_path, model_name=args.model_name, platform=args.platform,
            max_batch=args.max_batch, overwrite=args.overwrite,
            parameters={"lipsync_weights_sha256": module_sha256(model), "lipsync_precision": precision},
        )
    print(f"wrote Triton model '{args.model_name}' ({args.platform}) to {model_dir}")
    print(f"serve it: tritonserver --model-repository {Path(args.out_dir).resolve()}  "
          f"(or, ONNX on any host: lipsync serve-triton {model_dir})")
    return 0


def _serve_triton(args: argparse.Namespace) -> int:
    from lipsync_engine.engines.triton_server import serve_repository, stub_environment

    if not Path(args.model_dir, "config.pbtxt").is_file():
        raise InputError(f"'{args.model_dir}' is no Triton model directory (no config.pbtxt); see export-triton")
    os.environ.update(stub_environment(dict(os.environ)))  # this process's children: the Triton server
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with serve_repository(Path(args.model_dir), grpc_port=args.grpc_port, http_port=args.http_port,
                          device=args.device, address=args.address):
        print(f"serving {Path(args.model_dir).name} on grpc {args.address}:{args.grpc_port} "
              f"(http {args.http_port}); Ctrl-C or SIGTERM stops", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the export command group to the `lipsync` parser."""
    onnx = subparsers.add_parser("export-onnx", help="export the renderer to ONNX and verify it against torch")
    onnx.add_argument("out", help="output .onnx path")
    onnx.add_argument("--precision", choices=("fp32", "fp16"), default="fp32",
                      help="what the graph computes in (fp16: for TensorRT/GPU runtimes); I/O stays fp32")
    _add_weights(onnx)
    onnx.set_defaults(handler=_export_onnx)

    triton = subparsers.add_parser("export-triton", help="write a Triton model repository for the renderer")
    triton.add_argument("out_dir", help="model repository directory (created if missing)")
    triton.add_argument("--platform", choices=("onnx", "tensorrt"), default="onnx",
                        help="onnxruntime_onnx, or an fp16 tensorrt_plan (built on this machine's GPU)")
    triton.add_argument("--model-name", default="lipsync_renderer", help="Triton model name [a-z0-9_-]")
    triton.add_argument("--max-batch", type=int, default=32, help="max_batch_size of the served model")
    triton.add_argument("--cache-dir", help="TensorRT plan cache (platform tensorrt)")
    triton.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    _add_weights(triton)
    triton.set_defaults(handler=_export_triton)

    trt = subparsers.add_parser("build-trt", help="build (or reuse) the cached TensorRT engine on this GPU")
    trt.add_argument("--cache-dir", required=True, help="where .onnx and .plan files are cached")
    trt.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")
    trt.add_argument("--max-batch", type=int, default=32)
    _add_weights(trt)
    trt.set_defaults(handler=_build_trt)

    serve = subparsers.add_parser("serve-triton", help="serve an ONNX model directory through PyTriton")
    serve.add_argument("model_dir", help="<repo>/<model> written by export-triton --platform onnx")
    serve.add_argument("--address", default="127.0.0.1", help="address to bind (loopback by default)")
    serve.add_argument("--grpc-port", type=int, default=8001)
    serve.add_argument("--http-port", type=int, default=8000)
    serve.add_argument("--device", default="cpu", help="onnxruntime device: cpu or cuda[:N]")
    serve.set_defaults(handler=_serve_triton)
