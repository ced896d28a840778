"""Take a file only once it has stopped growing: size and mtime unchanged for a while, and openable.

Copies over SMB/NFS or from a camera card arrive slowly; a file caught mid-copy would render half a shot.
A file is ready when it is non-empty, its (size, mtime) has not changed for ``settle_s`` seconds of the
caller's clock, and it opens for reading. Any change restarts the wait; ``settle_s=0`` takes a
non-empty, openable file at once (for files renamed into place complete).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass
class _Seen:
    signature: tuple[int, int]
    since: float


class StabilityTracker:
    """Remembers each file's last (size, mtime_ns) and since when it has held still."""

    def __init__(self, settle_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle_s = settle_s
        self.clock = clock
        self._seen: dict[Path, _Seen] = {}

    def is_ready(self, path: Path) -> bool:
        """True once ``path`` has been still for ``settle_s`` and can be opened; False while it may grow."""
        try:
            stat = path.stat()
        except OSError:
            self._seen.pop(path, None)
            return False
        signature = (stat.st_size, stat.st_mtime_ns)
        now = self.clock()
        seen = self._seen.get(path)
        if seen is None or seen.signature != signature:
            seen = self._seen[path] = _Seen(signature, now)
            if self.settle_s > 0:
                return False
        if stat.st_size == 0 or now - seen.since < self.settle_s:
            return False
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError:  # still locked by the writer (Windows) or unreadable for now
            return False
        return True

    def all_ready(self, paths: tuple[Path, ...]) -> bool:
        """True when every path is ready (each is checked, so each starts its wait now)."""
        return all([self.is_ready(p) for p in paths])

    def forget(self, path: Path) -> None:
        """Drop a file that was moved away."""
        self._seen.pop(path, None)
