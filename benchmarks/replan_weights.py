"""Rewrite a generator weights file's plan settings with the current training code, keeping its networks.

The renderer and audio-to-motion networks are kept bit for bit; what ``lipsync train`` decides after them
is redone as the current code does it: the per-code gain and offset are refit by
``motion_training.fit_calibration`` on the validation speakers' predictions, and the plan's settings
(``MotionConfig.closure_threshold``) take the current defaults. This is how ``lipsync-gen-2@0f674434`` was
made from ``fc00885d``, and the calibrated default from ``5645633a`` (docs/model.md); a fresh
``lipsync train`` refits the motion network too. About 20 s on one CPU thread.

    PYTHONPATH=. python benchmarks/replan_weights.py --weights default --out generator.safetensors
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from lipsync_engine.generator.learned import weights_path
from lipsync_engine.model.bundle import load_bundle, save_bundle
from lipsync_engine.model.config import MotionConfig
from lipsync_engine.train.clips import attach_codes, load_train_clips
from lipsync_engine.train.motion_training import fit_calibration, motion_metrics, motion_set, predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=".cache/dataset", help="dataset cache (default: %(default)s)")
    parser.add_argument("--weights", default="default", help="weights to start from (default: the shipped file)")
    parser.add_argument("--out", required=True, help="weights file to write")
    args = parser.parse_args()
    torch.set_num_threads(1)
    source = weights_path(args.weights)
    bundle = load_bundle(source)
    train, val = load_train_clips(Path(args.cache), "train"), load_train_clips(Path(args.cache), "val")
    attach_codes(train, bundle.basis)
    attach_codes(val, bundle.basis)
    held = motion_set(val, bundle.config.motion.mel_window)
    pred = predict(bundle.motion, held.mel)
    gain, offset = fit_calibration(pred, held.codes)
    scale = motion_set(train, bundle.config.motion.mel_window).codes.std(axis=0) + 1e-6
    motion = dataclasses.replace(bundle.config.motion, closure_threshold=MotionConfig().closure_threshold)
    notes = {**bundle.notes, "replanned_from": bundle.label,
             "motion_validation": motion_metrics(pred * gain + offset, held, scale)}
    config = dataclasses.replace(bundle.config, motion=motion)
    out = dataclasses.replace(bundle, config=config, gain=gain, offset=offset, notes=notes)
    digest = save_bundle(args.out, out)
    print(f"{bundle.label} -> {args.out} (payload sha256 {digest[:8]}): gain {_rounded(bundle.gain, 2)} -> "
          f"{_rounded(gain, 2)}, offset {_rounded(offset, 3)}, closure threshold {motion.closure_threshold}")


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    return [round(float(v), digits) for v in values]


if __name__ == "__main__":
    main()
