"""Bootstrap intervals over takes and `lipsync eval-diff`'s paired comparison of two runs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lipsync_cli.main import main
from lipsync_engine.errors import InputError
from lipsync_engine.eval.uncertainty import bootstrap, intervals, paired_differences


def test_the_interval_holds_the_mean_and_narrows_with_more_takes() -> None:
    rng = np.random.default_rng(1)
    few, many = rng.normal(26.0, 2.0, 6), rng.normal(26.0, 2.0, 60)
    a, b = bootstrap(few), bootstrap(many)
    assert a.low < a.mean < a.high and b.low < b.mean < b.high
    assert (b.high - b.low) < 0.6 * (a.high - a.low)
    steady = bootstrap([3.0, 3.0, 3.0])
    assert steady.low == 3.0 == steady.high
    assert bootstrap([1.0, float("nan"), 3.0]).takes == 2


def test_too_few_takes_give_no_interval_and_prove_nothing() -> None:
    assert bootstrap([]).takes == 0 and np.isnan(bootstrap([]).mean)
    one = bootstrap([5.0])
    assert one.mean == 5.0 and np.isnan(one.low) and not one.excludes_zero


def _rows(psnr: list[float], kind: str = "self") -> list[dict]:
    return [{"kind": kind, "target": f"clip{i}", "driver": f"clip{i}", "psnr_mouth": v} for i, v in enumerate(psnr)]


def test_a_small_steady_gain_is_sure_take_for_take_though_the_runs_overlap() -> None:
    rng = np.random.default_rng(2)
    before = list(rng.normal(26.0, 2.0, 8))  # takes differ by far more than the change
    after = [v + 0.3 + rng.normal(0.0, 0.05) for v in before]
    alone = intervals(_rows(before), ["self_psnr_mouth"])["self_psnr_mouth"]
    assert alone.low < np.mean(after) < alone.high  # apart, the runs cannot tell the change from the spread
    diff = paired_differences(_rows(before), list(reversed(_rows(after))))["self_psnr_mouth"]  # matched by take
    assert diff.excludes_zero and 0.2 < diff.mean < 0.4 and diff.takes == 8
    noise = paired_differences(_rows(before), _rows([v + rng.normal(0.0, 1.0) for v in before]))
    assert not noise["self_psnr_mouth"].excludes_zero


def test_runs_without_a_shared_take_are_refused() -> None:
    other = [{**row, "target": "elsewhere"} for row in _rows([1.0, 2.0])]
    with pytest.raises(InputError, match="share no take"):
        paired_differences(_rows([1.0, 2.0]), other)


def _results(path: Path, psnr: list[float], frames: int = 150) -> Path:
    path.mkdir()
    rows = _rows(psnr) + _rows([0.1] * len(psnr), kind="cross")
    (path / "results.json").write_text(json.dumps({"frames_per_take": frames, "per_take": {"default": rows}}))
    return path


def test_eval_diff_prints_paired_intervals(tmp_path: Path, capsys) -> None:
    before = _results(tmp_path / "a", [24.0, 26.0, 28.0, 25.0, 27.0])
    after = _results(tmp_path / "b", [24.5, 26.4, 28.6, 25.5, 27.4])
    assert main(["eval-diff", str(before), str(after / "results.json")]) == 0
    table = capsys.readouterr().out
    line = next(x for x in table.splitlines() if x.startswith("| self_psnr_mouth"))
    assert line.startswith("| self_psnr_mouth | +0.48 |") and line.endswith("| 5 | yes |")


def test_eval_diff_refuses_runs_of_other_take_lengths_and_missing_files(tmp_path: Path, capsys) -> None:
    quick, full = _results(tmp_path / "q", [1.0, 2.0], frames=100), _results(tmp_path / "f", [1.0, 2.0])
    assert main(["eval-diff", str(quick), str(full)]) == 2
    assert "different lengths (100 and 150 frames)" in capsys.readouterr().err
    assert main(["eval-diff", str(quick), str(tmp_path / "none")]) == 2
    assert "lipsync eval --out" in capsys.readouterr().err
    assert main(["eval-diff", str(quick), str(quick), "--after-generator", "cand.safetensors"]) == 2
    assert "no generator 'cand.safetensors'" in capsys.readouterr().err
