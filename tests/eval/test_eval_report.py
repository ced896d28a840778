"""`lipsync eval` end to end on two tiny held-out clips: report, fidelity ceiling, render check."""
from __future__ import annotations

from pathlib import Path

from lipsync_cli.main import main
from lipsync_engine.eval.report import _take_lengths
from lipsync_engine.eval.suite import SuiteConfig, run_suite
from lipsync_engine.sync import build_sync_expert, save_sync_expert


def test_eval_report_with_identity_and_frozen_mouth(eval_cache, tmp_path):
    weights = tmp_path / "expert.safetensors"
    save_sync_expert(build_sync_expert(), weights)  # any expert: this test is about the report, not sync
    out = tmp_path / "report"
    results = run_suite(SuiteConfig(cache=eval_cache, out=out, generators=("identity", "mouth_frozen"),
                                    quick=True, sync_weights=weights), log=lambda line: None)
    identity, frozen = results["summaries"]["identity"], results["summaries"]["mouth_frozen"]
    assert identity["self_psnr_mouth"] >= 99.0 and identity["self_ssim_mouth"] > 0.999
    assert frozen["self_psnr_mouth"] < 40.0
    assert identity["self_open_corr"] > 0.9  # landmarks re-measured on the real crops agree with the cache
    assert frozen["cross_motion_ratio"] < 0.7  # a frozen mouth barely moves
    # The real mouth blended back leaves no seam and keeps the actor's expression exactly.
    assert identity["self_seam_edge_ratio"] == 1.0 and identity["cross_seam_step"] == 0.0
    assert identity["self_lift_err_pct"] == 0.0 and identity["cross_lift_shift_abs_pct"] == 0.0
    assert frozen["self_width_err_pct"] > 0.0 and frozen["cross_seam_edge_ratio"] >= 1.0
    checks = results["render_check"]
    assert checks["identity"]["passed"] and checks["identity"]["edited_frames"] == 0
    assert checks["mouth_frozen"]["passed"] and checks["mouth_frozen"]["edited_frames"] > 0
    text = (out / "RESULTS.md").read_text()
    assert "| identity | 100.0 |" in text and "| mouth_frozen |" in text
    assert "## How sure (bootstrap over takes)" in text and "| self PSNR mouth dB | 100.00 [100.00, 100.00] |" in text
    # the expert is checked again on the run's clips; this one was saved without a training record
    assert "| on this run's clips |" in text and "| when trained |" not in text
    assert "## Seam and expression" in text and "| identity | 1.00 | 0.0 | 1.00 | 0.0 | 1.00 | 1.00 | 0.000% | 0.000% | 0.00 |" in text
    for name in ("strip_self.png", "strip_cross.png", "mouth_opening.png"):
        assert 1000 < (out / name).stat().st_size < 300_000
    # the history link resolves from the report's own folder (the tests run from the repository root)
    link = text.split("[HISTORY.md](")[1].split(")")[0]
    assert (out / link).resolve() == (Path("eval") / "HISTORY.md").resolve()


def test_eval_cli_reports_a_missing_cache_clearly(tmp_path, capsys):
    assert main(["eval", "--cache", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]) == 2
    assert "build-dataset" in capsys.readouterr().err


def test_report_gives_the_takes_real_lengths_beside_the_cap():
    assert _take_lengths({"frames_per_take": 250, "take_frames": [30, 138]}) == "30-138 (cap 250)"
    assert _take_lengths({"frames_per_take": 250, "take_frames": [100, 100]}) == "100 (cap 250)"
    assert _take_lengths({"frames_per_take": 250, "take_frames": [250, 250]}) == "250"
    assert _take_lengths({"frames_per_take": 250}) == "250"  # results written before the range was recorded
