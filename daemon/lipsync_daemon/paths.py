"""The path allow-list: every path a client names must resolve (realpath) inside an allowed root.

A path with ``..`` that climbs out, a symlink whose target leaves the roots, a relative path, a URL
or a device/FIFO is refused with PathRejected (an INVALID_ARGUMENT for the client).
"""
from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

# Inputs that make FFmpeg read other files or the network (playlists, concat lists, SDP).
PLAYLIST_MAGIC = (b"#EXTM3U", b"ffconcat", b"v=0\r\n", b"v=0\n", b"[playlist]")
PLAYLIST_SUFFIXES = {".m3u", ".m3u8", ".ffconcat", ".sdp", ".pls", ".txt"}


class PathRejected(ValueError):
    """A path is outside the allowed roots, or not a usable file; the message says which and why."""


class PathPolicy:
    """Allowed roots (made absolute and real once); answers whether a path may be read or written."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = tuple(Path(os.path.realpath(r)) for r in roots)

    def _inside(self, real: Path) -> bool:
        return any(real == root or root in real.parents for root in self.roots)

    def _resolve(self, path: str, what: str) -> Path:
        if not path:
            raise PathRejected(f"{what}: no path given")
        if "://" in path or path.startswith("\\\\"):
            raise PathRejected(f"{what} '{path}' is a URL or network path; give a local absolute path")
        if "\x00" in path:
            raise PathRejected(f"{what} path contains a NUL byte")
        if not os.path.isabs(path):
            raise PathRejected(f"{what} '{path}' is relative; give an absolute path under {self.describe()}")
        real = Path(os.path.realpath(path))
        if not self._inside(real):
            hint = " (a symlink or '..' leads out of the allowed roots)" if real != Path(os.path.normpath(path)) else ""
            raise PathRejected(f"{what} '{path}' is outside the allowed roots {self.describe()}{hint}")
        return real

    def describe(self) -> str:
        return "[" + ", ".join(str(r) for r in self.roots) + "]" if self.roots else "[] (none configured)"

    def readable_media(self, path: str, what: str) -> Path:
        """The real path of an existing regular media file under a root; playlists are refused."""
        real = self._resolve(path, what)
        try:
            st = real.stat()
        except OSError as exc:
            raise PathRejected(f"{what} '{path}' cannot be read: {exc.strerror}") from exc
        if not stat.S_ISREG(st.st_mode):
            raise PathRejected(f"{what} '{path}' is not a regular file")
        if real.suffix.lower() in PLAYLIST_SUFFIXES:
            raise PathRejected(f"{what} '{path}' is a playlist/list file ({real.suffix}); give the media file itself")
        with open(real, "rb") as f:
            head = f.read(16).lstrip(b"\xef\xbb\xbf")
        if head.startswith(PLAYLIST_MAGIC):
            raise PathRejected(f"{what} '{path}' is a playlist or stream description, not media; give the media file")
        return real

    def writable_output(self, path: str, what: str = "output") -> Path:
        """The real path an output may be written to: under a root, its folder existing, not a directory."""
        real = self._resolve(path, what)
        if real.is_dir():
            raise PathRejected(f"{what} '{path}' is a folder; give a file name")
        if not real.parent.is_dir():
            raise PathRejected(f"{what} folder '{real.parent}' does not exist; create it first")
        return real
