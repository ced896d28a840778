"""`lipsync train` end to end on a tiny dataset cache built from two 2-second cuts of real footage (conftest)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from lipsync_cli.main import main
from lipsync_engine.generator.learned import load_learned
from lipsync_engine.model.bundle import save_bundle
from lipsync_engine.model.renderer import build_renderer


def test_train_writes_loadable_weights_with_its_numbers_and_resumes(
    tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, work = tmp_path / "gen.safetensors", tmp_path / "work"
    args = ["train", "--cache", str(tiny_cache), "--out", str(out), "--work", str(work),
            "--minutes", "0.05", "--motion-steps", "30", "--sync-weight", "0.004", "--gan-weight", "0.002",
            "--feature-match-weight", "3", "--disc-lr", "3e-5", "--disc-pretrain-steps", "7", "--mask-below", "0.03"]
    assert main(args) == 0
    generator = load_learned(str(out), backend="torch")
    notes = generator.bundle.notes
    assert generator.bundle.config.renderer.mask_below == 0.03  # run time builds the mask it was trained with
    assert {"psnr_wide_mask", "psnr_below_jaw"} <= set(notes["crop_psnr_validation"]["retrieval"])
    assert set(notes["crop_psnr_validation"]) == {"retrieval", "fixed_reference", "paste_reference"}
    assert -1.0 < notes["crop_sync_validation"]["sync_conf_rendered"] < 1.0
    assert notes["crop_sync_validation"]["sharpness_ratio"] > 0
    settings = notes["train_config"]["renderer"]
    assert (settings["sync_weight"], settings["gan_weight"], settings["feature_match_weight"]) == (0.004, 0.002, 3.0)
    assert (settings["disc_lr"], settings["disc_pretrain_steps"], settings["lr"]) == (3e-5, 7, 2e-4)
    assert "sync" in notes["renderer"]  # the sync loss ran
    assert notes["renderer"]["steps"] >= 1
    assert (work / "renderer.pt").is_file()
    assert not [p.name for p in work.iterdir() if p.name.startswith(".")]  # checkpoints written atomically
    capsys.readouterr()
    assert main(args) == 0  # the renderer's budget is spent: the rerun resumes and only re-exports
    assert "resumed renderer training" in capsys.readouterr().out
    assert load_learned(str(out), backend="torch").bundle.notes["renderer"]["steps"] == notes["renderer"]["steps"]


def test_train_without_a_cache_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--cache", str(tmp_path / "none"), "--out", str(tmp_path / "g.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "build-dataset" in err and "Traceback" not in err


def test_train_refuses_a_negative_loss_weight(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--cache", str(tmp_path), "--sync-weight", "-1"]) == 2
    assert "--sync-windows >= 1, loss weights" in capsys.readouterr().err


def test_train_can_start_from_shipped_weights_with_warped_references(
    tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tuned.safetensors"
    args = ["train", "--cache", str(tiny_cache), "--out", str(out), "--work", str(tmp_path / "work"),
            "--minutes", "0.03", "--motion-steps", "20", "--init", "default", "--warp-reference"]
    assert main(args) == 0
    assert "renderer starts from default" in capsys.readouterr().out
    bundle = load_learned(str(out), backend="torch").bundle
    assert bundle.config.renderer.warp_reference  # run time warps as the renderer was trained
    shipped = load_learned("default", backend="torch").bundle.label
    assert (bundle.notes["renderer_init"], bundle.notes["renderer_init_label"]) == ("default", shipped)
    resumed = tmp_path / "resumed.safetensors"
    assert main([*args[:args.index("--init")], "--warp-reference", "--out", str(resumed)]) == 0  # no --init now
    assert "resumed renderer training" in capsys.readouterr().out
    notes = load_learned(str(resumed), backend="torch").bundle.notes
    assert (notes["renderer_init"], notes["renderer_init_label"]) == ("default", shipped)  # the checkpoint's start


def test_train_init_from_a_missing_file_is_a_clear_error(
    tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--cache", str(tiny_cache), "--out", str(tmp_path / "g.safetensors"), "--work", str(tmp_path / "w"),
            "--motion-steps", "5", "--init", str(tmp_path / "nothing.safetensors")]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "nothing.safetensors" in err and "Traceback" not in err


def test_train_init_from_weights_with_another_renderer_shape_is_a_clear_error(
    tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = load_learned("default", backend="torch").bundle
    narrow = dataclasses.replace(shipped.config.renderer, widths=(8, 16, 32, 48, 64))
    other = tmp_path / "narrow.safetensors"
    save_bundle(other, dataclasses.replace(shipped, config=dataclasses.replace(shipped.config, renderer=narrow),
                                           renderer=build_renderer(narrow)))
    args = ["train", "--cache", str(tiny_cache), "--out", str(tmp_path / "g.safetensors"), "--work", str(tmp_path / "w"),
            "--motion-steps", "5", "--init", str(other)]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "narrow.safetensors" in err and "another shape" in err and "Traceback" not in err
    assert not (tmp_path / "g.safetensors").exists()


def test_a_motion_only_run_refits_motion_and_keeps_the_renderer_bit_for_bit(
    tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    out = tmp_path / "refit.safetensors"
    args = ["train", "--cache", str(tiny_cache), "--out", str(out), "--work", str(work), "--motion-steps", "10",
            "--init", "default", "--motion-only"]
    assert main(args) == 0
    assert "renderer kept from default" in capsys.readouterr().out
    shipped, refit = load_learned("default", backend="torch").bundle, load_learned(str(out), backend="torch").bundle
    assert refit.config.renderer == shipped.config.renderer  # mask settings too, not the CLI's defaults
    kept, new = shipped.renderer.state_dict(), refit.renderer.state_dict()
    assert all(torch.equal(kept[k].half(), new[k].half()) for k in kept)
    assert not torch.equal(shipped.motion.state_dict()["body.0.weight"], refit.motion.state_dict()["body.0.weight"])
    assert refit.notes["motion_only"] and refit.notes["renderer"]["kept_from"] == shipped.label
    assert not work.exists()  # no renderer checkpoint


def test_a_motion_only_run_needs_the_weights_to_keep(
    tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "g.safetensors"
    assert main(["train", "--cache", str(tiny_cache), "--out", str(out), "--motion-only", "--motion-steps", "5"]) == 2
    assert "--init" in capsys.readouterr().err and not out.exists()
