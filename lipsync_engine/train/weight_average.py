"""Average the renderers of several weights files (a "model soup") into one weights file.

Renderer runs fine-tuned from one checkpoint stay near one another, and the mean of their weights scored
better than each of them (crop-level PSNR 29.32 dB against 29.01-29.15): the shipped renderer is the mean
of five runs continued from one checkpoint, +0.12 dB self PSNR with less flicker and a smaller seam than
the run it replaced, for 0.004 of cross-dub sync confidence (docs/model.md, design comparison 15).
Nothing guarantees that for runs from unrelated starts, so the eval, not this module, decides whether an
average ships. The audio-to-motion network, mouth code, gain and offset are the first file's: the renderer
reads mouth shapes, not codes, so it does not depend on them. The written file carries its own crop-level
validation numbers, measured as `lipsync train` measures its weights.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from lipsync_engine.errors import InputError
from lipsync_engine.model.bundle import GeneratorBundle, load_bundle, save_bundle
from lipsync_engine.model.renderer import build_renderer
from lipsync_engine.train.clips import load_train_clips
from lipsync_engine.train.run import machine, measure_validation


def average_renderers(paths: list[Path]) -> GeneratorBundle:
    """The first file's generator with its renderer replaced by the mean of every file's renderer.

    InputError when fewer than two files are named or their renderers differ in shape or settings."""
    if len(paths) < 2:
        raise InputError("averaging needs two or more weights files; name every run to average")
    bundles = [load_bundle(path) for path in paths]
    first = bundles[0]
    for path, bundle in zip(paths[1:], bundles[1:]):
        if bundle.config.renderer != first.config.renderer:
            raise InputError(f"'{path}' has another renderer ({bundle.config.renderer}) than '{paths[0]}' "
                             f"({first.config.renderer}); average only runs of one renderer design")
    states = [bundle.renderer.state_dict() for bundle in bundles]
    mean = {key: torch.stack([state[key].float() for state in states]).mean(0).to(states[0][key].dtype)
            for key in states[0]}
    renderer = build_renderer(first.config.renderer)
    renderer.load_state_dict(mean)
    notes = {
        "renderer_average_of": [bundle.label for bundle in bundles],
        "motion_from": first.label,
        "averaged_notes": [bundle.notes for bundle in bundles],
    }
    return dataclasses.replace(first, renderer=renderer.eval(), notes=notes, sha256="")


def write_average(paths: list[Path], out: Path, cache: Path, log=print) -> GeneratorBundle:
    """Average ``paths``' renderers, measure the result on ``cache``'s validation clips and write it to
    ``out`` atomically; returns the written generator (its ``sha256`` set)."""
    bundle = average_renderers(paths)
    bundle.notes.update(measure_validation(bundle, load_train_clips(cache, "val"), None, log), machine=machine())
    bundle.sha256 = save_bundle(out, bundle)
    return bundle
