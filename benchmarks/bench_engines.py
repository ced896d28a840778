"""Renderer engine throughput and end-to-end render speed against the transcode floor.

Prints, per backend available here (and per precision it supports):

- generator-only crops/s: the renderer engine alone on random inputs at the generator's crop size
  (the same at every video resolution; the crop is aligned to S x S before the network);
- end-to-end fps of ``lipsync_engine.render_video`` on a shot at 1080p and 4K (face tracking,
  generation, blend, encode), with a fresh face track and with the track cached (a second language);
  the ``identity`` generator's row is the pipeline without a network, its overhead alone;
- the ratio of end-to-end time to a plain decode + encode of the same shot with the same codec
  settings (``benchmarks/bench_transcode.py: transcode_floor``).

The shots are the built-in demo shot (450 x 450, 25 fps) scaled into a 16:9 frame over a blurred
background, ``--seconds`` long. Run::

    python benchmarks/bench_engines.py                      # CPU, 1080p + 4K, every available backend
    python benchmarks/bench_engines.py --device cuda --sizes 4k --precisions fp16
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from lipsync_engine.engines import PRECISIONS, available_backends, make_engine

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
FPS = 25


def make_shot(out: Path, size: tuple[int, int], seconds: float) -> Path:
    """The demo shot scaled to the frame height, centred on a blurred copy of itself; H.264 CRF 18."""
    from lipsync_engine.demo import DEMO_VIDEO

    width, height = size
    with av.open(str(DEMO_VIDEO)) as source:
        frames = [f.to_ndarray(format="rgb24") for f in source.decode(video=0)]
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(int(seconds * FPS)):
            face = cv2.resize(frames[index % len(frames)], (height, height), interpolation=cv2.INTER_CUBIC)
            canvas = cv2.resize(cv2.resize(face, (32, 18), interpolation=cv2.INTER_AREA), (width, height))
            left = (width - height) // 2
            canvas[:, left : left + height] = face
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def engine_speed(engine, inputs: dict[str, np.ndarray], min_seconds: float) -> float:
    """Median crops/s over repeated calls lasting at least ``min_seconds`` (after one warm-up call)."""
    engine(inputs)
    batch = len(next(iter(inputs.values())))
    rates, start = [], time.perf_counter()
    while time.perf_counter() - start < min_seconds or len(rates) < 3:
        tick = time.perf_counter()
        engine(inputs)
        rates.append(batch / (time.perf_counter() - tick))
    return statistics.median(rates)


def renderer_for(weights: str):
    """(renderer module, example input factory): the weights file's, or the default config's when absent
    (speed does not depend on the weights' values)."""
    from lipsync_engine.model import RendererConfig, build_renderer, renderer_example_inputs

    try:
        from lipsync_engine.generator.learned import DEFAULT_WEIGHTS
        from lipsync_engine.model.bundle import load_bundle

        bundle = load_bundle(DEFAULT_WEIGHTS if weights == "default" else Path(weights))
        return bundle.renderer, lambda batch: renderer_example_inputs(bundle.config.renderer, batch), "trained"
    except Exception as exc:  # missing weights or model code: time the architecture with random weights
        print(f"(weights '{weights}' not loaded: {exc}; timing the default architecture)", file=sys.stderr)
        config = RendererConfig()
        return build_renderer(config).eval(), lambda batch: renderer_example_inputs(config, batch), "random init"


def combos(device: str, backends: list[str], precisions: list[str]) -> list[tuple[str, str]]:
    """(backend, precision) pairs that can run here; onnx is fp32 only, triton is left out (remote)."""
    found = available_backends(device)
    return [(b, p) for b in backends if b in found and b != "triton" for p in precisions
            if not (b == "onnx" and p == "fp16")]


def bench_engines(args, cache_dir: Path) -> None:
    model, example, weights_kind = renderer_for(args.weights)
    crop = example(1)["target"].shape[-1]
    print(f"\n### Generator only: renderer {crop}x{crop} ({weights_kind} weights), batch {args.batch}\n")
    print("| backend | precision | device | crops/s |\n|---|---|---|---|")
    inputs = {name: t.numpy() for name, t in example(args.batch).items()}
    for backend, precision in combos(args.device, args.backends, args.precisions):
        engine = make_engine(model, backend, device=args.device, precision=precision,
                             example_inputs=example(1), cache_dir=cache_dir, max_batch=max(args.batch, 8))
        rate = engine_speed(engine, inputs, args.min_seconds)
        print(f"| {engine.name} | {engine.precision} | {engine.device} | {rate:.1f} |", flush=True)


def bench_end_to_end(args, work: Path) -> None:
    from lipsync_engine import RenderOptions, load_generator, render_video
    from lipsync_engine.demo import DEMO_AUDIO

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_transcode import transcode_floor

    options = RenderOptions(codec=args.codec, batch_size=args.batch)
    print(f"\n### End to end: {args.seconds:g} s shots at {FPS} fps, codec {args.codec}, batch {args.batch}\n")
    print("| size | backend | precision | fps (fresh track) | fps (cached track) | transcode fps "
          "| ratio fresh | ratio cached |\n|---|---|---|---|---|---|---|---|")
    for size_name in args.sizes:
        shot = make_shot(work / f"shot_{size_name}.mp4", SIZES[size_name], args.seconds)
        frames = int(args.seconds * FPS)
        floor_s = transcode_floor(shot, args.codec)
        runs = [("identity", "-")] + combos(args.device, args.backends, args.precisions)
        for backend, precision in runs:  # identity: the pipeline without a network (its overhead alone)
            generator = (load_generator("identity") if backend == "identity" else
                         load_generator(args.weights, backend=backend, device=args.device, precision=precision))
            track = work / f"track_{size_name}_{backend}_{precision}.npz"
            seconds = []
            for _ in ("fresh", "cached"):
                tick = time.perf_counter()
                render_video(shot, DEMO_AUDIO, work / "take.mp4", generator, options, track=track)
                seconds.append(time.perf_counter() - tick)
            print(f"| {size_name} | {generator.backend} | {precision} | {frames / seconds[0]:.2f} | "
                  f"{frames / seconds[1]:.2f} | {frames / floor_s:.1f} | {seconds[0] / floor_s:.1f}x | "
                  f"{seconds[1] / floor_s:.1f}x |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "tensorrt"])
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--seconds", type=float, default=2.0, help="length of the benchmark shots")
    parser.add_argument("--batch", type=int, default=8, help="crops per generator call")
    parser.add_argument("--codec", default="h264")
    parser.add_argument("--weights", default="default")
    parser.add_argument("--min-seconds", type=float, default=3.0, help="timing window per engine")
    parser.add_argument("--skip-e2e", action="store_true", help="generator-only numbers")
    args = parser.parse_args(argv)
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "none"
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"GPU {gpu}; torch {torch.__version__}")
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as work:
        bench_engines(args, Path(work))
        if not args.skip_e2e:
            bench_end_to_end(args, Path(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
