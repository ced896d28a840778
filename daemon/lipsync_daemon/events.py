"""Change notices of the job store, so watchers wake when a job changes instead of polling hard."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class JobEvents:
    """A change counter with a condition; listeners also get each changed job id."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.version = 0
        self._listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(job_id)`` after every change (from the changing thread; keep it quick)."""
        self._listeners.append(listener)

    def changed(self, job_id: str) -> None:
        with self._cond:
            self.version += 1
            self._cond.notify_all()
        for listener in self._listeners:
            try:
                listener(job_id)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the thread that changed the job
                log.exception("job change listener failed", extra={"job": job_id})

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the version moves past ``seen`` or ``timeout`` seconds pass; return the version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen, timeout)
            return self.version
