"""What the editor routes add on top of a render: cutting a clip's ranges, and planning big timelines.

    python benchmarks/bench_plugins.py [--frames 50] [--size 1920x1080]

Prints: seconds to cut N frames of a 1080p H.264 source to lossless FFV1 (what `lipsync render-takes` and
`lipsync otio` do per take before submitting), seconds to cut the dub stretch, and milliseconds to plan a
500-clip OTIO timeline. Media is generated in a temp folder; nothing is downloaded.
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
from media_factory import make_audio, make_video, pattern_frames, speech_like  # noqa: E402

from editor_plugins.otio.reader import plan_takes  # noqa: E402
from editor_plugins.segments import cut_audio, cut_video  # noqa: E402

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
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        small = pattern_frames(2 * args.frames, 96, 54)
        frames = [np.kron(f, np.ones((height // 54 + 1, width // 96 + 1, 1), np.uint8))[:height, :width] for f in small]
        source = make_video(root / "src.mp4", frames, options={"preset": "ultrafast"})
        dub = make_audio(root / "dub.wav", speech_like(10.0, rate=48000), 48000)
        start = time.perf_counter()
        cut_video(source, args.frames, 2 * args.frames, root / "cut.mkv")
        video_s = time.perf_counter() - start
        start = time.perf_counter()
        cut_audio(dub, 3.0, args.frames / 25, root / "cut.wav")
        audio_s = time.perf_counter() - start
        start = time.perf_counter()
        takes, _ = plan_takes(big_timeline(500, source), root)
        plan_ms = (time.perf_counter() - start) * 1000
    print(f"cut {args.frames} frames of {width}x{height} H.264 to FFV1: {video_s:.2f} s "
          f"({args.frames / video_s:.1f} frames/s)")
    print(f"cut {args.frames / 25:.1f} s of 48 kHz dub to WAV: {audio_s * 1000:.0f} ms")
    print(f"plan a 500-clip OTIO timeline ({len(takes)} takes): {plan_ms:.0f} ms")


if __name__ == "__main__":
    main()
