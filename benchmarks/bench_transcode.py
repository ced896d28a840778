"""The transcode floor: plain decode + encode speed of a clip with the codec settings a take uses.

Run from the repo root:  python benchmarks/bench_transcode.py [--sizes 1080p 4k] [--codecs h264 prores]
                         [--seconds 2] [--repeats 2]

Two floors per clip, both encoding with ``lipsync_engine.media.encoder_settings`` (the VideoWriter's
encoder, pixel format and options):
- ``media``: read_frames -> VideoWriter (decode, YUV -> RGB, RGB -> YUV, encode, atomic remux): the
  media I/O every render pays; the pipeline benchmarks divide their time by this one
  (:func:`transcode_floor`).
- ``native``: decoded frames go straight to the encoder in YUV (no RGB round trip, no remux): what
  an ffmpeg-style transcode costs; the gap between the two is the cost of handing frames over as RGB.

The clips are a real talking-face clip from ../shared/data scaled to 1920x1080 / 3840x2160 (libx264
CRF 18 yuv420p sources, made once per run). The fastest of ``--repeats`` runs counts (shared machine).
Results are recorded in benchmarks/RESULTS_transcode.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2

from lipsync_engine.media import VideoWriter, encoder_settings, probe_video, read_frames
from lipsync_engine.options import RenderOptions

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / ".." / "shared" / "data" / "clips" / "grid_bbaf2n.mp4"
SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
SUFFIX = {"h264": ".mp4", "h265": ".mp4", "prores": ".mov", "ffv1": ".mkv"}


def transcode_floor(path: str | Path, codec: str, *, native: bool = False) -> float:
    """Seconds to decode every frame of ``path`` and encode it with ``codec`` as a take would.

    ``native=False`` goes through read_frames and VideoWriter (RGB hand-over, atomic remux);
    ``native=True`` hands the decoded YUV frames straight to the same encoder. The file written is
    deleted. Frames per second = probe_video(path).frame_count / the result.
    """
    info = probe_video(path)
    options = RenderOptions(codec=codec)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"floor{SUFFIX[codec]}"
        start = time.perf_counter()
        if native:
            _native(path, out, encoder_settings(out, info, options), info.fps)
        else:
            with VideoWriter(out, info, options) as writer:
                for frame in read_frames(path, info):
                    writer.write(frame.rgb, frame.pts)
                writer.finish()
        return time.perf_counter() - start


def _native(path: str | Path, out: Path, settings, fps) -> None:
    with av.open(str(path)) as src, av.open(str(out), "w", format=settings.muxer) as dst:
        stream_in = src.streams.video[0]
        stream_in.thread_type = "AUTO"
        stream = dst.add_stream(settings.encoder, rate=fps, options=dict(settings.options))
        stream.width, stream.height, stream.pix_fmt = stream_in.width, stream_in.height, settings.pix_fmt
        stream.codec_context.time_base = stream_in.time_base
        for frame in src.decode(stream_in):
            if frame.format.name != settings.pix_fmt:
                frame = frame.reformat(format=settings.pix_fmt)
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))


def make_source(size: tuple[int, int], seconds: float, out: Path) -> Path:
    """The GRID clip's first ``seconds`` scaled to ``size``, libx264 CRF 18 yuv420p at 25 fps."""
    frames = int(seconds * 25)
    with av.open(str(CLIP)) as src, av.open(str(out), "w") as dst:
        stream = dst.add_stream("libx264", rate=25, options={"crf": "18", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            if i == frames:
                break
            rgb = cv2.resize(frame.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_CUBIC)
            new = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            new.pts = i
            dst.mux(stream.encode(new))
        dst.mux(stream.encode(None))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["1080p", "4k"])
    parser.add_argument("--codecs", nargs="+", choices=sorted(SUFFIX), default=["h264", "prores"])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not CLIP.is_file():
        print(f"the source clip {CLIP} is missing: ../shared/data must sit beside the repo", file=sys.stderr)
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, "
          f"PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info})")
    print(f"best of {args.repeats}, {args.seconds:g} s clips at 25 fps\n")
    print("fps from wall time; CPU ms/frame from the process's CPU time (all threads), steadier on a busy box\n")
    print("| size | codec | frames | media fps | native fps | media CPU ms/frame | native CPU ms/frame "
          "| media / native CPU |\n|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sizes:
            source = make_source(SIZES[name], args.seconds, Path(tmp) / f"{name}.mp4")
            frames = probe_video(source).frame_count
            for codec in args.codecs:
                media = [_with_cpu(lambda: transcode_floor(source, codec)) for _ in range(args.repeats)]
                native = [_with_cpu(lambda: transcode_floor(source, codec, native=True)) for _ in range(args.repeats)]
                (media_s, media_cpu), (native_s, native_cpu) = min(media), min(native)
                print(f"| {name} | {codec} | {frames} | {frames / media_s:.2f} | {frames / native_s:.2f} | "
                      f"{1000 * media_cpu / frames:.0f} | {1000 * native_cpu / frames:.0f} | "
                      f"{media_cpu / native_cpu:.2f} |", flush=True)
    return 0


def _with_cpu(work) -> tuple[float, float]:
    """(wall seconds that ``work`` returns, CPU seconds of this process meanwhile)."""
    cpu = time.process_time()
    wall = work()
    return wall, time.process_time() - cpu


if __name__ == "__main__":
    sys.exit(main())
