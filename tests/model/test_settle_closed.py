"""Hesitant half-open mouth codes settle on the closed rest mouth; confident openings keep their size; weights
files written before the setting plan as they always did."""
from __future__ import annotations

import json

import numpy as np

from lipsync_engine.model import GeneratorConfig
from lipsync_engine.model.mouth_shape import settle_closed


def test_small_codes_close_and_large_ones_keep_their_size() -> None:
    direction = np.array([0.6, 0.8, 0.0], np.float32)
    norms = np.array([0.0, 0.05, 0.12, 0.13, 0.3, 1.0], np.float32)
    out = settle_closed(norms[:, None] * direction, threshold=0.12)
    out_norms = np.linalg.norm(out, axis=1)
    assert np.all(out_norms[:3] < 1e-6)  # at or below the threshold: the closed rest mouth
    assert 0.0 < out_norms[3] < 0.03  # just above it: barely open (no jump)
    assert abs(out_norms[5] - 1.0) < 0.015  # a confident opening is nearly untouched
    assert np.all(np.diff(out_norms) >= 0.0)  # more opening in, more opening out
    assert np.allclose(out[4] / out_norms[4], direction)  # the mouth's shape (direction) is kept


def test_threshold_zero_and_old_weights_change_nothing() -> None:
    codes = np.random.default_rng(0).normal(scale=0.1, size=(20, 10)).astype(np.float32)
    assert np.array_equal(settle_closed(codes, 0.0), codes)
    config = json.loads(GeneratorConfig().to_json())
    del config["motion"]["closure_threshold"]  # a weights file written before the setting
    assert GeneratorConfig.from_json(json.dumps(config)).motion.closure_threshold == 0.0
    assert GeneratorConfig().motion.closure_threshold > 0.0  # new training runs write it
