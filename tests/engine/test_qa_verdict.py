"""The take's sync verdict (pipeline/qa.judge) on synthetic offset curves: when it may name an offset."""
from __future__ import annotations

import numpy as np
import pytest

from lipsync_engine.pipeline.qa import (
    FULL_STACKS, IN_SYNC, IN_SYNC_FRAMES, INCONCLUSIVE, MIN_CONFIDENCE, MIN_STACKS, OFFSET, SHORT_MIN_CONFIDENCE,
    SyncVerdict, judge,
)
from lipsync_engine.sync.scoring import MAX_OFFSET

OFFSETS = np.arange(-MAX_OFFSET, MAX_OFFSET + 1)


def similarity(peak_at: int | None, height: float, stacks: int = 80, seed: int = 0) -> np.ndarray:
    """(31, stacks) per-stack similarities whose mean over stacks is a curve at 0.3 with a peak of
    ``height`` above it at offset ``peak_at`` (None: no peak); the per-stack scatter averages out exactly."""
    curve = np.full(len(OFFSETS), 0.3)
    if peak_at is not None:
        curve[OFFSETS == peak_at] += height
        for side in (-1, 1):  # a real peak has shoulders one frame either side
            curve[OFFSETS == peak_at + side] += height / 3
    scatter = np.random.default_rng(seed).normal(0, 0.2, (len(OFFSETS), stacks))
    return (curve[:, None] + scatter - scatter.mean(axis=1, keepdims=True)).astype(np.float32)


def test_a_clear_peak_at_zero_is_in_sync_without_a_warning() -> None:
    verdict = judge(similarity(0, 0.2))
    assert (verdict.status, verdict.offset) == (IN_SYNC, 0)
    assert verdict.confidence == pytest.approx(0.2, abs=1e-4)
    assert verdict.warning is None
    assert verdict.describe().startswith("sync check: in sync (offset +0 frames, confidence 0.200")


@pytest.mark.parametrize("offset", [-IN_SYNC_FRAMES, IN_SYNC_FRAMES])
def test_an_offset_within_the_tolerance_is_in_sync(offset: int) -> None:
    verdict = judge(similarity(offset, 0.2))
    assert (verdict.status, verdict.offset, verdict.warning) == (IN_SYNC, offset, None)


@pytest.mark.parametrize("offset, words", [(4, "moves 4 frames before the dub"),
                                           (-IN_SYNC_FRAMES - 1, f"moves {IN_SYNC_FRAMES + 1} frames after the dub")])
def test_a_confident_offset_is_named_and_warned(offset: int, words: str) -> None:
    verdict = judge(similarity(offset, 0.15))
    assert (verdict.status, verdict.offset) == (OFFSET, offset)
    assert f"offset {offset:+d} frames" in verdict.describe() and words in verdict.describe()
    assert verdict.warning == verdict.describe()


def test_low_confidence_is_inconclusive_and_keeps_the_raw_numbers() -> None:
    """The demo's case: a low curve whose best offset is at the edge reads as noise, not '+15 frames out'."""
    verdict = judge(similarity(MAX_OFFSET, 0.044))
    assert verdict.status == INCONCLUSIVE and verdict.warning is None
    assert (verdict.offset, verdict.confidence) == (MAX_OFFSET, pytest.approx(0.044, abs=1e-4))  # compatibility
    assert verdict.describe() == (f"sync check inconclusive (confidence 0.044 below {MIN_CONFIDENCE:.2f}): "
                                  "too little clear speech to judge")


def test_the_confidence_threshold_is_inclusive() -> None:
    assert judge(similarity(3, MIN_CONFIDENCE + 1e-4)).status == OFFSET
    assert judge(similarity(3, MIN_CONFIDENCE - 1e-3)).status == INCONCLUSIVE


def test_a_flat_curve_is_inconclusive() -> None:
    assert judge(similarity(None, 0.0)).status == INCONCLUSIVE


def test_too_few_speech_stacks_are_inconclusive_even_with_a_clear_peak() -> None:
    verdict = judge(similarity(5, 0.4, stacks=MIN_STACKS - 1))
    assert verdict.status == INCONCLUSIVE and verdict.warning is None
    assert f"({MIN_STACKS - 1} speech frames, needs {MIN_STACKS})" in verdict.describe()
    assert judge(similarity(5, 0.4, stacks=MIN_STACKS)).status == OFFSET


def test_short_speech_needs_a_clearer_peak() -> None:
    peak = (MIN_CONFIDENCE + SHORT_MIN_CONFIDENCE) / 2
    verdict = judge(similarity(5, peak, stacks=FULL_STACKS - 1))
    assert verdict.status == INCONCLUSIVE
    assert (f"(confidence {peak:.3f} below {SHORT_MIN_CONFIDENCE:.2f} for {FULL_STACKS - 1} speech frames)"
            in verdict.describe())
    assert judge(similarity(5, peak, stacks=FULL_STACKS)).status == OFFSET
    assert judge(similarity(5, SHORT_MIN_CONFIDENCE + 1e-4, stacks=MIN_STACKS)).status == OFFSET


@pytest.mark.parametrize("edge", [-MAX_OFFSET, MAX_OFFSET])
def test_a_confident_peak_at_the_edge_of_the_search_is_inconclusive(edge: int) -> None:
    verdict = judge(similarity(edge, 0.3))
    assert verdict.status == INCONCLUSIVE and verdict.warning is None and verdict.offset == edge
    assert f"best offset {edge:+d} frames, the edge of the +-{MAX_OFFSET}-frame search" in verdict.describe()
    assert judge(similarity(edge - np.sign(edge), 0.3)).status == OFFSET  # one frame inside is measured


def test_no_speech_stacks_is_inconclusive() -> None:
    verdict = judge(np.zeros((len(OFFSETS), 0), np.float32))
    assert verdict.status == INCONCLUSIVE and verdict.offset is None and verdict.confidence is None
    assert "no speech frames" in verdict.describe() and verdict.warning is None


def test_an_unmeasured_verdict_warns_with_its_note() -> None:
    verdict = SyncVerdict(note="sync not measured: no sync expert weights")
    assert verdict.status is None and verdict.warning == verdict.describe() == verdict.note
