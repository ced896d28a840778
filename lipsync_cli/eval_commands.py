"""`lipsync build-dataset`, `lipsync train-sync`, `lipsync eval`, `lipsync eval-diff`: data cache, sync expert
and evaluation."""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DATA = "../shared/data"
DEFAULT_CACHE = ".cache/dataset"


def register(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser(
        "build-dataset", help="cache aligned faces, landmarks and speech of the training/eval clips",
        description="Decode each clip once into the dataset cache (reused across runs; see lipsync_engine.data.cache).",
    )
    build.add_argument("--data", default=DEFAULT_DATA, help="shared data folder with clips/, grid_s1/, unverified/")
    build.add_argument("--add", metavar="FOLDER", action="append", default=[],
                       help="also cache your own footage: every video under FOLDER (repeatable)")
    build.add_argument("--speaker", help="speaker id of the --add footage (default: each video's folder name)")
    build.add_argument("--no-shared", action="store_true", help="cache only the --add footage")
    build.add_argument("--cache", default=DEFAULT_CACHE, help="cache folder (default: %(default)s)")
    build.add_argument("--rebuild", action="store_true", help="rebuild clips even when already cached")
    build.set_defaults(handler=_build_dataset)
    _register_train_sync(subparsers)
    _register_measure_offsets(subparsers)
    _register_eval(subparsers)
    _register_eval_diff(subparsers)


def _build_dataset(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from lipsync_engine.data.builder import build_cache
    from lipsync_engine.data.splits import folder_sources, shared_data_sources

    sources = [] if args.no_shared else shared_data_sources(args.data)
    for folder in args.add:
        sources += folder_sources(folder, args.speaker)
    bar = tqdm(total=len(sources), unit="clip", desc="build-dataset")

    def progress(clip_id: str, done: int, total: int) -> None:
        bar.n = done
        bar.set_postfix_str(clip_id)
        bar.refresh()

    index = build_cache(sources, Path(args.cache), rebuild=args.rebuild, progress=progress)
    bar.n = len(sources)
    bar.close()
    clips = index["clips"].values()
    for split in ("train", "val"):
        chosen = [c for c in clips if c["split"] == split]
        print(f"{split}: {len(chosen)} clips, {sum(c['n_frames'] for c in chosen)} frames, "
              f"{len({c['speaker_id'] for c in chosen})} speakers")
    print(f"cache: {Path(args.cache).resolve()}")
    return 0


def _register_train_sync(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train-sync", help="train the SyncNet-style sync expert on the dataset cache",
        description="Train the sync expert on training speakers, report it on validation speakers, save fp16 "
                    "weights, and record the measured audio offset of offset-suspect clips in the cache.",
    )
    train.add_argument("--cache", default=DEFAULT_CACHE, help="dataset cache (default: %(default)s)")
    train.add_argument("--out", help="weights file (default: the shipped lipsync_engine/weights/sync_expert.safetensors)")
    train.add_argument("--steps", type=int, default=3000, help="optimiser steps (default: %(default)s)")
    train.add_argument("--minutes", type=float, default=25.0, help="stop after this much wall time (default: %(default)s)")
    train.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    train.add_argument("--no-offsets", action="store_true", help="do not measure/record offsets of suspect clips")
    train.set_defaults(handler=_train_sync)


def _train_sync(args: argparse.Namespace) -> int:
    import time

    from lipsync_engine.data import load_clips
    from lipsync_engine.data.splits import OFFSET_SUSPECT_PREFIXES
    from lipsync_engine.sync.checkpoint import DEFAULT_WEIGHTS, save_sync_expert
    from lipsync_engine.sync.offsets import record_offsets
    from lipsync_engine.sync.train import TrainSyncConfig, train_sync_expert
    from lipsync_engine.sync.validation import validate_expert

    train_clips = load_clips(args.cache, "train", sync_ready=True)
    val_clips = load_clips(args.cache, "val", sync_ready=True)
    config = TrainSyncConfig(steps=args.steps, max_minutes=args.minutes, threads=args.threads)
    print(f"training on {len(train_clips)} clips ({sum(c.n_frames for c in train_clips)} frames), "
          f"validating on {len(val_clips)} clips of {len({c.speaker_id for c in val_clips})} held-out speakers")
    started, losses = time.monotonic(), []

    def on_step(step: int, loss: float, model) -> None:
        losses.append(loss)
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}/{config.steps} loss {sum(losses[-100:]) / 100:.3f} "
                  f"{time.monotonic() - started:.0f}s", flush=True)

    scores: list[float] = []

    def select(model) -> float:
        """Model selection on the held-out speakers: offset accuracy, then the in-sync/shifted gap."""
        found = validate_expert(model, val_clips)
        print("  val:", _format(found), flush=True)
        scores.append(found["segment_accuracy"] + found["clip_accuracy"] + found["gap_shifted"])
        return scores[-1]

    model = train_sync_expert(train_clips, config, on_step=on_step, select=select)
    report = validate_expert(model, val_clips)
    print("validation (selected weights):", _format(report))
    notes = {"steps": len(losses), "minutes": round((time.monotonic() - started) / 60, 1),
             "train_clips": len(train_clips), "val_clips": len(val_clips), "validation": report,
             "selected_step": (scores.index(max(scores)) + 1) * config.select_every if scores else None}
    out = args.out or DEFAULT_WEIGHTS
    digest = save_sync_expert(model, out, notes)
    print(f"saved {out} sha256 {digest}")
    if not args.no_offsets:
        suspects = [c for c in load_clips(args.cache) if c.clip_id.startswith(OFFSET_SUSPECT_PREFIXES)
                    and not c.meta["appearance_only"]]
        kept = {c.clip_id for c in suspects if c.meta.get("av_offset_method")}
        for clip_id, found in record_offsets(model, args.cache, suspects).items():
            print(f"offset {clip_id}: {found.offset:+d} frames (confidence {found.confidence:.3f})"
                  + (" (kept the offset `lipsync measure-offsets` recorded)" if clip_id in kept else ""))
    return 0


def _register_measure_offsets(subparsers: argparse._SubParsersAction) -> None:
    offsets = subparsers.add_parser(
        "measure-offsets", help="measure the audio-video offset of cached clips and record the clear ones",
        description="Slide each clip's audio against its picture and correlate the mouth opening the "
                    "audio-to-motion network predicts with the landmarks' own; record the offset of "
                    "offset-suspect clips (edtalk_/styletalk_) with a clear peak, and of other clips only where "
                    "it is 2 frames or more and the sync expert agrees (lipsync_engine/train/av_offsets.py).",
    )
    offsets.add_argument("--cache", default=DEFAULT_CACHE, help="dataset cache (default: %(default)s)")
    offsets.add_argument("--weights", default="default", help="generator weights whose motion network measures "
                                                              "(default: the shipped ones)")
    offsets.add_argument("--sync-weights", help="sync expert weights (default: the shipped ones)")
    offsets.set_defaults(handler=_measure_offsets)


def _measure_offsets(args: argparse.Namespace) -> int:
    from lipsync_engine.generator.learned import weights_path
    from lipsync_engine.model.bundle import load_bundle
    from lipsync_engine.sync.checkpoint import load_sync_expert
    from lipsync_engine.train.av_offsets import record_offsets
    from lipsync_engine.train.clips import load_train_clips

    bundle = load_bundle(weights_path(args.weights))
    expert = load_sync_expert(Path(args.sync_weights) if args.sync_weights else None)
    clips = [c for c in load_train_clips(args.cache, None) if not c.clip.meta["appearance_only"]]
    found = record_offsets(args.cache, clips, bundle, expert, log=lambda line: print(line, flush=True))
    recorded = [f for f in found if f.recorded is not None]
    print(f"{len(found)} clips measured, offsets recorded for {len(recorded)}: "
          + ", ".join(f"{f.clip_id} {f.recorded:+d}" for f in recorded))
    return 0


def _format(report: dict) -> str:
    return " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in report.items())


def _register_eval(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "eval", help="evaluate generators on held-out speakers and write the report",
        description="Self-reconstruction and cross-dub on held-out clips for each generator (baselines bracket "
                    "the models), a render check of pixels outside the mask, and a markdown/PNG report.",
    )
    run.add_argument("--generator", action="append", metavar="NAME_OR_PATH",
                     help="identity, mouth_frozen, vad_control, default, or a weights path (repeatable; "
                          "default: the three baselines and default)")
    run.add_argument("--cache", default=DEFAULT_CACHE, help="dataset cache (default: %(default)s)")
    run.add_argument("--out", default="eval", help="report folder (default: %(default)s)")
    run.add_argument("--quick", action="store_true", help="one clip per speaker, 4 s takes (a few minutes on CPU)")
    run.add_argument("--frames", type=int, default=250, help="frames per take in a full run (default: %(default)s)")
    run.add_argument("--sync-weights", help="sync expert weights (default: the shipped ones)")
    run.add_argument("--no-render-check", action="store_true", help="skip the render_video pixel check")
    run.add_argument("--held-back", type=float, metavar="SHARE",
                     help="a held-back run: profiles from each clip's earlier frames, takes on its last SHARE "
                          "(e.g. 0.4; default with --adapt: 0.4)")
    run.add_argument("--adapt", type=float, action="append", metavar="MINUTES",
                     help="also measure each learned generator adapted to every clip's footage part by "
                          "`lipsync adapt --finetune-minutes MINUTES` (repeatable; 0: reference index only)")
    run.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    import os
    import platform
    import subprocess
    import sys

    import torch

    from lipsync_engine.eval.suite import BASELINES, SuiteConfig, run_suite
    from lipsync_engine.generator.learned import DEFAULT_WEIGHTS
    from lipsync_engine.model.bundle import load_bundle

    torch.set_num_threads(1)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    provenance = {
        "machine": f"{os.cpu_count()}-core {platform.machine()} CPU, {torch.get_num_threads()} torch thread, "
                   f"Python {platform.python_version()}, torch {torch.__version__}",
        "commit": commit or "unknown",
        "command": "lipsync " + " ".join(sys.argv[1:]),
        "default weights": load_bundle(DEFAULT_WEIGHTS).label,
    }
    config = SuiteConfig(
        cache=Path(args.cache), out=Path(args.out), quick=args.quick, max_frames=args.frames,
        generators=tuple(args.generator or (*BASELINES, "default")),
        sync_weights=Path(args.sync_weights) if args.sync_weights else None,
        render_check=not args.no_render_check, provenance=provenance,
        held_back=args.held_back if args.held_back is not None else (0.4 if args.adapt else 0.0),
        adapt_minutes=tuple(args.adapt or ()),
    )
    results = run_suite(config)
    for name, summary in results["summaries"].items():
        print(f"{name}: self PSNR {summary.get('self_psnr_mouth', float('nan')):.1f} dB, cross sync score "
              f"{summary.get('cross_sync_score', float('nan')):.3f}, conf {summary.get('cross_sync_conf', float('nan')):.3f}, "
              f"seam step {summary.get('cross_seam_step', float('nan')):.1f}, lift shift "
              f"{summary.get('cross_lift_shift_abs_pct', float('nan')):.2f}% eye")
    print(f"report: {Path(args.out) / 'RESULTS.md'}")
    return 0


def _register_eval_diff(subparsers: argparse._SubParsersAction) -> None:
    diff = subparsers.add_parser(
        "eval-diff", help="compare two evaluations take for take, with intervals",
        description="Paired differences (after - before) of every measure over the takes two `lipsync eval` "
                    "runs share, with 95% bootstrap intervals; 'sure' marks those whose interval leaves 0 out.",
    )
    diff.add_argument("before", help="results.json of the earlier run, or its report folder")
    diff.add_argument("after", help="results.json of the later run, or its report folder")
    diff.add_argument("--generator", default="default", help="generator compared (default: %(default)s)")
    diff.add_argument("--after-generator", help="generator of the later run, if named otherwise (e.g. a weights path)")
    diff.set_defaults(handler=_eval_diff)


def _eval_diff(args: argparse.Namespace) -> int:
    from lipsync_engine.errors import InputError
    from lipsync_engine.eval.report import difference_table
    from lipsync_engine.eval.uncertainty import paired_differences

    before, before_frames, before_held = _takes(Path(args.before), args.generator)
    after, after_frames, after_held = _takes(Path(args.after), args.after_generator or args.generator)
    if before_frames != after_frames:
        raise InputError(f"the runs cut takes of different lengths ({before_frames} and {after_frames} frames), so "
                         "their takes differ; compare a quick run with a quick run, a full one with a full one")
    if before_held != after_held:
        raise InputError(f"the runs held back different shares of each clip ({before_held:g} and {after_held:g}; 0 "
                         "is a standard run), so their takes differ; compare runs made with the same --held-back")
    after_name = args.after_generator or args.generator
    names = (args.generator, after_name) if after_name != args.generator else ("before", "after")
    print(difference_table(paired_differences(before, after), *names))
    return 0


def _takes(path: Path, generator: str) -> tuple[list[dict], int, float]:
    """The per-take rows of ``generator`` in an eval's results.json (or the folder holding it), its take length
    and held-back share (0: a standard run)."""
    import json

    from lipsync_engine.errors import InputError

    file = path / "results.json" if path.is_dir() else path
    try:
        results = json.loads(file.read_text())
        runs, frames = results["per_take"], int(results["frames_per_take"])
    except FileNotFoundError:
        raise InputError(f"no evaluation results at '{file}'; write them with `lipsync eval --out FOLDER`") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"'{file}' is not a results.json written by `lipsync eval` ({exc})") from None
    if generator not in runs:
        raise InputError(f"'{file}' has no generator '{generator}'; it has: {', '.join(runs)}")
    return runs[generator], frames, float(results.get("held_back") or 0.0)
