"""Audio-to-motion training pieces: speaker-balanced sampling and the validation measures."""
from __future__ import annotations

import numpy as np

from lipsync_engine.train.motion_training import (PREDICTED_GAIN_MAX, UNPREDICTED_GAIN_MAX, MotionSet,
                                                  PLAN_SPREAD, fit_calibration, fit_gain,
                                                  motion_metrics)


def _set(speakers: list[int], codes: np.ndarray | None = None, clips: list[int] | None = None) -> MotionSet:
    n = len(speakers)
    return MotionSet(mel=np.zeros((n, 80, 40), np.float32),
                     codes=np.zeros((n, 10), np.float32) if codes is None else codes,
                     clip=np.asarray(clips if clips is not None else speakers), speaker=np.asarray(speakers),
                     pairs=np.arange(n - 1))


def test_speaker_balance_moves_the_draws_from_frames_to_speakers() -> None:
    data = _set([0] * 90 + [1] * 10)
    share_of_small = {b: data.pair_weights(b)[data.speaker[data.pairs] == 1].sum() for b in (0.0, 0.5, 1.0)}
    assert np.isclose(share_of_small[0.0], 9 / 99)  # every pair alike: the small speaker's own share
    assert np.isclose(share_of_small[1.0], 0.9 / 1.9)  # every speaker alike (by frames: 9 of its 10 rows pair)
    assert share_of_small[0.0] < share_of_small[0.5] < share_of_small[1.0]
    assert np.isclose(data.pair_weights(0.5).sum(), 1.0)


def test_metrics_correlate_per_clip_and_over_codes() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(200, 10)).astype(np.float32)
    truth[100:, 0] += 5.0  # the second clip sits higher: pooled correlation rewards the offset
    held = _set([0] * 100 + [1] * 100, codes=truth)
    pred = truth.copy()
    pred[:100, 0] = -truth[:100, 0]  # first clip's opening runs backwards
    pred[100:, 0] = 5.0 + rng.normal(size=100)  # second clip's is noise at the right level
    m = motion_metrics(pred, held, np.ones(10, np.float32))
    assert m["corr_code0"] > 0.5  # pooled over clips, the level difference alone looks good
    assert m["corr_code0_clip"] < 0.0  # per clip it is wrong (-1) or noise (about 0)
    assert np.isclose(m["corr_codes"], (9 + m["corr_code0"]) / 10, atol=1e-6)
    assert m["frames"] == 200


def test_gain_matches_the_spread_but_caps_the_codes_the_audio_does_not_predict_lower() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(2000, 5)).astype(np.float32)
    noise = rng.normal(size=(2000, 5)).astype(np.float32)
    pred = target * np.array([0.4, 0.02, 0.9, 2.0, 0.2], np.float32)
    pred[:, 1] += 0.2 * noise[:, 1]  # code 1: mostly noise (correlation about 0.1)
    gain = fit_gain(pred, target)
    assert np.isclose(gain[0], 2.5, rtol=1e-3)  # predicted and shrunk: spread-matched
    assert gain[1] == np.float32(UNPREDICTED_GAIN_MAX)  # its 5x spread gap would mostly amplify noise
    assert np.isclose(gain[2], 1 / 0.9, rtol=1e-3)
    assert gain[3] == 1.0  # never shrinks: regression already under-moves
    assert gain[4] == np.float32(PREDICTED_GAIN_MAX)  # predicted, but a 5x gap is capped too


def test_calibration_spreads_about_the_mean_not_the_closed_mouth() -> None:
    rng = np.random.default_rng(1)
    target = (0.08 + 0.08 * rng.normal(size=(3000, 2))).astype(np.float32)  # speech: open on average
    pred = (0.05 + 0.4 * (target - 0.08)).astype(np.float32)  # shrunk towards a mean of its own
    gain, offset = fit_calibration(pred, target)
    assert np.allclose(gain, fit_gain(pred, target) * PLAN_SPREAD)
    calibrated = pred * gain + offset
    assert np.allclose(calibrated.mean(axis=0), target.mean(axis=0), atol=1e-6)
    assert np.allclose(calibrated.std(axis=0), PLAN_SPREAD * target.std(axis=0), rtol=1e-3)
    assert (pred * gain).mean(axis=0)[0] > 1.5 * target.mean(axis=0)[0]  # the gain alone over-opens
