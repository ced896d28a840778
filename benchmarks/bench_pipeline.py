"""Speed of the identity render pipeline against a plain decode + encode of the same clip.

Run from the repo root:  python benchmarks/bench_pipeline.py [--sizes 1080p 4k] [--repeats 2] [--codec h264]

The source is the built-in demo shot (3 s, 450x450, 25 fps) upscaled onto a 1920x1080 or 3840x2160
canvas (the face fills the height, as in a close-up) and encoded with libx264 CRF 18. For each size the
plain transcode (benchmarks/bench_transcode.py: decode, then encode with the take's codec settings) and
render_video with the identity generator run alternately ``--repeats`` times; the fastest run of each
counts, since the machine may be shared. Prints frames per second, the seconds spent tracking and
rendering, and the ratio pipeline / transcode (target <= 1.5 on CPU). Results go in RESULTS.md.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_transcode import transcode_floor  # noqa: E402

from lipsync_engine import Progress, RenderOptions, load_generator, render_video  # noqa: E402
from lipsync_engine.demo import DEMO_AUDIO, DEMO_VIDEO  # noqa: E402

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}


def make_source(size: tuple[int, int], out: Path) -> Path:
    """The demo shot on a ``size`` canvas, face scaled to the full height, libx264 CRF 18 yuv420p."""
    width, height = size
    with av.open(str(DEMO_VIDEO)) as src, av.open(str(out), "w") as dst:
        stream = dst.add_stream("libx264", rate=25, options={"crf": "18", "preset": "fast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        canvas = np.full((height, width, 3), (40, 60, 50), np.uint8)
        x0 = (width - height) // 2
        for i, frame in enumerate(src.decode(video=0)):
            canvas[:, x0:x0 + height] = cv2.resize(frame.to_ndarray(format="rgb24"), (height, height),
                                                   interpolation=cv2.INTER_CUBIC)
            new = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            new.pts = i
            dst.mux(stream.encode(new))
        dst.mux(stream.encode(None))
    return out


def time_pipeline(source: Path, out: Path, options: RenderOptions) -> tuple[float, float, int]:
    """(total seconds, seconds until the render stage began, frames) of one identity render."""
    first_render: list[float] = []

    def progress(event: Progress) -> None:
        if event.stage == "render" and not first_render:
            first_render.append(time.perf_counter())

    start = time.perf_counter()
    report = render_video(source, DEMO_AUDIO, out, load_generator("identity"), options, progress=progress)
    total = time.perf_counter() - start
    return total, (first_render[0] - start) if first_render else total, report.frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["1080p", "4k"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--codec", default="h264", choices=["h264", "h265", "prores", "ffv1"])
    args = parser.parse_args()
    options = RenderOptions(codec=args.codec)
    suffix = ".mov" if args.codec == "prores" else ".mkv" if args.codec == "ffv1" else ".mp4"
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {_cores()} cores, Python {platform.python_version()}")
    print(f"codec {args.codec}, best of {args.repeats}")
    print(f"{'size':>6} {'frames':>6} {'transcode s':>11} {'fps':>6} {'pipeline s':>10} {'fps':>6} "
          f"{'track s':>7} {'render s':>8} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sizes:
            source = make_source(SIZES[name], Path(tmp) / f"{name}.mp4")
            floors, runs = [], []
            for _ in range(args.repeats):
                floors.append(_timed(lambda: transcode_floor(source, args.codec)))
                runs.append(time_pipeline(source, Path(tmp) / f"take{suffix}", options))
            floor = min(floors)
            total, tracked, frames = min(runs)
            print(f"{name:>6} {frames:>6} {floor:>11.2f} {frames / floor:>6.2f} {total:>10.2f} {frames / total:>6.2f} "
                  f"{tracked:>7.2f} {total - tracked:>8.2f} {total / floor:>6.2f}")
    return 0


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
