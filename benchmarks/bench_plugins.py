"""What the editor routes add on top of a render: reaching a clip's source range, and planning big timelines.

    python benchmarks/bench_plugins.py [--frames 50] [--size 1920x1080] [--gop 48]

A take names its clip's frame range and dub offset, so nothing is cut before submitting; the cost of a
range is the seek: the decoder starts at the keyframe before the range and decodes (and drops) the frames
up to it, once per pass over the range. Prints: seconds to probe a range of a long-GOP 1080p H.264 source,
seconds to its first frame (the frames dropped before it included) and to decode the whole range (work a
render does anyway), and milliseconds to plan a 500-clip OTIO timeline. Media is generated in a temp
folder; nothing is downloaded.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import opentimelineio as otio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from media_factory import make_video, pattern_frames  # noqa: E402

from editor_plugins.otio.reader import plan_takes  # noqa: E402
from lipsync_engine.media import probe_video, read_frames  # noqa: E402

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def big_timeline(clips: int, media: Path) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name="bench", global_start_time=RT(86400, 24))
    video = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    dub = otio.schema.Track(name="Dub DE", kind=otio.schema.TrackKind.Audio)
    for i in range(clips):
        ref = otio.schema.ExternalReference(target_url=str(media), available_range=TR(RT(0, 24), RT(2000, 24)))
        video.append(otio.schema.Clip(name=f"c{i}", media_reference=ref, source_range=TR(RT(i, 24), RT(48, 24))))
    dub_ref = otio.schema.ExternalReference(target_url=str(media), available_range=TR(RT(0, 24), RT(48 * clips, 24)))
    dub.append(otio.schema.Clip(name="dub", media_reference=dub_ref, source_range=TR(RT(0, 24), RT(48 * clips, 24))))
    timeline.tracks.extend([video, dub])
    return timeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50, help="frames in the range")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--gop", type=int, default=48, help="keyframe interval of the source")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    first = args.gop - 1  # the worst case: the range starts on the last frame of a GOP
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        small = pattern_frames(first + args.frames, 96, 54)
        frames = [np.kron(f, np.ones((height // 54 + 1, width // 96 + 1, 1), np.uint8))[:height, :width] for f in small]
        source = make_video(root / "src.mp4", frames, options={
            "preset": "ultrafast", "x264-params": f"keyint={args.gop}:min-keyint={args.gop}:bframes=3:scenecut=0"})
        start = time.perf_counter()
        info = probe_video(source, frame_range=(first, args.frames))
        probe_s = time.perf_counter() - start
        start = time.perf_counter()
        decoded = read_frames(source, info)
        next(decoded)
        first_s = time.perf_counter() - start
        sum(1 for _ in decoded)
        range_s = time.perf_counter() - start
        start = time.perf_counter()
        takes, _ = plan_takes(big_timeline(500, source), root)
        plan_ms = (time.perf_counter() - start) * 1000
    print(f"probe a {args.frames}-frame range of {width}x{height} H.264 (keyframe every {args.gop}): {probe_s:.2f} s")
    print(f"seek to frame {first} (the last of a GOP: {first} frames decoded and dropped): {first_s:.2f} s to "
          f"its first frame; the whole range {range_s:.2f} s ({args.frames / range_s:.1f} frames/s)")
    print(f"plan a 500-clip OTIO timeline ({len(takes)} takes): {plan_ms:.0f} ms")


if __name__ == "__main__":
    main()
