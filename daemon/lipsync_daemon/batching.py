"""A batching proxy in front of the one loaded generator, shared by the jobs that render at once.

Each job's thread calls ``render`` as if it owned the generator; a dispatcher thread collects the
calls of all running jobs (waiting at most ``window_s`` for the other jobs' next batch), concatenates
the crops of calls whose actor profiles are interchangeable, runs the generator once, and hands each
caller its own rows back. On a GPU this turns several small batches into one large one; with one job
running it adds no wait. Every call into the wrapped generator is serialized (generators need not be
thread-safe).
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from lipsync_engine.errors import InputError
from lipsync_engine.generator.base import ActorProfile, Generator, ProfileSamples


@dataclass
class BatchStats:
    """What the dispatcher did: generator calls, caller requests, and calls that served several jobs."""

    calls: int = 0
    requests: int = 0
    shared_calls: int = 0  # generator calls whose rows came from more than one job
    max_jobs_in_call: int = 0


@dataclass
class _Request:
    crops: np.ndarray
    points: np.ndarray
    motion: np.ndarray
    profile: ActorProfile
    caller: int
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def same_profile(a: ActorProfile, b: ActorProfile) -> bool:
    """True when one generator call may serve both profiles (same generator and the same data)."""
    return a is b or (a.generator == b.generator and _same_value(a.data, b.data))


class BatchingGenerator:
    """Generator protocol proxy; see module docstring. Register each job with ``job()``."""

    def __init__(self, inner: Generator, window_s: float = 0.005, max_rows: int = 64) -> None:
        self.inner = inner
        self.name, self.backend, self.crop_size = inner.name, inner.backend, inner.crop_size
        self.window_s = window_s
        self.max_rows = max_rows
        self.stats = BatchStats()
        self._inner_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._rendering = 0  # jobs now in their render stage
        self._dispatcher: threading.Thread | None = None

    @contextmanager
    def job(self) -> Iterator[Callable[[bool], None]]:
        """Register a job; yields ``rendering(flag)``, which the job calls as it enters (True) and leaves
        (False) the stage that calls ``render``. The dispatcher waits only for jobs that are rendering,
        so a job that is still tracking its shot never holds up another's frames."""
        state = {"rendering": False}

        def rendering(flag: bool) -> None:
            with self._cond:
                if flag != state["rendering"]:
                    state["rendering"] = flag
                    self._rendering += 1 if flag else -1
                    self._cond.notify_all()

        try:
            yield rendering
        finally:
            rendering(False)

    def build_profile(self, samples: ProfileSamples) -> ActorProfile:
        with self._inner_lock:
            return self.inner.build_profile(samples)

    def plan(self, mel: np.ndarray, speech: np.ndarray, fps: Fraction, profile: ActorProfile,
             points: np.ndarray | None = None) -> np.ndarray:
        with self._inner_lock:
            return self.inner.plan(mel, speech, fps, profile, points)

    def render(self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile) -> np.ndarray:
        """Same contract as the wrapped generator's ``render``; blocks until this call's rows are done."""
        if np.ndim(crops) != 4 or np.ndim(points) < 1 or np.ndim(motion) < 1 or not (
                len(crops) == len(points) == len(motion)):
            raise InputError(f"render takes crops (n, S, S, 3), points (n, 468, 2) and motion (n, D) with one n; got "
                             f"shapes {np.shape(crops)}, {np.shape(points)}, {np.shape(motion)}")
        request = _Request(crops, points, motion, profile, caller=threading.get_ident())
        with self._cond:
            if self._dispatcher is None or not self._dispatcher.is_alive():
                self._dispatcher = threading.Thread(target=self._dispatch_forever, name="batcher", daemon=True)
                self._dispatcher.start()
            self._pending.append(request)
            self._cond.notify_all()
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def _take_batch(self) -> list[_Request]:
        """Wait for work, then for the other running jobs' calls (up to the window); take what fits."""
        with self._cond:
            while not self._pending:
                self._cond.wait()
            deadline = time.monotonic() + self.window_s
            while True:
                callers = {r.caller for r in self._pending}
                rows = sum(len(r.crops) for r in self._pending)
                left = deadline - time.monotonic()
                if len(callers) >= max(self._rendering, 1) or rows >= self.max_rows or left <= 0:
                    break
                self._cond.wait(left)
            batch, rows = [], 0
            for request in list(self._pending):
                if batch and rows + len(request.crops) > self.max_rows:
                    break
                batch.append(request)
                rows += len(request.crops)
                self._pending.remove(request)
            return batch

    def _dispatch_forever(self) -> None:
        while True:
            batch = self._take_batch()
            groups: list[list[_Request]] = []
            for request in batch:
                group = next((g for g in groups if same_profile(g[0].profile, request.profile)), None)
                if group is None:
                    groups.append([request])
                else:
                    group.append(request)
            for group in groups:
                self._run(group)  # never raises: errors go to the group's callers

    def _run(self, group: list[_Request]) -> None:
        try:
            with self._inner_lock:
                out = self.inner.render(
                    np.concatenate([r.crops for r in group]), np.concatenate([r.points for r in group]),
                    np.concatenate([r.motion for r in group]), group[0].profile,
                )
            start = 0
            for request in group:
                request.result = out[start : start + len(request.crops)]
                start += len(request.crops)
        except BaseException as exc:  # handed to every caller of the group, each re-raises it
            for request in group:
                request.error = exc
        jobs = len({r.caller for r in group})
        self.stats.calls += 1
        self.stats.requests += len(group)
        self.stats.shared_calls += jobs > 1
        self.stats.max_jobs_in_call = max(self.stats.max_jobs_in_call, jobs)
        for request in group:
            request.done.set()
