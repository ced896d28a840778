"""Held-back runs of `lipsync eval`: the takes run on frames the profile and the adaptation never saw."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lipsync_cli.main import main
from lipsync_engine.data.cache import load_clips
from lipsync_engine.errors import InputError
from lipsync_engine.eval import suite
from lipsync_engine.eval.held_back import footage_profiles, later_part, split_frame
from lipsync_engine.eval.suite import SuiteConfig, run_suite
from lipsync_engine.generator.loader import load_generator
from lipsync_engine.sync import build_sync_expert, save_sync_expert


def test_the_later_part_keeps_each_frame_with_the_speech_it_was_heard_with(eval_cache: Path) -> None:
    clip = load_clips(eval_cache, "val", sync_ready=True)[0]
    start = split_frame(clip, 0.4)
    assert start == round(clip.n_frames * 0.6)
    tail = later_part(clip, start)
    assert tail.n_frames == clip.n_frames - start and tail.clip_id == clip.clip_id
    frames = np.arange(tail.n_frames)
    assert np.array_equal(tail.crops[frames], clip.crops[start + frames])
    assert np.array_equal(tail.mel_windows(frames), clip.mel_windows(start + frames))
    assert np.array_equal(tail.speech_at(frames), clip.speech_at(start + frames))


def test_shares_that_leave_no_footage_or_no_take_are_refused(eval_cache: Path) -> None:
    clip = load_clips(eval_cache, "val", sync_ready=True)[0]
    for share in (0.0, 1.0, 0.95, 0.05):
        with pytest.raises(InputError, match="held-back share|too short to hold back"):
            split_frame(clip, share)


def test_profiles_and_adaptation_only_see_the_footage_part(eval_cache: Path) -> None:
    generator = load_generator("default")
    clips = load_clips(eval_cache, "val", sync_ready=True)
    for minutes in (None, 0.0):
        profiles, reports = footage_profiles(generator, clips, 0.4, minutes, log=lambda line: None)
        for clip in clips:
            start = split_frame(clip, 0.4)
            footage = np.asarray(clip.crops[:start]).reshape(start, -1)
            later = np.asarray(clip.crops[start:]).reshape(clip.n_frames - start, -1)
            refs = profiles[clip.clip_id].data["ref_crops"]
            for ref in refs.reshape(len(refs), -1):
                assert (footage == ref).all(axis=1).any() and not (later == ref).all(axis=1).any()
            if minutes is not None:
                assert reports[clip.clip_id]["frames"] == int(np.sum(clip.valid[:start]))


def test_a_held_back_run_measures_the_adapted_generator_beside_the_generic_one(eval_cache: Path, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch):
    measured_clips = []  # what each evaluation ran its takes on (the real evaluation still runs)
    evaluate = suite.evaluate_generator
    monkeypatch.setattr(suite, "evaluate_generator", lambda generator, clips, *args, **kwargs: measured_clips.append(
        {c.clip_id: c.n_frames for c in clips}) or evaluate(generator, clips, *args, **kwargs))
    weights = tmp_path / "expert.safetensors"
    save_sync_expert(build_sync_expert(), weights)  # any expert: this test is about the protocol, not sync
    out = tmp_path / "report"
    with pytest.raises(InputError, match="held-back"):
        run_suite(SuiteConfig(cache=eval_cache, out=out, generators=("default",), adapt_minutes=(0.02,),
                              sync_weights=weights, render_check=False), log=lambda line: None)
    results = run_suite(SuiteConfig(cache=eval_cache, out=out, generators=("mouth_frozen", "default"), quick=True,
                                    held_back=0.4, adapt_minutes=(0.02,), sync_weights=weights, render_check=False),
                        log=lambda line: None)
    assert list(results["summaries"]) == ["mouth_frozen", "default", "default+adapt0.02"]  # no adapting a baseline
    later = {c.clip_id: c.n_frames - split_frame(c, 0.4) for c in load_clips(eval_cache, "val", sync_ready=True)}
    assert measured_clips == [later] * 3  # every row's takes ran on the held-back frames only
    assert results["held_back"] == 0.4 and set(results["adaptation"]) == {"default+adapt0.02"}
    reports = results["adaptation"]["default+adapt0.02"]
    assert set(reports) == set(results["clips"]) and all(r["kept"] in ("adapted", "generic") for r in reports.values())
    for row in results["summaries"].values():
        assert 10.0 < row["self_psnr_mouth"] < 60.0
    text = (out / "RESULTS.md").read_text()
    assert "**held-back run**" in text and "first 60% of frames" in text and "| default+adapt0.02 |" in text
    assert "## Adaptation" in text
    cap = results["frames_per_take"]  # the report gives the takes' real lengths, not only the cap
    shortest, longest = min(min(later.values()), cap), min(max(later.values()), cap)
    span = str(shortest) if shortest == longest else f"{shortest}-{longest}"
    assert results["take_frames"] == [shortest, longest] and f"frames per take: {span} (cap {cap})" in text
    # a held-back run and a standard run have other takes: eval-diff refuses to pair them
    standard = json.loads((out / "results.json").read_text()) | {"held_back": 0.0}
    (tmp_path / "standard.json").write_text(json.dumps(standard))
    assert main(["eval-diff", str(tmp_path / "standard.json"), str(out)]) == 2
    assert main(["eval-diff", str(out), str(out), "--after-generator", "default+adapt0.02"]) == 0
