"""The evaluation report: markdown tables, side-by-side PNG strips and a mouth-opening plot."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from lipsync_engine.eval.runner import TakeResult
from lipsync_engine.eval.uncertainty import LEVEL, Interval, intervals

STRIP_FRAMES = 6  # frames per strip row
STRIP_REGION = (0.40, 0.95, 0.15, 0.85)  # top, bottom, left, right of the crop shown (the lower face)
STRIP_WIDTH = 72  # pixels per frame in the strips
# (column title, summary key, format) per table.
SELF_COLUMNS = [
    ("PSNR mouth dB", "self_psnr_mouth", "{:.1f}"), ("SSIM mouth", "self_ssim_mouth", "{:.3f}"),
    ("lip dist % eye", "self_lip_dist_pct", "{:.2f}"), ("opening corr", "self_open_corr", "{:.2f}"),
    ("sync score", "self_sync_score", "{:.3f}"), ("sync conf", "self_sync_conf", "{:.3f}"),
    ("offset within 1", "self_sync_within_1", "{:.0%}"), ("flicker ratio", "self_flicker_ratio", "{:.2f}"),
]
CROSS_COLUMNS = [
    ("sync score", "cross_sync_score", "{:.3f}"), ("sync conf", "cross_sync_conf", "{:.3f}"),
    ("offset within 1", "cross_sync_within_1", "{:.0%}"), ("opening corr vs speaker", "cross_open_corr", "{:.2f}"),
    ("width corr", "cross_width_corr", "{:.2f}"), ("rounding corr", "cross_rounding_corr", "{:.2f}"),
    ("closure recall", "cross_closure_recall", "{:.2f}"), ("closure precision", "cross_closure_precision", "{:.2f}"),
    ("envelope corr", "cross_env_corr", "{:.2f}"),
    ("flicker ratio", "cross_flicker_ratio", "{:.2f}"), ("lip motion ratio", "cross_motion_ratio", "{:.2f}"),
    ("sharpness ratio", "cross_sharpness_ratio", "{:.2f}"),
]
LOOK_COLUMNS = [
    ("self seam edge ratio", "self_seam_edge_ratio", "{:.2f}"), ("self seam step", "self_seam_step", "{:.1f}"),
    ("cross seam edge ratio", "cross_seam_edge_ratio", "{:.2f}"), ("cross seam step", "cross_seam_step", "{:.1f}"),
    ("self cheek ghost ratio", "self_ghost_ratio", "{:.2f}"), ("cross cheek ghost ratio", "cross_ghost_ratio", "{:.2f}"),
    ("self foreign colours", "self_colour_outliers", "{:.3%}"),
    ("cross foreign colours", "cross_colour_outliers", "{:.3%}"),
    ("self lift err % eye", "self_lift_err_pct", "{:.2f}"), ("self width err % eye", "self_width_err_pct", "{:.2f}"),
    ("cross lift shift % eye", "cross_lift_shift_abs_pct", "{:.2f}"),
    ("(signed)", "cross_lift_shift_pct", "{:+.2f}"),
    ("cross width shift % eye", "cross_width_shift_abs_pct", "{:.2f}"),
    ("(signed)", "cross_width_shift_pct", "{:+.2f}"),
]

# Measures whose spread over takes the report shows (title, summary key, format).
INTERVAL_MEASURES = [
    ("self PSNR mouth dB", "self_psnr_mouth", "{:.2f}"), ("self SSIM mouth", "self_ssim_mouth", "{:.3f}"),
    ("self sync conf", "self_sync_conf", "{:.3f}"), ("cross sync conf", "cross_sync_conf", "{:.3f}"),
    ("cross opening corr", "cross_open_corr", "{:.2f}"), ("cross width corr", "cross_width_corr", "{:.2f}"),
    ("cross rounding corr", "cross_rounding_corr", "{:.2f}"),
    ("cross closure recall", "cross_closure_recall", "{:.2f}"),
    ("cross closure precision", "cross_closure_precision", "{:.2f}"),
    ("cross lip motion ratio", "cross_motion_ratio", "{:.2f}"),
    ("cross sharpness ratio", "cross_sharpness_ratio", "{:.2f}"), ("cross seam step", "cross_seam_step", "{:.1f}"),
]


def markdown_table(summaries: dict[str, dict[str, float]], columns: list[tuple[str, str, str]]) -> str:
    """One row per generator (in the dict's order), one column per measure; NaN shows as '-'."""
    lines = ["| generator | " + " | ".join(c[0] for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for name, summary in summaries.items():
        cells = []
        for _, key, fmt in columns:
            value = summary.get(key, float("nan"))
            cells.append("-" if not np.isfinite(value) else fmt.format(value))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def interval_table(per_take: dict[str, list[dict]], measures: list[tuple[str, str, str]]) -> str:
    """One row per measure, one column per generator: "mean [low, high]", the bootstrap interval over takes."""
    spans = {name: intervals(rows, [key for _, key, _ in measures]) for name, rows in per_take.items()}
    lines = ["| measure | " + " | ".join(spans) + " |", "|---" * (len(spans) + 1) + "|"]
    for title, key, fmt in measures:
        lines.append(f"| {title} | " + " | ".join(_span(spans[name][key], fmt) for name in spans) + " |")
    return "\n".join(lines)


def difference_table(differences: dict[str, Interval], before: str, after: str) -> str:
    """Markdown: every measure's mean paired difference (after - before) over shared takes, its interval,
    and whether the interval leaves 0 out."""
    lines = [f"| measure | {after} - {before} | {LEVEL:.0%} interval | takes | sure |", "|---|---|---|---|---|"]
    for key, d in differences.items():
        span = f"{d.low:+.4g} .. {d.high:+.4g}" if np.isfinite(d.low) else "-"
        lines.append(f"| {key} | {d.mean:+.4g} | {span} | {d.takes} | {'yes' if d.excludes_zero else 'no'} |")
    return "\n".join(lines)


def _span(interval: Interval, fmt: str) -> str:
    if not np.isfinite(interval.mean):
        return "-"
    if not np.isfinite(interval.low):
        return fmt.format(interval.mean)
    return f"{fmt.format(interval.mean)} [{fmt.format(interval.low)}, {fmt.format(interval.high)}]"


def write_strip(results: dict[str, list[TakeResult]], kind: str, path: Path) -> Path:
    """PNG: the first ``kind`` take's real lower faces on top, each generator's below, frames left to right."""
    rows, labels = [], []
    for name, takes in results.items():
        take = next(r.take for r in takes if r.take.kind == kind)
        picks = np.linspace(0, len(take.frames) - 1, STRIP_FRAMES).astype(int)
        if not rows:
            rows.append(take.real[picks])
            labels.append(f"source {take.target.clip_id}")
        rows.append(take.generated[picks])
        labels.append(name)
    image = np.concatenate([np.concatenate([_thumb(c) for c in row], axis=1) for row in rows], axis=0)
    for i, label in enumerate(labels):
        cv2.putText(image, label, (4, i * image.shape[0] // len(rows) + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
    _write_png(path, image)
    return path


def write_opening_plot(results: dict[str, list[TakeResult]], path: Path) -> Path:
    """PNG plot of mouth opening over time for the first self and cross-dub takes: real vs generated vs speech."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), sharex=False)
    for ax, kind in zip(axes, ("self", "cross")):
        first = next(r for r in next(iter(results.values())) if r.take.kind == kind)
        t = np.arange(len(first.take.frames)) / float(first.take.driver.fps)
        energy = first.curves["energy"]
        span = max(float(np.ptp(energy)), 1e-6)
        ax.fill_between(t, 0, 0.5 * (energy - energy.min()) / span, color="0.85", label="speech energy (scaled)")
        reference = "opening_real" if kind == "self" else "opening_driver"
        ax.plot(t, first.curves[reference], "k-", lw=2, label="real mouth on this speech")
        for name, takes in results.items():
            take = next(r for r in takes if r.take.kind == kind)
            ax.plot(t, take.curves["opening_generated"], lw=1, label=name)
        ax.set_title(f"{kind}: {first.take.target.clip_id} driven by {first.take.driver.clip_id}", fontsize=9)
        ax.set_ylabel("lip gap / width")
        ax.legend(fontsize=7, ncol=3, loc="upper right")
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=70)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _take_lengths(results: dict) -> str:
    """The cap on frames per take, and the takes' real range where some ran shorter (results written
    before the range was recorded show the cap alone)."""
    cap, (shortest, longest) = results["frames_per_take"], results.get("take_frames") or [None, None]
    if shortest is None or shortest == longest == cap:
        return str(cap)
    span = str(shortest) if shortest == longest else f"{shortest}-{longest}"
    return f"{span} (cap {cap})"


def results_markdown(provenance: dict[str, str], results: dict, expert: dict,
                     offsets: dict[str, tuple[int | None, float | None]], history: str | None = None) -> str:
    """RESULTS.md: provenance, the two tables, the render check, the sync expert and measured offsets;
    ``history`` is the link to the repository's eval/HISTORY.md from the report's folder (None: named only)."""
    lines = ["# lipsync evaluation results", ""]
    lines += [f"- {k}: {v}" for k, v in provenance.items()]
    lines += [f"- held-out clips ({len(results['clips'])}): {', '.join(results['clips'])}",
              f"- frames per take: {_take_lengths(results)} ({'quick' if results['quick'] else 'full'} run); "
              "sync is scored on speech frames only (audio.voice_activity of the driving speech)",
              "- every measure is taken on the take blended into the real crop as the pipeline blends it "
              "(blend.paste under lower_face_mask); HISTORY.md rows up to commit cce07fe scored the raw "
              "generated crops (only the seam columns were blended)"]
    held_back = results.get("held_back") or 0.0
    if held_back:
        lines.append(f"- **held-back run**: each clip's profile (and any adaptation) comes from its first "
                     f"{1 - held_back:.0%} of frames, the takes run on its last {held_back:.0%} "
                     "(lipsync_engine/eval/held_back.py): no frame measured was seen; not comparable with "
                     "standard runs, whose profiles are spread over the whole clip")
    lines += ["",
              "## Self-reconstruction (clip's own audio drives its own frames)", "",
              markdown_table(results["summaries"], SELF_COLUMNS), "",
              "## Cross-dub (clip driven by another held-out speaker's speech)", "",
              "Correlations compare the generated mouth with the real mouth of the speaker whose speech drives "
              "the take; closure recall is the share of that speaker's lip closures during speech (p/b/m) "
              "the generated mouth also closes on, closure precision the share of the generated mouth's closures during "
              "speech that fall on the speaker's; ratios compare with the target's own real footage (1 = natural).",
              "", markdown_table(results["summaries"], CROSS_COLUMNS), "",
              "## Seam and expression (the take blended as the pipeline does; landmarks re-measured on the crops)", "",
              "Seam edge ratio: gradient of the blended take along the blend mask's soft edge over the source's "
              "(1 = no added edge); seam step: colour jump across that edge in RGB levels (0 = none); cheek ghost "
              "ratio: the same added gradient on the cheeks inside the mask, away from lips and jaw line (a "
              "reference's silhouette or collar painted onto the cheek). Lift: "
              "mouth-corner height above the lip line; width: corner distance; both in % of eye distance. "
              "Self: frame-for-frame error against the real frames; cross: shift of the take's mean from the "
              "target's own real frames, mean of its size over takes and signed mean (+ = more smile, wider).",
              "", markdown_table(results["summaries"], LOOK_COLUMNS), "",
              "## How sure (bootstrap over takes)", "",
              f"Mean over takes and the {LEVEL:.0%} bootstrap interval of that mean (takes resampled; "
              "lipsync_engine/eval/uncertainty.py): the range the mean would move in over other takes like "
              "these. Two generators are compared take for take with `lipsync eval-diff`, whose paired "
              "intervals are narrower.", "", interval_table(results["per_take"], INTERVAL_MEASURES), ""]
    if results["render_check"]:
        lines += ["## Pixels outside the blend mask (render_video on a lossless RGB excerpt)", "",
                  "| generator | frames | edited frames | changed px outside | max diff outside | passed |",
                  "|---|---|---|---|---|---|"]
        for name, c in results["render_check"].items():
            lines.append(f"| {name} | {c['frames']} | {c['edited_frames']} | {c['changed_outside']} | "
                         f"{c['max_diff_outside']} | {'yes' if c['passed'] else 'NO'} |")
        lines.append("")
    lines += [f"- skipped `{name}`: {reason}" for name, reason in results["skipped"].items()]
    lines += adaptation_lines(results.get("adaptation") or {})
    validation = expert.get("validation", {})
    lines += ["", "## Sync expert", "",
              f"`{expert['file']}` sha256 `{expert['sha256'][:16]}...`, {expert.get('steps', '?')} steps in "
              f"{expert.get('minutes', '?')} min on {expert.get('train_clips', '?')} training clips. On held-out "
              f"speakers ({validation.get('clips', '?')} clips, {validation.get('segments', '?')} segments of 2 s):",
              "", "| measured | offset within 1 frame (segments) | (clips) | sim in sync | shifted >= 3 | mismatched |",
              "|---|---|---|---|---|---|"]
    for when, found in (("when trained", validation), ("on this run's clips", expert.get("validation_now"))):
        if found:
            lines.append(f"| {when} | " + " | ".join(_fmt(found.get(k)) for k in (
                "segment_accuracy", "clip_accuracy", "sim_in_sync", "sim_shifted", "sim_mismatched")) + " |")
    lines.append("")
    if offsets:
        lines += ["Recorded audio offsets (frames, audio lags picture; none = no clear peak) of the offset-suspect "
                  "clips and of every clip realigned (`lipsync measure-offsets`, eval/README.md):",
                  "", "| clip | offset | confidence |", "|---|---|---|"]
        lines += [f"| {clip} | {off} | {_fmt(conf)} |" for clip, (off, conf) in sorted(offsets.items())]
        lines.append("")
    lines += ["![self strip](strip_self.png)", "", "![cross strip](strip_cross.png)", "",
              "![mouth opening](mouth_opening.png)", "",
              "Earlier default weights measured by this command, and where they stand against the targets: "
              + (f"[HISTORY.md]({history})." if history else "eval/HISTORY.md in the lipsync repository."), ""]
    return "\n".join(lines)


def adaptation_lines(adaptation: dict[str, dict[str, dict]]) -> list[str]:
    """Markdown lines: per adapted row and clip, what `lipsync adapt` kept and its own held-back check."""
    if not adaptation:
        return []
    lines = ["", "## Adaptation (`lipsync adapt` on each clip's footage part)", "",
             "adapt fine-tunes on the earlier 80% of the footage frames and keeps the fine-tuned renderer only "
             "when it measures better on the later 20% (crop PSNR in the repaint mask, true mouth codes).", "",
             "| row | clip | footage frames | references | kept | generic PSNR mask | adapted PSNR mask |",
             "|---|---|---|---|---|---|---|"]
    for row, clips in adaptation.items():
        for clip, report in clips.items():
            generic, adapted = report.get("generic", {}), report.get("adapted", {})
            lines.append(f"| {row} | {clip} | {report['frames']} | {report['references']} | "
                         f"{report.get('kept', 'index only')} | {_fmt(generic.get('psnr_mask', '-'))} | "
                         f"{_fmt(adapted.get('psnr_mask', '-'))} |")
    return lines + [""]


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_json(obj: dict, path: Path) -> Path:
    return write_text(json.dumps(obj, indent=1, default=float), path)


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` to ``path`` atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _thumb(crop: np.ndarray) -> np.ndarray:
    """The lower face of an aligned crop, STRIP_WIDTH pixels wide."""
    s = crop.shape[0]
    top, bottom, left, right = (round(f * s) for f in STRIP_REGION)
    height = round(STRIP_WIDTH * (bottom - top) / (right - left))
    return cv2.resize(crop[top:bottom, left:right], (STRIP_WIDTH, height), interpolation=cv2.INTER_AREA)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise OSError(f"cannot encode PNG for '{path}'")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.tobytes())
    os.replace(tmp, path)
