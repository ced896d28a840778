"""`lipsync train` (reproduce the default generator weights) and `lipsync adapt` (an actor profile)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="train the generator from the dataset cache",
        description="Fit the mouth code, train audio-to-motion and the renderer (time-boxed, resumable), measure "
                    "on the validation speakers and write fp16 weights. Build the cache first with "
                    "`lipsync build-dataset`.",
    )
    train.add_argument("--cache", default=".cache/dataset", help="dataset cache (default: %(default)s)")
    train.add_argument("--out", default="generator.safetensors", help="weights file to write (default: %(default)s)")
    train.add_argument("--work", default=".cache/train", help="checkpoint folder; a rerun resumes (default: %(default)s)")
    train.add_argument("--minutes", type=float, default=20.0, help="renderer training budget (default: %(default)s)")
    train.add_argument("--motion-steps", type=int, default=1250, help="audio-to-motion steps (default: %(default)s)")
    train.add_argument("--threads", type=int, default=1, help="torch threads (default: %(default)s)")
    train.add_argument("--mask-below", type=float, default=0.06,
                       help="repaint mask growth below the jaw, fraction of the crop; stored in the weights "
                            "and used at run time too (default: %(default)s)")
    train.add_argument("--mask-jaw-trim", type=int, default=0,
                       help="jaw points left out of the repaint mask at each end of the jaw line, so it stops "
                            "short of the face's outline; stored in the weights and used at run time too "
                            "(default: %(default)s)")
    train.add_argument("--warp-reference", action="store_true",
                       help="warp each reference onto the target's head and wanted mouth before the renderer "
                            "sees it; stored in the weights and used at run time too")
    train.add_argument("--mask-decoy", type=float, default=0.0,
                       help="share of training samples whose repaint mask also covers a random other frame's "
                            "mouth, as a wanted mouth unlike the frame's own widens it at run time; training "
                            "only (default: %(default)s)")
    train.add_argument("--init", metavar="WEIGHTS", default=None,
                       help="start the renderer from this weights file ('default' = the shipped one) instead of "
                            "from scratch; ignored when --work already holds a checkpoint")
    train.add_argument("--motion-only", action="store_true",
                       help="refit only the mouth code, audio-to-motion and its calibration, keeping the renderer of "
                            "--init (and its mask settings) unchanged: no renderer minutes")
    _renderer_loss_flags(train)
    train.set_defaults(handler=_train)

    average = subparsers.add_parser(
        "average-weights", help="average the renderers of several training runs into one weights file",
        description="Write a weights file whose renderer is the mean of the named files' renderers (runs "
                    "fine-tuned from one start, e.g. one checkpoint resumed at two learning rates) and whose "
                    "audio-to-motion is the first file's. Measure it with `lipsync eval` before shipping it.",
    )
    average.add_argument("weights", nargs="+", help="weights files (.safetensors) of runs of one renderer design")
    average.add_argument("--out", required=True, help="weights file to write")
    average.add_argument("--cache", default=".cache/dataset",
                         help="dataset cache whose validation clips measure the result (default: %(default)s)")
    average.set_defaults(handler=_average)

    adapt = subparsers.add_parser(
        "adapt", help="build an actor profile from the actor's own footage",
        description="Track the actor's face in their original footage, index their mouths by shape for retrieval "
                    "and optionally fine-tune the renderer on them (kept only if it measures better on held-back "
                    "frames). Use the profile with `lipsync render --actor`.",
    )
    adapt.add_argument("--video", required=True, help="the actor's original footage (with its own audio)")
    adapt.add_argument("--out", required=True, help="actor profile to write, e.g. actor.lsprofile")
    adapt.add_argument("--weights", default="default", help="generator weights: 'default' or a .safetensors path")
    adapt.add_argument("--finetune-minutes", type=float, default=0.0,
                       help="fine-tune the renderer on the actor for this long (default: %(default)s = no); 3 "
                            "minutes gave a sharper mouth and a cleaner seam, not better sync, and a little "
                            "more flicker (docs/model.md, design comparison 11)")
    adapt.add_argument("--max-frames", type=int, default=1500, help="footage frames used (default: %(default)s)")
    adapt.set_defaults(handler=_adapt)


# Renderer settings reachable from `lipsync train`: flag -> (RendererTrainConfig field, type, help). Unset
# flags keep the config's defaults (the shipped run's, docs/model.md); torch is not imported to show them.
_RENDERER_FLAGS = {
    "--lr": ("lr", float, "renderer learning rate (a resumed run switches to it)"),
    "--sync-weight": ("sync_weight", float, "weight of the sync expert's loss (0 = off)"),
    "--sync-windows": ("sync_windows", int, "5-frame windows per step for the sync loss"),
    "--gan-weight": ("gan_weight", float, "weight of the patch-GAN hinge loss (0 = off)"),
    "--feature-match-weight": ("feature_match_weight", float, "weight of the discriminator feature-matching loss"),
    "--disc-lr": ("disc_lr", float, "discriminator learning rate"),
    "--disc-pretrain-steps": ("disc_pretrain_steps", int, "discriminator-only steps before its losses reach the renderer"),
}


def _renderer_loss_flags(parser: argparse.ArgumentParser) -> None:
    for flag, (field, kind, text) in _RENDERER_FLAGS.items():
        parser.add_argument(flag, dest=field, type=kind, default=argparse.SUPPRESS,
                            help=f"{text} (default: RendererTrainConfig's)")


def _train(args: argparse.Namespace) -> int:
    from lipsync_engine.errors import InputError
    from lipsync_engine.model.config import GeneratorConfig, RendererConfig
    from lipsync_engine.train.motion_training import MotionTrainConfig
    from lipsync_engine.train.renderer_training import RendererTrainConfig
    from lipsync_engine.train.run import TrainRun, run_training
    from lipsync_engine.train.sampling import SamplingConfig

    if args.minutes <= 0 or args.motion_steps < 1 or args.threads < 1 or not 0 <= args.mask_decoy <= 1:
        raise InputError("--minutes must be > 0, --motion-steps and --threads >= 1, --mask-decoy in [0, 1]")
    generator = GeneratorConfig(renderer=RendererConfig(mask_below=args.mask_below, mask_jaw_trim=args.mask_jaw_trim,
                                                        warp_reference=args.warp_reference))
    try:
        generator.renderer.check()
    except ValueError as exc:
        raise InputError(f"--mask-below / --mask-jaw-trim: {exc}") from None
    losses = {field: getattr(args, field) for field, _, _ in _RENDERER_FLAGS.values() if hasattr(args, field)}
    if any(v < 0 for v in losses.values()) or losses.get("lr", 1.0) <= 0 or losses.get("sync_windows", 1) < 1:
        raise InputError("--lr must be > 0, --sync-windows >= 1, loss weights and step counts >= 0")
    run = TrainRun(cache=Path(args.cache), out=Path(args.out), work=Path(args.work), threads=args.threads, init=args.init,
                   motion_only=args.motion_only, generator=generator, motion=MotionTrainConfig(steps=args.motion_steps),
                   renderer=RendererTrainConfig(minutes=args.minutes, **losses),
                   sampling=SamplingConfig(mask_decoy=args.mask_decoy))
    notes = run_training(run, log=lambda line: print(line, flush=True))
    print(json.dumps(notes["crop_psnr_validation"], indent=1))
    return 0


def _average(args: argparse.Namespace) -> int:
    from lipsync_engine.train.weight_average import write_average

    bundle = write_average([Path(path) for path in args.weights], Path(args.out), Path(args.cache),
                           log=lambda line: print(line, flush=True))
    print(f"wrote {args.out} ({bundle.label}): renderer averaged over "
          f"{', '.join(bundle.notes['renderer_average_of'])}")
    return 0


def _adapt(args: argparse.Namespace) -> int:
    from lipsync_engine.errors import InputError, ModelError
    from lipsync_engine.generator.learned import LearnedGenerator, load_learned
    from lipsync_engine.train.adapt import AdaptConfig, adapt_actor, footage_samples

    if args.finetune_minutes < 0 or args.max_frames < 1:
        raise InputError("--finetune-minutes must be >= 0 and --max-frames >= 1")
    generator = load_learned(args.weights, backend="torch")
    if not isinstance(generator, LearnedGenerator):
        raise ModelError(f"'{args.weights}' is not a learned generator")
    config = AdaptConfig(max_frames=args.max_frames, finetune_minutes=args.finetune_minutes)
    samples = footage_samples(args.video, generator.crop_size, config.max_frames)
    profile, report = adapt_actor(generator, samples, config, source=str(args.video),
                                  work=Path(args.out).resolve().parent)
    digest = generator.save_profile(profile, args.out)
    print(json.dumps({**report, "profile": str(args.out), "sha256": digest}, indent=1))
    return 0
