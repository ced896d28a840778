"""Worker threads joined to the caller's loop by bounded queues, so decode, compute and encode overlap.

The caller's own thread stays the middle stage: it runs the generator (engines are not thread-safe and
a CUDA engine works on its caller's stream) and it sends the progress events, so callbacks never run
on a worker. Around it:

- ``source(name, items, depth)``: a thread pulls ``items`` (e.g. a decoder's frames) into a queue of at
  most ``depth`` items; the caller iterates what it returns.
- ``sink(name, handle, depth)``: the caller ``put``s items (e.g. frames to encode) into a queue of at most
  ``depth``; a thread calls ``handle`` on each, in order; ``close()`` waits until all are handled.

Threads pay off because PyAV's decode, encode and swscale, numpy, OpenCV, onnxruntime and torch
release the GIL. Memory stays bounded: each queue holds at most ``depth`` items, and a full queue
blocks its producer.

Failure: the first exception in any stage (the caller's included) stops every stage; a worker's
exception is raised in the caller's thread at its next put, get or close, as the same object (same
type, worker traceback kept). Cancel: once the ``cancel`` event is set, workers stop at their next
item and the caller's next put, get or close raises RenderCancelled (after ``on_wait``, which may
raise its own, more precise one). Leaving the ``with`` block joins every worker, so no thread outlives
it, and closes a source's iterator (a decoder's file) in the thread that used it.

``threaded=False`` runs the same stages inline in the caller's thread: the sequential path, with the
same items handled in the same order.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from lipsync_engine.errors import RenderCancelled

if TYPE_CHECKING:
    from lipsync_engine.media import VideoInfo

T = TypeVar("T")
POLL_S = 0.05  # how often a blocked stage looks at the stop and cancel events
# Most bytes of decoded frames one queue holds: 8 frames of 4K 8-bit (RGB + its YUV 4:2:0 samples, ~37 MB
# each, counted as 50 MB below), 4 of 4K 10-bit, 2 of 8K; whole batches at 1080p (up to 32 frames).
FRAME_QUEUE_BYTES = 384 << 20
_END = object()  # end of a stream


def frame_queue_depth(info: VideoInfo, wanted: int, *, native: bool = False) -> int:
    """Frames a queue of ``info``'s decoded frames may hold: ``wanted``, fewer where they would pass
    FRAME_QUEUE_BYTES, never under 2. A frame counts its RGB array, and as much again when the
    decoder's own samples travel with it (``native``: at most 4:4:4 at the same depth)."""
    rgb = info.width * info.height * 3 * (1 if info.bit_depth <= 8 else 2)
    return max(2, min(wanted, FRAME_QUEUE_BYTES // (rgb * (2 if native else 1))))


class Stages:
    """A set of worker stages around the caller's loop; use as a context manager (see module docstring)."""

    def __init__(
        self,
        *,
        threaded: bool = True,
        cancel: threading.Event | None = None,
        on_wait: Callable[[], None] | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        """``on_wait`` runs in the caller's thread while it waits on a worker (at most every ``poll_s``
        seconds): a place to send progress and check cancellation; it may raise."""
        self.threaded = threaded
        self._cancel = cancel
        self._on_wait = on_wait
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._inline_sources: list[Iterator] = []

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        for iterator in self._inline_sources:
            _close(iterator)
        if exc_type is None:
            self._raise_failure()  # e.g. a source that failed after the caller stopped reading it

    # -- stages --------------------------------------------------------------------------------
    def source(self, name: str, items: Iterable[T], depth: int) -> Iterator[T]:
        """Iterate ``items`` in a worker thread, at most ``depth`` items ahead of the caller."""
        iterator = iter(items)
        if not self.threaded:
            self._inline_sources.append(iterator)
            return iterator
        buffer: queue.Queue = queue.Queue(maxsize=_depth(depth))
        self._start(name, self._produce, iterator, buffer)
        return self._drain(buffer)

    def sink(self, name: str, handle: Callable[[T], None], depth: int) -> Sink[T]:
        """A Sink whose items a worker thread hands to ``handle`` in order, at most ``depth`` behind."""
        if not self.threaded:
            return Sink(self, handle, None, None)
        buffer: queue.Queue = queue.Queue(maxsize=_depth(depth))
        thread = self._start(name, self._consume, handle, buffer)
        return Sink(self, handle, buffer, thread)

    # -- worker side ---------------------------------------------------------------------------
    def _start(self, name: str, target: Callable, *args: object) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=f"lipsync-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _halted(self) -> bool:
        return self._stop.is_set() or (self._cancel is not None and self._cancel.is_set())

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = exc
        self._stop.set()

    def _offer(self, buffer: queue.Queue, item: object) -> bool:
        """Worker put: False when the stages stopped first."""
        while not self._halted():
            try:
                buffer.put(item, timeout=self._poll_s)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, iterator: Iterator, buffer: queue.Queue) -> None:
        try:
            for item in iterator:
                if not self._offer(buffer, item):
                    return
            self._offer(buffer, _END)
        except BaseException as exc:  # every error reaches the caller, whatever its type
            self._fail(exc)
        finally:
            try:
                _close(iterator)
            except BaseException as exc:
                self._fail(exc)

    def _consume(self, handle: Callable, buffer: queue.Queue) -> None:
        try:
            while not self._halted():
                try:
                    item = buffer.get(timeout=self._poll_s)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                handle(item)
        except BaseException as exc:
            self._fail(exc)

    # -- caller side ---------------------------------------------------------------------------
    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _check(self) -> None:
        """Raise a worker's error, or RenderCancelled once cancel is set."""
        self._raise_failure()
        if self._cancel is not None and self._cancel.is_set():
            if self._on_wait is not None:
                self._on_wait()
            raise RenderCancelled("render cancelled by the caller")

    def _waited(self) -> None:
        """One poll interval passed with the caller blocked."""
        self._check()
        if self._on_wait is not None:
            self._on_wait()

    def _drain(self, buffer: queue.Queue) -> Iterator:
        while True:
            self._check()
            try:
                item = buffer.get(timeout=self._poll_s)
            except queue.Empty:
                self._waited()
                continue
            if item is _END:
                return
            yield item

    def _put(self, buffer: queue.Queue, item: object) -> None:
        while True:
            self._check()
            try:
                buffer.put(item, timeout=self._poll_s)
                return
            except queue.Full:
                self._waited()

    def _join(self, thread: threading.Thread) -> None:
        while thread.is_alive():
            thread.join(self._poll_s)
            if thread.is_alive():
                self._waited()
        self._check()  # a worker that stopped on cancel or failed has not handled everything


class Sink(Generic[T]):
    """The caller's end of a sink stage: ``put`` items in order, then ``close`` once."""

    def __init__(self, stages: Stages, handle: Callable[[T], None], buffer: queue.Queue | None,
                 thread: threading.Thread | None) -> None:
        self._stages, self._handle, self._buffer, self._thread = stages, handle, buffer, thread

    def put(self, item: T) -> None:
        """Queue ``item`` (blocks while the queue is full); raises a worker's error or RenderCancelled."""
        if self._buffer is None:
            self._handle(item)
        else:
            self._stages._put(self._buffer, item)

    def close(self) -> None:
        """End the stream and wait until every item is handled; raises as ``put`` does."""
        if self._buffer is not None:
            self._stages._put(self._buffer, _END)
            self._stages._join(self._thread)


def _depth(depth: int) -> int:
    if depth < 1:
        raise ValueError(f"a stage queue holds at least 1 item, got depth {depth}")
    return depth


def _close(iterator: Iterator) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()
