"""Frames per second through the daemon with 1, 2 and 4 concurrent jobs, against the engine in-process.

Run from the repo root (shared/ beside it):
    python benchmarks/bench_daemon.py [--concurrency 1 2 4] [--repeats 2] [--generator identity]

The clip is a real talking-face clip of ../shared/data (GRID, 360x288, 25 fps, 3 s), used as shot and
dub. For each concurrency k, a real daemon subprocess (``--concurrency k``, loopback TCP, its own job
database) renders k copies of the clip submitted at once, and the engine in-process renders k copies in
k threads with one shared generator; the two alternate ``--repeats`` times and the fastest run of each
counts (the machine may be shared). A warm-up job runs first on both sides, so model loading and
first imports are not timed. Throughput = k * frames / wall seconds from the first submit to the last
job's end (the daemon side includes gRPC, the SQLite queue, the engine host process and watching).
Also prints the cancel latency (CancelJob to CANCELLED, in the middle of a render).
Target (issue 6): daemon overhead at most 10 %. Results are recorded in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.launch import launch_daemon
from lipsync_engine import load_generator, render_video

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / ".." / "shared" / "data" / "clips" / "grid_bbaf2n.mp4"


def in_process(generator, k: int, out_dir: Path) -> tuple[float, int]:
    """(wall seconds, frames) of k concurrent in-process renders of the clip."""
    frames: list[int] = []

    def one(i: int) -> None:
        frames.append(render_video(CLIP, CLIP, out_dir / f"inproc-{i}.mp4", generator).frames)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(k)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(frames)


def through_daemon(client, k: int, run: str) -> tuple[float, int]:
    """(wall seconds, frames) of k jobs submitted at once and watched to the end."""
    start = time.perf_counter()
    jobs = [client.submit(CLIP, CLIP, request_id=f"{run}-{i}") for i in range(k)]
    finals = [client.wait(job.id) for job in jobs]
    wall = time.perf_counter() - start
    failed = [f.error.message for f in finals if f.state != pb.SUCCEEDED]
    if failed:
        raise SystemExit(f"daemon job failed: {failed[0]}")
    return wall, sum(f.result.frames for f in finals)


def cancel_latency(client) -> float:
    """Seconds from CancelJob to the job's CANCELLED state, cancelling in the middle of a render."""
    job = client.submit(CLIP, CLIP)
    for update in client.watch(job.id):
        if update.progress.stage == "render" and update.progress.frames_done > 0:
            break
    start = time.perf_counter()
    client.cancel(job.id)
    final = client.wait(job.id)
    if final.state != pb.CANCELLED:
        raise SystemExit(f"cancel did not end CANCELLED but {pb.JobState.Name(final.state)}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--generator", default="identity")
    args = parser.parse_args()
    if not CLIP.is_file():
        print(f"clip {CLIP} not found: put shared/data beside the repo", file=sys.stderr)
        return 1
    generator = load_generator(args.generator)
    print(f"# {platform.machine()}, Python {platform.python_version()}, generator {args.generator}, clip {CLIP.name}")
    print("| jobs | frames | in-process fps | daemon fps | daemon / in-process | cancel s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        in_process(generator, 1, tmp)  # warm-up: first imports, face models
        for k in args.concurrency:
            data = tmp / f"daemon-{k}"
            flags = ["--listen", "127.0.0.1:0", "--root", str(CLIP.parent.resolve()), "--generator", args.generator,
                     "--concurrency", str(k), "--no-inbox", "--log-level", "WARNING"]
            data.mkdir()
            with open(tmp / f"daemon-{k}.log", "w") as log:
                process, client = launch_daemon(data, flags, log=log, cwd=REPO)
            try:
                through_daemon(client, 1, "warmup")
                latency = cancel_latency(client)
                best_local = best_daemon = float("inf")
                for r in range(args.repeats):
                    wall, frames = in_process(generator, k, tmp)
                    best_local = min(best_local, wall)
                    wall, frames = through_daemon(client, k, f"run{r}")
                    best_daemon = min(best_daemon, wall)
            finally:
                client.close()
                process.terminate()
                process.wait(30)
            local_fps, daemon_fps = frames / best_local, frames / best_daemon
            print(f"| {k} | {frames} | {local_fps:.2f} | {daemon_fps:.2f} | **{daemon_fps / local_fps:.3f}** "
                  f"| {latency:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
