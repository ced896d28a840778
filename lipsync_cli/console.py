"""Keep MediaPipe's and TFLite's native start-up chatter off the user's console.

MediaPipe's C++ graphs write absl log lines such as
``W0000 00:00:1795624826.28 4246 inference_feedback_manager.cc:114] Feedback manager requires ...``,
and TFLite prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``, straight to file
descriptor 2 from their own threads, before absl logging is initialised: neither GLOG_minloglevel nor
Python's logging reaches them. For the life of a command the CLI routes fd 2 through a pipe and drops
only those informational and warning lines; everything else (progress bars, our errors, native
errors and fatal lines) passes through as it arrives. ``LIPSYNC_NATIVE_LOGS=1`` turns the filter off.
"""
from __future__ import annotations

import os
import re
import sys
import threading

NOISE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d\d[.\d]*\s+\d+ [\w./-]+:\d+\] "
    rb"|INFO: Created TensorFlow Lite"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR)"
)
SEGMENT = re.compile(rb"[^\r\n]*(?:\r\n|\n|\r)")
HELD_PREFIXES = (b"I", b"W")  # a line that may turn out to be noise waits for its end of line
MAX_HELD = 4096


def filter_output(pending: bytes, final: bool = False) -> tuple[bytes, bytes]:
    """Split raw stderr bytes into (what to show now, what to keep for the next chunk).

    Complete lines (ended by \\n or \\r, which progress bars use) are shown unless they are noise. An
    unfinished tail is shown at once unless it could still become a noise line; ``final`` flushes it.
    """
    shown, end = [], 0
    for match in SEGMENT.finditer(pending):
        end = match.end()
        if not NOISE.match(match.group()):
            shown.append(match.group())
    tail = pending[end:]
    if tail and (final or not tail.startswith(HELD_PREFIXES) or len(tail) > MAX_HELD):
        if not NOISE.match(tail):
            shown.append(tail)
        tail = b""
    return b"".join(shown), tail


class NativeLogFilter:
    """Route a file descriptor (stderr) through :func:`filter_output` until :meth:`stop`."""

    def __init__(self, fd: int = 2) -> None:
        self.fd = fd
        self._saved: int | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sys.stderr.flush()
        self._saved = os.dup(self.fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, self.fd)
        os.close(write_end)
        # the pump writes to its own copy of the console, so a pump outliving stop() never writes to a reused fd
        self._thread = threading.Thread(target=_pump, args=(read_end, os.dup(self._saved)), name="lipsync-stderr",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Restore the descriptor; the pump sees end-of-file and writes out what it still holds."""
        if self._saved is None:
            return
        sys.stderr.flush()
        os.dup2(self._saved, self.fd)  # drops the pipe's last write end held by this process
        if self._thread is not None:
            self._thread.join(timeout=2.0)  # a child process still holding the pipe must not block exit
        os.close(self._saved)
        self._saved = None


def _pump(read_end: int, console: int) -> None:
    pending = b""
    try:
        while chunk := os.read(read_end, 65536):
            shown, pending = filter_output(pending + chunk)
            _write_all(console, shown)
        _write_all(console, filter_output(pending, final=True)[0])
    finally:
        os.close(read_end)
        os.close(console)


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass  # the console went away; there is nowhere else to put stderr text


def native_log_filter() -> NativeLogFilter | None:
    """A started filter for the console script, or None when LIPSYNC_NATIVE_LOGS=1 asks for raw logs."""
    if os.environ.get("LIPSYNC_NATIVE_LOGS") == "1":
        return None
    log_filter = NativeLogFilter()
    log_filter.start()
    return log_filter
