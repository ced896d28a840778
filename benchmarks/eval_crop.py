"""Crop-level comparison of generator weights files, back to back in one process (train/crop_eval.py).

    python benchmarks/eval_crop.py default .cache/train_mask/candidate.safetensors [--sync]

Prints, per weights file, the mean over the validation clips of the retrieval design's PSNR in its own
repaint mask, the mouth box, the default-grown (6%) mask and that mask's part below the jaw, the
per-clip below-jaw numbers, and with --sync the sync expert's verdict and the sharpness ratio.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from lipsync_engine.generator.learned import load_learned
from lipsync_engine.sync.checkpoint import load_sync_expert
from lipsync_engine.train.clips import load_train_clips
from lipsync_engine.train.crop_eval import REGIONS, evaluate, evaluate_sync


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", help="'default' or .safetensors paths")
    parser.add_argument("--cache", default=".cache/dataset")
    parser.add_argument("--sync", action="store_true", help="also measure sync and sharpness (slower)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    val = load_train_clips(args.cache, "val")
    for weights in args.weights:
        generator = load_learned(weights, backend="torch")
        began = time.process_time()
        crop = evaluate(generator, val)
        row = {"weights": weights, "name": generator.name,
               "mask_below": generator.bundle.config.renderer.mask_below,
               **{k: round(crop["mean"]["retrieval"][k], 2) for k in REGIONS},
               "below_jaw_per_clip": {c: round(v["retrieval"]["psnr_below_jaw"], 2) for c, v in crop["clips"].items()}}
        if args.sync:
            sync = evaluate_sync(generator, val, load_sync_expert())["mean"]
            row.update({k: round(v, 3) for k, v in sync.items()})
        row["cpu_s"] = round(time.process_time() - began, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
