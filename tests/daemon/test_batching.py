"""The batching proxy with the real identity generator: concurrent jobs share generator calls, each
gets its own rows back, errors reach every caller of a batch, different actors are never mixed."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from lipsync_daemon.batching import BatchingGenerator
from lipsync_engine.errors import InputError
from lipsync_engine.generator.base import ActorProfile
from lipsync_engine.generator.identity import IdentityGenerator


def _crops(job: int, call: int, n: int = 4, size: int = 8) -> np.ndarray:
    return np.full((n, size, size, 3), job * 50 + call, np.uint8)


def _run_jobs(generator: BatchingGenerator, profiles: list[ActorProfile], calls: int = 12) -> list[list[np.ndarray]]:
    results: list[list[np.ndarray]] = [[] for _ in profiles]
    start = threading.Barrier(len(profiles))

    def job(index: int) -> None:
        with generator.job() as rendering:
            rendering(True)
            start.wait()
            for call in range(calls):
                crops = _crops(index, call)
                out = generator.render(crops, np.zeros((len(crops), 468, 2), np.float32),
                                       np.zeros((len(crops), 0), np.float32), profiles[index])
                results[index].append(out)

    threads = [threading.Thread(target=job, args=(i,)) for i in range(len(profiles))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_concurrent_jobs_share_batches_and_get_their_own_rows() -> None:
    generator = BatchingGenerator(IdentityGenerator(crop_size=8), window_s=0.05)
    profiles = [ActorProfile("identity", {}), ActorProfile("identity", {})]
    results = _run_jobs(generator, profiles)
    for index in range(2):
        assert [int(r[0, 0, 0, 0]) for r in results[index]] == [index * 50 + c for c in range(12)]
    assert generator.stats.requests == 24
    assert generator.stats.shared_calls > 0 and generator.stats.max_jobs_in_call == 2
    assert generator.stats.calls < 24  # fewer generator calls than requests: batched


def test_different_actors_are_never_rendered_in_one_call() -> None:
    generator = BatchingGenerator(IdentityGenerator(crop_size=8), window_s=0.02)
    profiles = [ActorProfile("identity", {"embedding": np.ones(4)}, "a"),
                ActorProfile("identity", {"embedding": np.zeros(4)}, "b")]
    results = _run_jobs(generator, profiles, calls=5)
    for index in range(2):
        assert [int(r[0, 0, 0, 0]) for r in results[index]] == [index * 50 + c for c in range(5)]
    assert generator.stats.requests == 10 and generator.stats.shared_calls == 0


def test_a_malformed_call_raises_in_its_caller_and_the_batcher_goes_on() -> None:
    generator = BatchingGenerator(IdentityGenerator(crop_size=8), window_s=0.0)
    profile = ActorProfile("identity", {})
    with pytest.raises(InputError, match="shapes"):
        generator.render(np.zeros(()), np.zeros(()), np.zeros(()), profile)  # zero-dim: cannot be batched
    out = generator.render(_crops(1, 2), np.zeros((4, 468, 2), np.float32), np.zeros((4, 0), np.float32), profile)
    assert int(out[0, 0, 0, 0]) == 52 and generator.stats.calls == 1
