"""Atomic output: write to a hidden temp file beside the target, fsync, os.replace, fsync the folder.

A reader of the final path sees either nothing (or the previous file) or the complete new file, even
after a crash; on an exception or a cancel the temp file is removed and the final path is untouched.
Temp names start with a dot and end in ``.partial<ext>``, so watch folders can ignore them.
"""
from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lipsync_engine.errors import OutputError


def temp_path_beside(final: str | Path, tag: str = "partial") -> Path:
    """A fresh hidden path in ``final``'s folder, keeping its extension (muxers choose by it)."""
    final = Path(final)
    return final.with_name(f".{final.stem}.{secrets.token_hex(4)}.{tag}{final.suffix}")


class AtomicOutput:
    """One pending output: ``temp`` is written by the caller, then :meth:`commit` or :meth:`discard`."""

    def __init__(self, final: str | Path) -> None:
        self.final = Path(final)
        folder = self.final.parent
        if not folder.is_dir():
            raise OutputError(f"output folder '{folder}' does not exist; create it or choose another output path")
        if not os.access(folder, os.W_OK):
            raise OutputError(f"output folder '{folder}' is not writable; choose another output path")
        if self.final.is_dir():
            raise OutputError(f"output path '{self.final}' is a folder; pass a file name such as take.mov")
        self.temp = temp_path_beside(self.final)

    def commit(self) -> Path:
        """fsync the temp file, move it onto the final path, fsync the folder; return the final path."""
        try:
            fd = os.open(self.temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(self.temp, self.final)
            _fsync_dir(self.final.parent)
        except OSError as exc:
            self.discard()
            raise as_output_error(exc, self.final) from exc
        return self.final

    def discard(self) -> None:
        """Remove the temp file if it exists; the final path is left as it was."""
        try:
            self.temp.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``final``; on a clean exit it replaces ``final`` atomically.

    On any exception (cancel included) the temp file is removed and the exception re-raised; an
    ENOSPC or other OS error becomes OutputError saying how much space to free.
    """
    output = AtomicOutput(final)
    try:
        yield output.temp
    except BaseException as exc:
        output.discard()
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise as_output_error(exc, output.final) from exc
        raise
    output.commit()


def as_output_error(exc: OSError, final: Path, needed_bytes: int | None = None) -> OutputError:
    """An OutputError for an OS error met while writing ``final``, with the free space if the disk is full."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free_mb = shutil.disk_usage(final.parent).free / 1e6
        need = f"at least {needed_bytes / 1e6:.0f} MB" if needed_bytes else "more space"
        return OutputError(f"disk full writing '{final}' ({free_mb:.0f} MB free on its drive): free {need} "
                           f"or write the take to another drive; nothing was left at the output path")
    return OutputError(f"cannot write '{final}': {exc.strerror or exc}; nothing was left at the output path")


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder for fsync; os.replace is already atomic there
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
