"""The daemon's face-track cache: one ``.npz`` per source shot (or frame range of it), so every language
of a shot is tracked once.

A shot's cache file is named by the sha256 of the source's realpath, size and mtime_ns and the frame
range rendered (never by a path a client chose), so an edited or replaced source gets a new track and
each range of a shot has its own. ``render_video(track=path)`` reads the file when it exists and
writes it (atomically) when it does not. A reuse only moves the file's access time (its mtime stays the
time it was tracked); when the folder holds more than ``max_files`` files or ``max_bytes`` bytes, the
least recently used files no job is using are removed.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def track_key(video: Path, video_range: tuple[int, int] | None = None) -> str:
    """Hex sha256 of ``realpath \\0 size \\0 mtime_ns`` of the source shot, plus ``\\0 first \\0 count``
    for a frame range (the whole shot keeps the key it always had)."""
    real = os.path.realpath(video)
    st = os.stat(real)
    frames = "" if video_range is None else f"\0{video_range[0]}\0{video_range[1]}"
    return hashlib.sha256(f"{real}\0{st.st_size}\0{st.st_mtime_ns}{frames}".encode()).hexdigest()


class TrackCache:
    """Track files under ``folder``, shared by the engine host's job threads."""

    def __init__(self, folder: Path, max_files: int, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.max_files, self.max_bytes = max_files, max_bytes
        self._in_use: Counter[Path] = Counter()
        self._lock = threading.Lock()

    def path_for(self, video: Path, video_range: tuple[int, int] | None = None) -> Path:
        return self.folder / f"{track_key(video, video_range)}.npz"

    @contextmanager
    def use(self, video: Path, video_range: tuple[int, int] | None = None) -> Iterator[Path]:
        """The track file of ``video`` (or of its ``video_range``; may not exist yet) for one render;
        marked used and pruned after."""
        path = self.path_for(video, video_range)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock:
            self._in_use[path] += 1
        try:
            yield path
        finally:
            with self._lock:
                self._in_use[path] -= 1
                if not self._in_use[path]:
                    del self._in_use[path]
            _touch_access(path)
            self.prune()

    def prune(self) -> list[Path]:
        """Remove least recently used track files beyond the caps (never one in use); return them."""
        with self._lock:
            in_use = set(self._in_use)
            entries = []
            for path in self.folder.glob("*.npz"):
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                entries.append((st.st_atime_ns, st.st_size, path))
            entries.sort()
            count, total = len(entries), sum(size for _, size, _ in entries)
            removed = []
            for _, size, path in entries:
                if count <= self.max_files and total <= self.max_bytes:
                    break
                if path in in_use:
                    continue
                path.unlink(missing_ok=True)
                removed.append(path)
                count, total = count - 1, total - size
            return removed


def _touch_access(path: Path) -> None:
    """Mark ``path`` as just used: its access time becomes now, its mtime is kept."""
    try:
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
    except FileNotFoundError:
        pass  # the render failed before tracking finished: nothing was cached
