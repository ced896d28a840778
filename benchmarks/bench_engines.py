"""Renderer engine throughput and end-to-end render speed against the transcode floor.

Prints, per backend available here (and per precision it supports):

- generator-only crops/s: the renderer engine alone on random inputs at the generator's crop size
  (the same at every video resolution; the crop is aligned to S x S before the network);
- end-to-end fps of ``lipsync_engine.render_video`` at 1080p and 4K (face tracking, generation,
  blend, encode) with the ratio to a plain decode + encode of the same shot with the same codec
  settings (``bench_transcode.transcode_floor``). Rows: ``identity`` (the pipeline without a
  network: its overhead alone); ``renderer`` (the renderer engine in the loop on every face crop,
  through ``EngineGenerator`` below: the network's real cost without the learned generator's
  input preparation); ``learned`` (the shipped generator, when its weights and backend load).
  Each row runs with the render's stages overlapped (``RenderOptions.overlap``: decoder and encoder
  threads) and sequential, alternating which goes first; ``track s`` is pass 1 (decode + face
  tracking), ``render s`` the rest (profile, motion plan, generation, blend, encode, mux); ``cores
  busy`` is the process's CPU time over its wall time in the fastest run.

The shots are bench_transcode's: a real talking-face clip from ../shared/data scaled to the size.
Run from the repo root::

    python benchmarks/bench_engines.py                      # CPU, 1080p + 4K, every available backend
    python benchmarks/bench_engines.py --device cuda --sizes 4k --precisions fp16
    python benchmarks/bench_engines.py --precisions fp32 --seconds 2 --rows identity learned --overlap both
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import time_pipeline  # noqa: E402
from bench_transcode import SIZES, SUFFIX, make_source, transcode_floor  # noqa: E402

from lipsync_engine import LipsyncError, RenderOptions, load_generator  # noqa: E402
from lipsync_engine.engines import PRECISIONS, available_backends, make_engine  # noqa: E402
from lipsync_engine.generator.base import ActorProfile, ProfileSamples  # noqa: E402
from lipsync_engine.media import probe_video  # noqa: E402


class EngineGenerator:
    """A Generator whose render() runs the renderer engine on each crop (target and reference = the
    crop, mask = the lower half, shape = zeros): the pipeline with the network's real cost."""

    name = "renderer-bench"

    def __init__(self, engine, crop_size: int, shape_channels: int, references: int) -> None:
        self.engine, self.crop_size, self.backend = engine, crop_size, engine.name
        self._shape_channels, self._references = shape_channels, references

    def build_profile(self, samples: ProfileSamples) -> ActorProfile:
        return ActorProfile(generator=self.name, data={})

    def plan(self, mel: np.ndarray, speech: np.ndarray, fps: Fraction, profile: ActorProfile) -> np.ndarray:
        return np.zeros((len(mel), 1), np.float32)

    def render(self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile) -> np.ndarray:
        n, s = len(crops), self.crop_size
        target = crops.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        mask = np.zeros((n, 1, s, s), np.float32)
        mask[:, :, s // 2 :] = 1.0
        inputs = {"target": target, "mask": mask, "shape": np.zeros((n, self._shape_channels, s, s), np.float32),
                  "reference": np.tile(target, (1, self._references, 1, 1))}
        out = self.engine(inputs)
        return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)


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
    """(renderer module, its RendererConfig, "trained"/"random init"): the weights file's renderer, or
    the default architecture when the weights do not load (speed does not depend on weight values)."""
    from lipsync_engine.model import RendererConfig, build_renderer

    try:
        from lipsync_engine.generator.learned import weights_path
        from lipsync_engine.model.bundle import load_bundle

        bundle = load_bundle(weights_path(weights))
        return bundle.renderer, bundle.config.renderer, "trained"
    except (LipsyncError, ImportError) as exc:
        print(f"(weights '{weights}' not loaded: {exc}; timing the default architecture)", file=sys.stderr)
        return build_renderer(RendererConfig()).eval(), RendererConfig(), "random init"


def combos(device: str, backends: list[str], precisions: list[str]) -> list[tuple[str, str]]:
    """(backend, precision) pairs that can run here; onnx is fp32 only, triton is left out (remote)."""
    found = available_backends(device)
    return [(b, p) for b in backends if b in found and b != "triton" for p in precisions
            if not (b == "onnx" and p == "fp16")]


def bench_engines(args, model, config, weights_kind: str, cache_dir: Path) -> dict:
    """Print crops/s per (backend, precision); return the engines for the end-to-end runs."""
    from lipsync_engine.model import renderer_example_inputs

    s = config.crop_size
    print(f"\n### Generator only: renderer {s}x{s} ({weights_kind} weights), batch {args.batch}\n")
    print("| backend | precision | device | crops/s |\n|---|---|---|---|")
    inputs = {name: t.numpy() for name, t in renderer_example_inputs(config, args.batch).items()}
    engines = {}
    for backend, precision in combos(args.device, args.backends, args.precisions):
        engine = make_engine(model, backend, device=args.device, precision=precision,
                             example_inputs=renderer_example_inputs(config, 1), cache_dir=cache_dir,
                             max_batch=max(args.batch, 8))
        rate = engine_speed(engine, inputs, args.min_seconds)
        print(f"| {engine.name} | {engine.precision} | {engine.device} | {rate:.1f} |", flush=True)
        engines[backend, precision] = engine
    return engines


def generators(args, engines: dict, config):
    """(row label, precision, generator or the reason it is unavailable) for the end-to-end table."""
    if "identity" in args.rows:
        yield "identity", "-", load_generator("identity")
    for (backend, precision), engine in engines.items():
        if "renderer" in args.rows:
            yield "renderer", precision, EngineGenerator(engine, config.crop_size, config.shape_channels,
                                                         config.references)
    for backend, precision in engines if "learned" in args.rows else ():
        try:
            yield "learned", precision, load_generator(args.weights, backend=backend, device=args.device,
                                                       precision=precision)
        except LipsyncError as exc:
            yield "learned", precision, f"{backend}: {exc}"


def timed(work) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process's threads, result) of ``work()``. On a shared machine
    wall time grows with the other load; the CPU-time ratio stays close to an idle machine's wall ratio
    when both runs keep the same cores busy."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def bench_end_to_end(args, engines: dict, config, work: Path) -> None:
    """Per size: the transcode floors, then every generator row with the stages overlapped and not,
    alternating which goes first, all in this process back to back so the ratios share the load."""
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.overlap]
    print(f"\n### End to end: {args.seconds:g} s shots at 25 fps, codec {args.codec}, batch {args.batch}, "
          f"best of {args.repeats}\n")
    print("| size | generator | backend | precision | overlap | fps | track s | render s | transcode fps "
          "| ratio to transcode (wall) | ratio (CPU time) | cores busy | load 1/5/15 min |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    turn = 0
    for size_name in args.sizes:
        shot = make_source(SIZES[size_name], args.seconds, work / f"shot_{size_name}.mp4")
        frames = probe_video(shot).frame_count
        floors = [timed(lambda: transcode_floor(shot, args.codec)) for _ in range(args.repeats)]
        floor_wall, floor_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
        native = min(transcode_floor(shot, args.codec, native=True) for _ in range(args.repeats))
        print(f"| {size_name} | media transcode floor | - | - | - | {frames / floor_wall:.2f} | | | | 1.00x | 1.00x "
              f"| {floor_cpu / floor_wall:.2f} | {load()} |")
        print(f"| {size_name} | native transcode (YUV to the encoder) | - | - | - | {frames / native:.2f} | | | | "
              f"{native / floor_wall:.2f}x | | | |", flush=True)
        for label, precision, generator in generators(args, engines, config):
            if isinstance(generator, str):
                print(f"| {size_name} | {label} | n/a | {precision} | | not run: {generator} | | | | | | | |",
                      flush=True)
                continue
            runs: dict[bool, list] = {mode: [] for mode in modes}
            for _ in range(args.repeats):
                order = modes if turn % 2 == 0 else modes[::-1]  # neither mode always runs first
                turn += 1
                for overlap in order:
                    options = RenderOptions(codec=args.codec, batch_size=args.batch, overlap=overlap)
                    runs[overlap].append(time_pipeline(shot, work / f"take{SUFFIX[args.codec]}", options, generator))
            for overlap in modes:
                total, tracked, _, busy_cpu = min(runs[overlap])
                cpu = min(run[3] for run in runs[overlap])
                print(f"| {size_name} | {label} | {generator.backend} | {precision} | {'on' if overlap else 'off'} | "
                      f"{frames / total:.2f} | {tracked:.2f} | {total - tracked:.2f} | {frames / floor_wall:.2f} | "
                      f"{total / floor_wall:.2f}x | {cpu / floor_cpu:.2f}x | {busy_cpu / total:.2f} | {load()} |",
                      flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "tensorrt"])
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--batch", type=int, default=8, help="crops per generator call")
    parser.add_argument("--codec", default="h264", choices=sorted(SUFFIX))
    parser.add_argument("--seconds", type=float, default=2.0, help="length of the benchmark shots")
    parser.add_argument("--weights", default="default")
    parser.add_argument("--repeats", type=int, default=1, help="end-to-end runs per row; the fastest counts")
    parser.add_argument("--min-seconds", type=float, default=3.0, help="timing window per engine")
    parser.add_argument("--skip-e2e", action="store_true", help="generator-only numbers")
    parser.add_argument("--overlap", default="both", choices=["on", "off", "both"],
                        help="end to end with RenderOptions.overlap on, off, or both (alternating)")
    parser.add_argument("--rows", nargs="+", default=["identity", "renderer", "learned"],
                        choices=["identity", "renderer", "learned"], help="end-to-end rows to run")
    args = parser.parse_args(argv)
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "none"
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, GPU {gpu}; "
          f"torch {torch.__version__}")
    model, config, weights_kind = renderer_for(args.weights)
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as work:
        engines = bench_engines(args, model, config, weights_kind, Path(work))
        if not args.skip_e2e:
            bench_end_to_end(args, engines, config, Path(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
