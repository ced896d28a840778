"""Reference retrieval: a Viterbi path that follows real changes of the wanted mouth and ignores jitter."""
from __future__ import annotations

import numpy as np

from lipsync_engine.model.retrieval import crossfade, reference_path, spread_references


def test_path_ignores_jitter_between_two_close_candidates() -> None:
    rng = np.random.default_rng(0)
    candidates = np.array([[0.0, 0.0], [0.1, 0.0], [3.0, 0.0]])
    wanted = np.full((100, 2), 0.05) + rng.normal(0, 0.04, (100, 2))  # hovers between candidates 0 and 1
    wanted[60:] += [2.95, 0.0]  # then really moves to candidate 2
    path = reference_path(wanted, candidates)
    nearest = np.argmin(((wanted[:, None] - candidates[None]) ** 2).sum(-1), axis=1)
    assert np.count_nonzero(np.diff(nearest)) > 10  # nearest-neighbour retrieval chatters
    assert np.count_nonzero(np.diff(path)) == 1  # the path switches once, where the mouth moved
    assert set(path[65:]) == {2}


def test_crossfade_ramps_over_a_switch() -> None:
    path = np.array([0] * 10 + [1] * 10)
    columns = crossfade(path, fade=4)
    assert columns.shape == (20, 3)
    assert np.array_equal(columns[:8, :2], np.zeros((8, 2)))
    weights = columns[8:12, 2]
    assert np.all(np.diff(weights) > 0) and 0 < weights[0] and weights[-1] < 1
    assert np.array_equal(columns[8:12, :2], np.tile([0, 1], (4, 1)))
    assert np.array_equal(columns[12:, :2], np.ones((8, 2)))


def test_spread_references_start_closed_and_cover_the_space() -> None:
    rng = np.random.default_rng(1)
    codes = rng.normal(0, 1, (500, 4)).astype(np.float32)
    chosen = spread_references(codes, 8)
    assert len(set(chosen.tolist())) == 8
    assert chosen[0] == np.argmin(np.linalg.norm(codes, axis=1))
    far = codes[np.argmax(np.linalg.norm(codes, axis=1))]
    assert np.min(np.linalg.norm(codes[chosen] - far, axis=1)) < 1.5


def test_pose_term_prefers_the_reference_posed_like_the_frame() -> None:
    from lipsync_engine.model.retrieval import pose_descriptor

    rng = np.random.default_rng(1)
    face = rng.uniform(40, 150, (468, 2))
    turned = face.copy()
    turned[:, 0] += np.where(face[:, 0] > face[1, 0], -8.0, 8.0) * (np.abs(face[:, 0] - face[1, 0]) > 20)
    candidates = np.array([[0.0, 0.0], [0.05, 0.0], [1.0, 0.0]])  # 0 and 1: mouths nearly alike; 2: open
    candidate_poses = pose_descriptor(np.stack([turned, face, face]))  # candidate 0's head is turned
    wanted = np.zeros((30, 2))  # candidate 0's mouth exactly
    frame_poses = pose_descriptor(np.repeat(face[None], 30, axis=0))
    assert set(reference_path(wanted, candidates)) == {0}  # by code alone: the turned head
    assert set(reference_path(wanted, candidates, poses=frame_poses, candidate_poses=candidate_poses)) == {1}
    frame_poses[:] = np.nan  # no face found: the pose does not count
    assert set(reference_path(wanted, candidates, poses=frame_poses, candidate_poses=candidate_poses)) == {0}
