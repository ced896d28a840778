"""Progress events and cancellation for one stage of a long render."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lipsync_engine.errors import RenderCancelled
from lipsync_engine.options import Progress

ProgressCallback = Callable[[Progress], None]


class StageMeter:
    """Counts the frames of one stage, checks cancellation on each, and reports progress.

    Events go out at most every ``interval_s`` seconds plus once at the end of the stage, so a
    callback that updates a UI or a job store is never flooded.
    """

    def __init__(
        self,
        stage: str,
        total: int,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        interval_s: float = 0.25,
    ) -> None:
        self.stage = stage
        self.total = total
        self.done = 0
        self._progress = progress
        self._cancel = cancel
        self._interval_s = interval_s
        self._start = time.monotonic()
        self._last_sent = float("-inf")

    @property
    def cancel(self) -> threading.Event | None:
        """The caller's cancel event, for worker threads that must stop on it themselves."""
        return self._cancel

    def check_cancel(self) -> None:
        """Raise RenderCancelled if the caller has set the cancel event."""
        if self._cancel is not None and self._cancel.is_set():
            raise RenderCancelled(f"render cancelled by the caller during '{self.stage}' at frame {self.done}")

    def step(self, frames: int = 1) -> None:
        """Mark ``frames`` more frames done; check cancellation; maybe send a progress event."""
        self.done += frames
        self.check_cancel()
        now = time.monotonic()
        if now - self._last_sent >= self._interval_s:
            self._send(now)

    def finish(self) -> None:
        """Send the closing event of the stage."""
        self._send(time.monotonic())

    def warn(self, message: str) -> None:
        """Send an event that carries a warning a person should read."""
        self._send(time.monotonic(), message)

    @property
    def fps(self) -> float:
        elapsed = time.monotonic() - self._start
        return self.done / elapsed if elapsed > 0 else 0.0

    def _send(self, now: float, message: str = "") -> None:
        self._last_sent = now
        if self._progress is None:
            return
        fps = self.fps
        eta = (self.total - self.done) / fps if fps > 0 and self.total > 0 else None
        self._progress(
            Progress(stage=self.stage, done=self.done, total=self.total, fps=fps, eta_s=eta, message=message)
        )
