"""`lipsync eval` end to end: every generator on the held-out clips, the render check, the written report."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lipsync_engine.data.cache import CROP_SIZE, cached_clip_ids, load_clips, read_meta
from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.eval.excerpt import cut_excerpt
from lipsync_engine.eval.render_check import check_outside_mask
from lipsync_engine.data.splits import OFFSET_SUSPECT_PREFIXES
from lipsync_engine.eval.report import results_markdown, write_json, write_opening_plot, write_strip, write_text
from lipsync_engine.eval.held_back import footage_profiles, later_part, split_frame
from lipsync_engine.eval.runner import EvalConfig, TakeResult, choose_clips, cross_pairs, evaluate_generator, summarise
from lipsync_engine.faces import FaceLandmarker
from lipsync_engine.generator.base import Generator
from lipsync_engine.generator.identity import IdentityGenerator
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.generator.loader import load_generator
from lipsync_engine.sync.checkpoint import DEFAULT_WEIGHTS, checkpoint_notes, file_sha256, load_sync_expert
from lipsync_engine.sync.validation import validate_expert

BASELINES = ("identity", "mouth_frozen", "vad_control")
RENDER_CHECK_SECONDS = 1.2


@dataclass(frozen=True)
class SuiteConfig:
    """One evaluation run."""

    cache: Path  # dataset cache (lipsync build-dataset)
    out: Path  # report folder: RESULTS.md, results.json, PNGs
    generators: tuple[str, ...] = BASELINES + ("default",)  # names or weights paths, baselines first
    quick: bool = False  # one clip per held-out speaker, 4 s takes
    max_frames: int = 250  # frames per take when not quick
    sync_weights: Path | None = None  # None: the shipped expert
    render_check: bool = True  # also render through render_video and compare pixels outside the mask
    # > 0: a held-back run (eval/held_back.py): profiles from each clip's earlier frames, takes on this share
    held_back: float = 0.0
    # fine-tune minutes of `lipsync adapt` measured as extra rows "<generator>+adapt<minutes>" (held-back runs)
    adapt_minutes: tuple[float, ...] = ()
    provenance: dict[str, str] = field(default_factory=dict)  # machine, commit, command: printed in the report


def run_suite(config: SuiteConfig, log: Callable[[str], None] = print) -> dict:
    """Evaluate every generator, write the report into ``config.out``; returns the results dict."""
    clips = load_clips(config.cache, "val", sync_ready=True)
    if not clips:
        raise InputError(f"no held-out clips in the cache '{config.cache}'; run `lipsync build-dataset` first")
    if config.adapt_minutes and not config.held_back:
        raise InputError("adapted generators are measured on held-back takes (frames adaptation never saw); "
                         "give the held-back share too (`lipsync eval --held-back 0.4 --adapt 3`)")
    expert = load_sync_expert(config.sync_weights)
    eval_config = EvalConfig(max_frames=100 if config.quick else config.max_frames, one_clip_per_speaker=config.quick)
    take_clips = clips
    if config.held_back:
        take_clips = [later_part(c, split_frame(c, config.held_back)) for c in clips]
    config.out.mkdir(parents=True, exist_ok=True)
    takes: dict[str, list[TakeResult]] = {}
    summaries: dict[str, dict[str, float]] = {}
    skipped: dict[str, str] = {}
    checks: dict[str, dict] = {}
    adaptation: dict[str, dict[str, dict]] = {}  # per adapted row, per clip: what adapt_actor reported
    measured_real: dict = {}  # landmarks of the real crops, the same for every generator
    with FaceLandmarker() as landmarker, tempfile.TemporaryDirectory(prefix="lipsync-eval-") as work:
        for name in config.generators:
            try:
                generator = _generator(name)
            except ModelError as exc:
                skipped[name] = str(exc)
                log(f"skip {name}: {exc}")
                continue
            rows = [(name, None)]
            if isinstance(generator, LearnedGenerator):
                rows += [(f"{name}+adapt{minutes:g}", minutes) for minutes in config.adapt_minutes]
            for row, minutes in rows:
                log(f"evaluating {row} ...")
                profiles = None
                if config.held_back:
                    profiles, reports = footage_profiles(generator, choose_clips(clips, eval_config),
                                                         config.held_back, minutes, log)
                    if minutes is not None:
                        adaptation[row] = reports
                takes[row] = evaluate_generator(generator, take_clips, expert, landmarker, eval_config, measured_real,
                                                profiles)
                summaries[row] = summarise(takes[row])
            if config.render_check:
                shot, dub = _render_check_media(clips, Path(work))
                result = check_outside_mask(shot, dub, generator, Path(work) / f"take{len(checks)}")
                checks[name] = result.to_dict()
                log(f"  render check: {checks[name]}")
    if not takes:
        raise ModelError(f"no generator could be evaluated: {skipped}")
    write_strip(takes, "self", config.out / "strip_self.png")
    write_strip(takes, "cross", config.out / "strip_cross.png")
    write_opening_plot(takes, config.out / "mouth_opening.png")
    results = {"summaries": summaries, "skipped": skipped, "render_check": checks,
               "clips": [c.clip_id for c in clips], "quick": config.quick, "frames_per_take": eval_config.max_frames,
               "take_frames": _take_frames(takes),
               "held_back": config.held_back, "adaptation": adaptation,
               "per_take": {n: [{"kind": r.take.kind, "target": r.take.target.clip_id, "driver": r.take.driver.clip_id,
                                 **r.metrics} for r in rs] for n, rs in takes.items()}}
    write_json(results, config.out / "results.json")
    weights = config.sync_weights or DEFAULT_WEIGHTS
    # the expert's held-out check as recorded when it was trained, and again on this run's clips (their
    # recorded audio offsets may have changed since: `lipsync measure-offsets`)
    expert_record = {"file": weights.name, "sha256": file_sha256(weights), **checkpoint_notes(weights),
                     "validation_now": validate_expert(expert, clips)}
    metas = [read_meta(config.cache, c) for c in cached_clip_ids(config.cache)]
    listed = [m for m in metas if not m["appearance_only"]
              and (m.get("av_offset_frames") or m["clip_id"].startswith(OFFSET_SUSPECT_PREFIXES))]
    offsets = {m["clip_id"]: (m.get("av_offset_frames"), m.get("av_offset_confidence")) for m in listed}
    history = Path("eval", "HISTORY.md")  # the repository's, when run from its root as documented
    link = os.path.relpath(history, config.out) if history.is_file() else None
    write_text(results_markdown(config.provenance, results, expert_record, offsets, link), config.out / "RESULTS.md")
    return results


def _take_frames(takes: dict[str, list]) -> list[int]:
    """[shortest, longest] take in frames: clips shorter than the cap, and held-back takes, run fewer."""
    lengths = [len(r.take.frames) for rs in takes.values() for r in rs]
    return [min(lengths), max(lengths)]


def _generator(name: str) -> Generator:
    """The named generator; identity works at the cache's crop size so it reproduces the crops exactly."""
    return IdentityGenerator(CROP_SIZE) if name == "identity" else load_generator(name)


def _render_check_media(clips: list, work: Path) -> tuple[Path, Path]:
    """A lossless RGB excerpt of the first clip and another speaker's dub, cut once into ``work``."""
    shot, dub = work / "shot.mkv", work / "dub.mp4"
    if not shot.is_file():
        target, driver = cross_pairs(clips)[0]
        cut_excerpt(target.meta["source_path"], shot, RENDER_CHECK_SECONDS, "ffv1_rgb")
        cut_excerpt(driver.meta["source_path"], dub, RENDER_CHECK_SECONDS)
    return shot, dub
