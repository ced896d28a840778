"""Calibrate the take's sync verdict (lipsync_engine/pipeline/qa.py) on held-out cached clips.

For windows of consecutive frames of each held-out clip (the length of a short shot), the expert's offset
curve is measured on the speech stacks as the QA verdict measures them, with:
  real      the clip's own audio (true offset 0),
  shifted   its audio moved by a known number of frames (true offset known),
  mismatch  another speaker's audio (no true offset: any peak is noise),
  frozen    one mouth image on every frame (no motion: any peak is noise).
Prints, per band of speech stacks and per confidence threshold (and for qa.judge as it stands), how many
real/shifted windows get an offset, how many of those agree with the truth, and how many noise windows get
one (false verdicts). About 2 min on one CPU thread.

    PYTHONPATH=. python benchmarks/calibrate_sync_verdict.py [--cache .cache/dataset] [--windows 25 38 50 75 150]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from lipsync_engine.audio.features import MEL_FPS
from lipsync_engine.data.cache import load_clips
from lipsync_engine.pipeline.qa import FULL_STACKS, INCONCLUSIVE, MIN_STACKS, judge
from lipsync_engine.sync import load_sync_expert
from lipsync_engine.sync.scoring import MAX_OFFSET, measure, similarity_by_offset, stack_centres

SHIFTS = (-8, -4, 4, 8)  # frames the audio is moved for the "shifted" trials
THRESHOLDS = (0.06, 0.08, 0.10, 0.12, 0.15, 0.20, 0.25)


def trials(model, clips, window: int, stride: int) -> list[dict]:
    """One row per (window, condition): confidence, offset, expected offset (None for noise), stacks."""
    rows = []
    for n, clip in enumerate(clips):
        centres_all = stack_centres(clip.valid, model.config.frames)
        centres_all = centres_all[clip.speech_at(centres_all)]
        frozen = np.broadcast_to(clip.mouths[int(centres_all[0])], clip.mouths.shape) if len(centres_all) else None
        for start in range(0, max(clip.n_frames - window, 0) + 1, stride):
            centres = centres_all[(centres_all >= start) & (centres_all < start + window)]
            if len(centres) == 0:
                continue

            def row(kind, sim, expected):
                m = measure(sim)
                rows.append({"kind": kind, "clip": clip.clip_id, "conf": m.confidence, "offset": m.offset,
                             "expected": expected, "stacks": sim.shape[1],
                             "curve": m.curve})

            row("real", similarity_by_offset(model, clip.mouths, clip.mel, clip.fps, centres, MAX_OFFSET,
                                             clip.av_offset), 0)
            for shift in SHIFTS:
                sim = similarity_by_offset(model, clip.mouths, clip.mel, clip.fps, centres, MAX_OFFSET,
                                           clip.av_offset + shift)
                row("shifted", sim, -shift)
            row("frozen", similarity_by_offset(model, frozen, clip.mel, clip.fps, centres, MAX_OFFSET,
                                               clip.av_offset), None)
            for other in clips[n + 1:] + clips[:n]:
                if other.speaker_id == clip.speaker_id:
                    continue
                usable = centres[(centres + MAX_OFFSET + 1) / float(clip.fps) < other.mel.shape[1] / MEL_FPS]
                if len(usable) >= len(centres) // 2 and len(usable):
                    row("mismatch", similarity_by_offset(model, clip.mouths, other.mel, clip.fps, usable,
                                                         MAX_OFFSET, other.av_offset), None)
    return rows


def summarize(rows: list[dict]) -> None:
    """Per band of speech stacks: how often a confidence threshold names an offset, whether the offset
    agrees (the clip's own lag plus the known shift, within one frame), and how often noise passes."""
    lag = {}  # the clip's own audio lag as the expert sees it: the median over all its windows and shifts
    for clip in {r["clip"] for r in rows}:
        shifted = [r["offset"] - r["expected"] for r in rows if r["clip"] == clip and r["expected"] is not None]
        lag[clip] = int(np.median(shifted))

    def agrees(r):
        return abs(r["offset"] - r["expected"] - lag[r["clip"]]) <= 1

    def table(band, name, passes):
        truth = [r for r in band if r["expected"] is not None]
        named = [r for r in truth if passes(r)]
        agreed = sum(map(agrees, named))
        line = f"  {name:<14s} named {len(named):3d}/{len(truth):3d}, agree {agreed:3d}/{len(named):3d}"
        for kind in ("real", "mismatch", "frozen"):
            of_kind = [r for r in band if r["kind"] == kind]
            line += f" | {kind} {sum(map(passes, of_kind)):3d}/{len(of_kind):3d}"
        print(line)

    print(f"clip lags (frames): {lag}")
    for low, high in ((0, MIN_STACKS), (MIN_STACKS, FULL_STACKS), (FULL_STACKS, 60), (60, 10_000)):
        band = [r for r in rows if low <= r["stacks"] < high]
        if not band:
            continue
        frozen = [r["conf"] for r in band if r["kind"] == "frozen"]
        print(f"{low}-{high - 1} speech stacks: {len(band)} windows, still-mouth confidence max {max(frozen):.3f}")
        for t in THRESHOLDS:
            table(band, f"conf >= {t:.2f}", lambda r, t=t: r["conf"] >= t and abs(r["offset"]) < MAX_OFFSET)
        table(band, "qa.judge", lambda r: judge_status(r) != INCONCLUSIVE)


def judge_status(row: dict) -> str:
    """The status qa.judge gives the row's curve and stack count (a one-stack-per-column stand-in)."""
    curve = np.asarray(row["curve"], np.float32)[:, None]
    return judge(np.repeat(curve, row["stacks"], axis=1)).status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=".cache/dataset")
    parser.add_argument("--windows", type=int, nargs="+", default=[25, 38, 50, 75, 150],
                        help="frames per trial (75 = a 3 s shot at 25 fps); each is slid by half its length")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_sync_expert()
    clips = load_clips(args.cache, "val", sync_ready=True)
    rows = [row for window in args.windows for row in trials(model, clips, window, window // 2)]
    print(f"windows {args.windows} frames over {len(clips)} held-out clips")
    summarize(rows)


if __name__ == "__main__":
    main()
