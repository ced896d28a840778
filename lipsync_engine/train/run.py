"""`lipsync train`: reproduce the default generator weights from the dataset cache.

Stages: fit the mouth-code basis and train audio-to-motion (about a minute), train the renderer for a
time budget (resumable checkpoint in ``work``), measure crop-level PSNR, sync and sharpness on the
validation speakers, and write the fp16 weights file with its config and the measured numbers in the metadata.
"""
from __future__ import annotations

import dataclasses
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lipsync_engine.errors import InputError
from lipsync_engine.generator.learned import LearnedGenerator, weights_path
from lipsync_engine.media.atomic import atomic_path
from lipsync_engine.model.bundle import GeneratorBundle, load_bundle, save_bundle
from lipsync_engine.model.config import GeneratorConfig
from lipsync_engine.model.renderer import build_renderer
from lipsync_engine.train.clips import TrainClip, load_train_clips
from lipsync_engine.sync.checkpoint import load_sync_expert
from lipsync_engine.train.crop_eval import evaluate, evaluate_sync
from lipsync_engine.train.motion_training import MotionTrainConfig, train_motion
from lipsync_engine.train.renderer_training import RendererTrainConfig, train_renderer
from lipsync_engine.train.sampling import PairSampler, SamplingConfig


@dataclass(frozen=True)
class TrainRun:
    """One reproducible training run."""

    cache: Path  # dataset cache (lipsync build-dataset)
    out: Path  # weights file to write
    work: Path  # checkpoints live here; a rerun resumes
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    motion: MotionTrainConfig = field(default_factory=MotionTrainConfig)
    renderer: RendererTrainConfig = field(default_factory=RendererTrainConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    threads: int = 1  # torch threads: the dev box is shared
    # weights file ("default" = the shipped one) whose renderer a fresh run starts from (a fine-tune); the
    # renderer's shape must match ``generator.renderer``. A checkpoint in ``work`` wins over it.
    init: str | None = None
    # refit only the mouth code, audio-to-motion and its calibration; the renderer is ``init``'s, unchanged (its
    # config and training notes too), so no renderer minutes are spent and no checkpoint is read or written
    motion_only: bool = False


def run_training(run: TrainRun, log=print) -> dict:
    """Run every stage; returns the notes stored in the weights file (timings, metrics, machine)."""
    if run.motion_only and not run.init:
        raise InputError("a motion-only run keeps the renderer of --init; name the weights, e.g. --init default")
    torch.set_num_threads(run.threads)
    began = time.time()
    train, val = load_train_clips(run.cache, "train"), load_train_clips(run.cache, "val")
    log(f"{len(train)} training clips ({sum(len(c.frames) for c in train)} frames), {len(val)} validation clips")
    # every --init check comes before the minutes of motion fit, so a wrong file fails at once
    checkpoint, init_state = run.work / "renderer.pt", None
    if run.motion_only:
        kept = _load_init(run.init)
        generator = dataclasses.replace(run.generator, renderer=kept.config.renderer)
        lineage = {"renderer_init": run.init, "renderer_init_label": kept.label}
    else:
        generator = run.generator
        if not checkpoint.is_file():
            init_state, init_label = _init_state(run.init, generator) if run.init else (None, None)
            _record_lineage(run.work, {"renderer_init": run.init, "renderer_init_label": init_label})
        lineage = _read_lineage(run.work)
    fit = train_motion(train, val, generator.motion, run.motion, log)
    if run.motion_only:
        renderer, renderer_stats = kept.renderer, {**kept.notes.get("renderer", {}), "kept_from": kept.label}
        log(f"renderer kept from {run.init} ({kept.label})")
    else:
        renderer = build_renderer(generator.renderer)
        if init_state is not None:
            renderer.load_state_dict(init_state)
            log(f"renderer starts from {run.init}")
        sampler = PairSampler(train, fit.basis, generator.renderer, run.sampling)
        renderer_stats = train_renderer(renderer, sampler, run.renderer, checkpoint, log)
    bundle = GeneratorBundle(config=generator, renderer=renderer.eval(), motion=fit.network.eval(), basis=fit.basis,
                             gain=fit.gain, offset=fit.offset)
    validation = measure_validation(bundle, val, run.renderer.sync_expert, log)
    bundle.notes = {
        "trained_on": f"{run.cache} (train split)",
        "machine": machine(),
        "minutes_total": round((time.time() - began) / 60, 1),
        **lineage,
        "motion_only": run.motion_only,
        "renderer": {k: round(v, 5) if isinstance(v, float) else v for k, v in renderer_stats.items()},
        "motion_validation": fit.metrics,
        **validation,
        "train_config": json.loads(json.dumps(
            {"motion": asdict(run.motion), "renderer": asdict(run.renderer), "sampling": asdict(run.sampling)})),
        "params": {"renderer": _params(renderer), "motion": _params(fit.network)},
    }
    digest = save_bundle(run.out, bundle)
    log(f"wrote {run.out} (payload sha256 {digest[:16]}..., {run.out.stat().st_size / 1e6:.1f} MB)")
    return bundle.notes


def measure_validation(bundle: GeneratorBundle, val: list[TrainClip], sync_expert: str | None, log=print) -> dict:
    """The crop-level numbers a weights file carries in its notes: PSNR by design (``crop_psnr_validation``),
    and the sync expert's confidence and the sharpness on the validation clips (``crop_sync_validation``)."""
    generator = LearnedGenerator(bundle)
    crop_metrics = evaluate(generator, val)
    log(f"validation crop PSNR: {json.dumps(crop_metrics['mean'])}")
    sync_metrics = evaluate_sync(generator, val, load_sync_expert(sync_expert))
    log(f"validation sync and sharpness (own codes): {json.dumps(sync_metrics['mean'])}")
    return {"crop_psnr_validation": crop_metrics["mean"], "crop_sync_validation": sync_metrics["mean"]}


def machine() -> str:
    """The machine a measure ran on, as weights notes record it."""
    return f"{platform.machine()} CPU, {torch.get_num_threads()} torch thread(s)"


def _load_init(name: str) -> GeneratorBundle:
    return load_bundle(weights_path(name))


def _init_state(name: str, generator: GeneratorConfig) -> tuple[dict[str, torch.Tensor], str]:
    """The renderer state of weights file ``name`` and that file's label; InputError when its renderer has
    another shape."""
    bundle = _load_init(name)
    state = bundle.renderer.state_dict()
    try:
        build_renderer(generator.renderer).load_state_dict(state)
    except RuntimeError:
        raise InputError(f"--init '{name}' has a renderer of another shape ({bundle.config.renderer}); "
                         "train from scratch instead") from None
    return state, bundle.label


# What the renderer checkpoint in a work folder started from, written when a fresh run starts it: a resumed
# run's notes name the --init of the run that began the checkpoint, not the resuming command's.
LINEAGE_FILE = "renderer_init.json"


def _record_lineage(work: Path, lineage: dict) -> None:
    work.mkdir(parents=True, exist_ok=True)
    with atomic_path(work / LINEAGE_FILE) as temp:
        temp.write_text(json.dumps(lineage))


def _read_lineage(work: Path) -> dict:
    """The recorded start of ``work``'s checkpoint; a checkpoint from before the record, or one copied in
    without it, reads as unknown."""
    path = work / LINEAGE_FILE
    if path.is_file():
        return json.loads(path.read_text())
    return {"renderer_init": "unknown: the checkpoint in the work folder has no record of its start",
            "renderer_init_label": None}


def _params(module: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def per_clip_table(metrics: dict) -> str:
    """Plain-text table of per-clip PSNRs for docs."""
    rows = [f"{clip:28s} " + " ".join(f"{v['psnr_mask']:6.2f}" for v in designs.values())
            for clip, designs in metrics["clips"].items()]
    return "\n".join(rows) + f"\nmean {np.round([v['psnr_mask'] for v in metrics['mean'].values()], 2)}"
