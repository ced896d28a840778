"""Voice activity per video frame against GRID's word alignments, clean and with added white noise.

Run from the repo root:  python benchmarks/eval_vad.py [--clips 40] [--noise -50 -40 -30]

For each clip of ../shared/data/grid_s1 (3 s, 25 fps) a frame is 'speech' when its centre lies in an
aligned word. Prints the frame agreement with and without the onset/hangover widening, the share of
silent frames marked speech and of word frames missed, and the clips whose leading silence (before the
first word, less 3 frames) got any speech. Results are quoted in docs/media.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lipsync_engine.audio import VadConfig, load_audio, voice_activity

GRID = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "grid_s1"
CENTRES = (np.arange(75) + 0.5) / 25


def word_frames(align: Path) -> np.ndarray:
    """(75,) bool: frames whose centre lies inside an aligned word (times in 1/25000 s)."""
    truth = np.zeros(CENTRES.size, bool)
    for line in align.read_text().split("\n"):
        if line.strip():
            start, end, word = line.split()
            if word not in ("sil", "sp"):
                truth |= (CENTRES >= int(start) / 25000) & (CENTRES < int(end) / 25000)
    return truth


def evaluate(clips: list[tuple[np.ndarray, np.ndarray]], config: VadConfig, noise_dbfs: float | None) -> str:
    rng = np.random.default_rng(0)
    agree, false_speech, missed, leading = [], [], [], 0
    for pcm, truth in clips:
        if noise_dbfs is not None:
            pcm = pcm + rng.standard_normal(pcm.size).astype(np.float32) * np.float32(10 ** (noise_dbfs / 20))
        active = voice_activity(pcm, CENTRES, config)
        agree.append((active == truth).mean())
        false_speech.append((active & ~truth).sum() / max(1, (~truth).sum()))
        missed.append((~active & truth).sum() / max(1, truth.sum()))
        leading += bool(active[: max(0, int(np.argmax(truth)) - 3)].any())
    return (f"agreement {np.mean(agree):.3f} (worst {np.min(agree):.3f}), silence marked speech "
            f"{np.mean(false_speech):.3f}, words missed {np.mean(missed):.3f}, leading-silence errors {leading}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--noise", type=float, nargs="*", default=[-50.0, -40.0, -30.0], help="dBFS of white noise")
    args = parser.parse_args()
    aligns = sorted((GRID / "align").glob("*.align"))[: args.clips]
    if not aligns:
        print(f"no GRID alignments under {GRID}: ../shared/data must sit beside the repo", file=sys.stderr)
        return 1
    clips = [(load_audio(GRID / "video" / f"{a.stem}.mp4"), word_frames(a)) for a in aligns]
    print(f"{len(clips)} GRID clips, 75 frames each")
    print("clean, default config:   ", evaluate(clips, VadConfig(), None))
    print("clean, no onset/hangover:", evaluate(clips, VadConfig(onset_s=0.0, hangover_s=0.0), None))
    for level in args.noise:
        print(f"noise {level:+.0f} dBFS, default:  ", evaluate(clips, VadConfig(), level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
