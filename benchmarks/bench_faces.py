"""Face detection, tracking and blending on the development clips: detection rate, ms per frame, jitter.

Run from the repo root (shared/ beside it):  python benchmarks/bench_faces.py [--quick]
Prints the tables that docs/faces.md records. Every clip frame is also placed on a 1920x1080 canvas
(face about 60 % of the height, as in a medium close-up) to time 1080p frames.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import cv2
import numpy as np

from lipsync_engine.blend import lower_face_mask, paste
from lipsync_engine.faces import FaceLandmarker, align_face, image_face, topology, track_shot

CLIPS = Path(__file__).resolve().parents[1] / "../shared/data/clips"
HD = (1920, 1080)


def frames_of(clip: Path, count: int, step: int = 1) -> list[np.ndarray]:
    out = []
    with av.open(str(clip)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % step == 0:
                out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == count:
                break
    return out


def on_hd(rgb: np.ndarray, fraction: float = 0.6) -> np.ndarray:
    w, h = HD
    canvas = np.full((h, w, 3), 90, np.uint8)
    side = round(h * fraction)
    scaled = cv2.resize(rgb, (round(side * rgb.shape[1] / rgb.shape[0]), side), interpolation=cv2.INTER_CUBIC)
    y0, x0 = (h - scaled.shape[0]) // 2, (w - scaled.shape[1]) // 2
    canvas[y0:y0 + scaled.shape[0], x0:x0 + scaled.shape[1]] = scaled
    return canvas


class Haar:
    """OpenCV's frontal Haar cascade on a frame downscaled to at most 960 px (boxes only)."""

    def __init__(self) -> None:
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def count(self, rgb: np.ndarray) -> int:
        scale = min(1.0, 960 / max(rgb.shape[:2]))
        grey = cv2.cvtColor(cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                            if scale < 1 else rgb, cv2.COLOR_RGB2GRAY)
        return len(self.cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(40, 40)))


def detection_table(clips: list[Path], per_clip: int, landmarker: FaceLandmarker) -> None:
    haar = Haar()
    stats = {name: [0, 0, 0.0, 0.0] for name in ("mediapipe detector+mesh", "mediapipe detector only", "opencv haar")}
    misses: dict[str, list[str]] = {name: [] for name in stats}
    for clip in clips:
        for rgb in frames_of(clip, per_clip, step=10):
            hd = on_hd(rgb)
            for name, run in (("mediapipe detector+mesh", lambda f: len(landmarker.detect(f))),
                              ("mediapipe detector only", lambda f: len(landmarker.detect_boxes(f))),
                              ("opencv haar", haar.count)):
                t, cpu = time.perf_counter(), time.process_time()
                found = run(hd)
                stats[name][2] += time.perf_counter() - t
                stats[name][3] += time.process_time() - cpu
                stats[name][0] += found == 1
                stats[name][1] += 1
                if found != 1:
                    misses[name].append(f"{clip.stem}:{found}")
    print(f"\nDetection on {stats['opencv haar'][1]} frames of {len(clips)} clips, each on a 1920x1080 canvas")
    print("| method | exactly one face | wall ms per 1080p frame | CPU ms | misses (clip:faces found) |")
    print("|---|---|---|---|---|")
    for name, (ok, n, seconds, cpu) in stats.items():
        shown = ", ".join(sorted(set(misses[name]))[:6])
        print(f"| {name} | {ok}/{n} ({100 * ok / n:.1f} %) | {1000 * seconds / n:.1f} | {1000 * cpu / n:.1f} "
              f"| {shown} |")


def jitter(points: np.ndarray) -> float:
    return float(np.nanstd(np.diff(points[:, list(topology.STABLE)], n=2, axis=0)))


def tracking_table(clips: list[Path], count: int, landmarker: FaceLandmarker) -> None:
    print(f"\nTracking {count} frames per clip (stable-point acceleration std, px/frame^2; lower = steadier)")
    print("| clip | size | valid | wall ms/frame | CPU ms/frame | jitter raw | jitter smoothed |")
    print("|---|---|---|---|---|---|---|")
    variants = [(c, "native") for c in clips] + [(clips[0], "1080p"), (clips[0], "4K 16-bit")]
    for clip, variant in variants:
        frames = frames_of(clip, count)
        if variant != "native":
            frames = [on_hd(f) for f in frames]

        making = [0.0, 0.0]  # wall, CPU seconds spent making 4K frames: not tracking time

        def stream():  # 4K 16-bit frames are made one at a time: 50 MB each
            for i, f in enumerate(frames):
                if variant == "4K 16-bit":
                    t0, c0 = time.perf_counter(), time.process_time()
                    f = cv2.resize(f, (3840, 2160), interpolation=cv2.INTER_CUBIC).astype(np.uint16) * 257
                    making[0] += time.perf_counter() - t0
                    making[1] += time.process_time() - c0
                yield i, f

        t, cpu = time.perf_counter(), time.process_time()
        track = track_shot(stream(), fps=25.0, landmarker=landmarker)
        ms = 1000 * (time.perf_counter() - t - making[0]) / len(frames)
        cpu_ms = 1000 * (time.process_time() - cpu - making[1]) / len(frames)
        w, h = track.frame_size
        print(f"| {clip.stem} | {w}x{h} {variant} | {track.valid.sum()}/{len(track)} | {ms:.1f} | {cpu_ms:.1f} | "
              f"{jitter(track.raw_points):.3f} | {jitter(track.points):.3f} |")


def validity_table(clips: list[Path], count: int, landmarker: FaceLandmarker) -> None:
    """Frames each clip loses, by reason: on these clean clips every invalid frame is a false alarm
    unless the face really turns away or leaves."""
    from collections import Counter

    print(f"\nValidity over the first {count} frames of {len(clips)} clips")
    print("| clips | frames | valid | invalid by reason | other faces reported |")
    print("|---|---|---|---|---|")
    reasons: Counter[str] = Counter()
    frames_total = valid_total = others = 0
    per_clip = []
    for clip in clips:
        track = track_shot(enumerate(frames_of(clip, count)), fps=25.0, landmarker=landmarker)
        frames_total += len(track)
        valid_total += int(track.valid.sum())
        others += len(track.other_faces)
        reasons.update(r for r in track.reasons if r)
        if not track.valid.all():
            per_clip.append(f"{clip.stem}: {', '.join(f'{g.start}-{g.end} {g.reason}' for g in track.segments())}")
    shown = ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "none"
    print(f"| {len(clips)} | {frames_total} | {valid_total} | {shown} | {others} |")
    for line in per_clip:
        print(f"  {line}")


def paste_table(clip: Path, landmarker: FaceLandmarker, repeats: int) -> None:
    print("\nPaste (256 px crop, generated mouth differs from the source), ms per frame")
    print("| frame | dtype | wall ms | CPU ms |")
    print("|---|---|---|---|")
    rgb = frames_of(clip, 1)[0]
    for size in ((1920, 1080), (3840, 2160)):
        canvas = cv2.resize(on_hd(rgb), size, interpolation=cv2.INTER_CUBIC)
        face = image_face(canvas, landmarker=landmarker)
        alignment = align_face(face.points, 256)
        mask = lower_face_mask(alignment.to_crop(face.points), 256)
        for frame in (canvas, canvas.astype(np.uint16) * 257):
            generated = cv2.GaussianBlur(alignment.crop(canvas), (0, 0), 2)
            t, cpu = time.perf_counter(), time.process_time()
            for _ in range(repeats):
                paste(frame, generated, alignment, mask, inplace=True)
            wall, cpu = (time.perf_counter() - t) / repeats, (time.process_time() - cpu) / repeats
            print(f"| {size[0]}x{size[1]} | {frame.dtype} | {1000 * wall:.1f} | {1000 * cpu:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clips and frames")
    args = parser.parse_args()
    clips = sorted(CLIPS.glob("*.mp4"))
    if not clips:
        raise SystemExit(f"no clips at {CLIPS.resolve()}: put shared/ beside the repo")
    with FaceLandmarker() as landmarker:
        detection_table(clips[::4] if args.quick else clips, 3 if args.quick else 10, landmarker)
        tracking_table([CLIPS / n for n in ("edtalk_obama.mp4", "grid_bbaf2n.mp4", "pcavs_pose_00473.mp4",
                                           "retalking_face2.mp4")], 30 if args.quick else 75, landmarker)
        validity_table(clips[::4] if args.quick else clips, 25 if args.quick else 100, landmarker)
        paste_table(CLIPS / "edtalk_obama.mp4", landmarker, 3 if args.quick else 10)


if __name__ == "__main__":
    main()
