"""The blend alone: numpy paste against the torch device paste, ms per frame at 1080p and 4K.

Run from the repo root (shared/ beside it):  python benchmarks/bench_blend.py [--device cuda] [--repeats 10]
A real face (edtalk_obama.mp4) scaled so the face itself (landmarks, brow to chin) is a third of the
frame high, its mouth redrawn open and smoother (so the change map, keep weight and grain all run):
the case RESULTS.md's 145 ms per 4K frame was measured on. Both pastes write in place; wall and process
CPU ms per frame, OpenCV and torch held to ``--threads``; then ``Compositor.blend`` (mask, paste and
changed-region scan, as a render runs it) both ways. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from lipsync_engine import load_generator
from lipsync_engine.blend import lower_face_mask, paste
from lipsync_engine.blend.device_paste import device_paste
from lipsync_engine.faces import FaceLandmarker, align_face, image_face, topology
from lipsync_engine.generator.base import ActorProfile
from lipsync_engine.pipeline.compose import Compositor, crop_face

CLIP = Path(__file__).resolve().parents[1] / "../shared/data/clips/edtalk_obama.mp4"
SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160)}
S = 256


def face_frame(rgb: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(frame, landmarks): ``rgb`` scaled onto a grey (w, h) canvas so the face is a third of its height."""
    w, h = size
    scale = h / 3 / np.ptp(points[:, 1])
    scaled = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)[:h, :w]
    canvas = np.full((h, w, 3), 90, np.uint8)
    y0, x0 = (h - scaled.shape[0]) // 2, (w - scaled.shape[1]) // 2
    canvas[y0:y0 + scaled.shape[0], x0:x0 + scaled.shape[1]] = scaled
    return canvas, (points + 0.5) * scale - 0.5 + [x0, y0]


def opened_mouth(crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """What a generator returns: the crop a little smoother, with a dark open mouth drawn over the lips."""
    out = cv2.GaussianBlur(crop, (0, 0), 1.5)
    lips = points[list(topology.OUTER_LIPS)]
    centre, half = lips.mean(0), np.ptp(lips, 0) / 2
    cv2.ellipse(out, (round(centre[0]), round(centre[1])), (round(half[0] * 0.8), round(half[1] * 1.5)), 0, 0, 360,
                (40, 20, 25), -1, cv2.LINE_AA)
    return out


def time_paste(fn, frame, generated, alignment, mask, repeats: int) -> tuple[float, float]:
    """(wall ms, CPU ms) per in-place paste, after one warm-up."""
    fn(frame, generated, alignment, mask, inplace=True)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn(frame, generated, alignment, mask, inplace=True)
    return 1000 * (time.perf_counter() - wall) / repeats, 1000 * (time.process_time() - cpu) / repeats


def time_compositor(blend_on: str | None, frame: np.ndarray, points: np.ndarray, repeats: int) -> float:
    """CPU ms per frame of Compositor.blend as a render calls it (mask, paste, changed-region scan), batch of 4."""
    compositor = Compositor(load_generator("identity"), ActorProfile("identity", {}), S, blend_on)
    face = crop_face(frame, points, S)
    generated = np.stack([opened_mouth(face.crop, face.points)] * 4)
    frames = [frame.copy() for _ in range(4)]
    compositor.blend(frames, [face] * 4, generated, np.ones(4), inplace=True)
    cpu = time.process_time()
    for _ in range(repeats):
        compositor.blend(frames, [face] * 4, generated, np.ones(4), inplace=True)
    return 1000 * (time.process_time() - cpu) / repeats / 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="torch device of the device paste: cpu, cuda, cuda:N")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV and torch CPU threads (default: 1)")
    args = parser.parse_args()
    if not CLIP.is_file():
        raise SystemExit(f"no clip at {CLIP.resolve()}: put shared/ beside the repo")
    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)
    import av

    with av.open(str(CLIP)) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
    with FaceLandmarker() as landmarker:
        points = image_face(rgb, landmarker=landmarker).points

    def on_device(*a, **k):
        return device_paste(*a, device=args.device, **k)

    print(f"Blend of one face a third of the frame high, 256 px crop, {args.threads} thread(s), "
          f"device paste on {args.device}")
    print("| frame | dtype | paste | wall ms | CPU ms |")
    print("|---|---|---|---|---|")
    for label, size in SIZES.items():
        canvas, frame_points = face_frame(rgb, points, size)
        alignment = align_face(frame_points, S)
        crop_points = alignment.to_crop(frame_points)
        mask = lower_face_mask(crop_points, S)
        generated = opened_mouth(alignment.crop(canvas), crop_points)
        for frame in (canvas, canvas.astype(np.uint16) * 257):
            for name, fn in (("numpy", paste), (f"device ({args.device})", on_device)):
                wall, cpu = time_paste(fn, frame.copy(), generated, alignment, mask, args.repeats)
                print(f"| {label} | {frame.dtype} | {name} | {wall:.1f} | {cpu:.1f} |", flush=True)
        for name, blend_on in (("numpy", None), (f"device ({args.device})", args.device)):
            cpu = time_compositor(blend_on, canvas, frame_points, max(1, args.repeats // 4))
            print(f"| {label} | uint8 | Compositor.blend, {name} | | {cpu:.1f} |", flush=True)


if __name__ == "__main__":
    main()
