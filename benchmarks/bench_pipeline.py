"""Speed of the identity render pipeline against a plain decode + encode of the same clip.

Run from the repo root (shared/ beside it):
    python benchmarks/bench_pipeline.py [--sizes 1080p 4k] [--seconds 3] [--repeats 2] [--codec h264]

The clips are those of benchmarks/bench_transcode.py (a real talking-face clip scaled to 1920x1080 /
3840x2160, libx264 CRF 18). For each size the two transcode floors (``media``: read_frames ->
VideoWriter, the I/O every render pays; ``native``: YUV straight to the same encoder) and render_video
with the identity generator run alternately ``--repeats`` times; the fastest run of each counts (the
machine may be shared). Prints frames per second, the seconds spent tracking (pass 1) and rendering
(pass 2), the pipeline's ratio to each floor, and the CPU milliseconds per frame (all threads) of the media
floor and of the pipeline (the fairer comparison on a shared machine). Target: ratio to the media floor <= 1.5 on CPU.
Results are recorded in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_transcode import SIZES, SUFFIX, make_source, transcode_floor  # noqa: E402

from lipsync_engine import Progress, RenderOptions, load_generator, render_video  # noqa: E402
from lipsync_engine.demo import DEMO_AUDIO  # noqa: E402


def time_pipeline(source: Path, out: Path, options: RenderOptions, generator=None) -> tuple[float, float, int, float]:
    """(total seconds, seconds of pass 1 (decode + face tracking, up to the track stage's closing event),
    frames, CPU seconds of the process's threads) of one render with ``generator`` (None: identity)."""
    tracked: list[float] = []

    def progress(event: Progress) -> None:
        if event.stage == "track" and event.done == event.total and not tracked:
            tracked.append(time.perf_counter())

    start, cpu = time.perf_counter(), time.process_time()
    report = render_video(source, DEMO_AUDIO, out, generator or load_generator("identity"), options, progress=progress)
    total = time.perf_counter() - start
    return total, (tracked[0] if tracked else start) - start, report.frames, time.process_time() - cpu


def cpu_seconds(work: Callable[[], object]) -> float:
    """CPU seconds (all threads of this process, encoder threads included) that ``work()`` takes."""
    cpu = time.process_time()
    work()
    return time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["1080p", "4k"])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--codec", default="h264", choices=sorted(SUFFIX))
    args = parser.parse_args()
    options = RenderOptions(codec=args.codec)
    print(f"machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}; "
          f"codec {args.codec}; best of {args.repeats}")
    print(f"{'size':>6} {'frames':>6} {'native fps':>10} {'media fps':>9} {'pipeline fps':>12} "
          f"{'track s':>7} {'render s':>8} {'x media':>7} {'x native':>8} {'media cpu ms/f':>14} "
          f"{'pipeline cpu ms/f':>17}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sizes:
            source = make_source(SIZES[name], args.seconds, Path(tmp) / f"{name}.mp4")
            native, media, media_cpu, runs = [], [], [], []
            for _ in range(args.repeats):
                native.append(transcode_floor(source, args.codec, native=True))
                media_cpu.append(cpu_seconds(lambda: media.append(transcode_floor(source, args.codec))))
                runs.append(time_pipeline(source, Path(tmp) / f"take{SUFFIX[args.codec]}", options))
            total, tracked, frames, _ = min(runs)
            pipeline_cpu = min(run[3] for run in runs)
            print(f"{name:>6} {frames:>6} {frames / min(native):>10.2f} {frames / min(media):>9.2f} "
                  f"{frames / total:>12.2f} {tracked:>7.2f} {total - tracked:>8.2f} "
                  f"{total / min(media):>7.2f} {total / min(native):>8.2f} "
                  f"{1000 * min(media_cpu) / frames:>14.1f} {1000 * pipeline_cpu / frames:>17.1f}", flush=True)
    print(f"peak RSS of the process: {_peak_rss_mb():.0f} MB")
    return 0


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
