"""pipeline/stages.py: bounded worker stages around the caller's loop (order, errors, cancel, no leaks)."""
from __future__ import annotations

import itertools
import threading
import time

import pytest

from lipsync_engine.errors import MediaError, OutputError, RenderCancelled
from lipsync_engine.pipeline.stages import FRAME_QUEUE_BYTES, Stages, frame_queue_depth


def stage_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lipsync-")]


@pytest.fixture(autouse=True)
def no_leaked_threads():
    assert stage_threads() == []
    yield
    assert stage_threads() == [], "a stage thread outlived its Stages block"


def run(threaded: bool, items, work=lambda x: x * 10) -> tuple[list, set[str]]:
    """items -> source -> caller (work) -> sink; returns what the sink saw and the threads that handled it."""
    seen, handlers = [], set()

    def handle(item):
        seen.append(item)
        handlers.add(threading.current_thread().name)

    with Stages(threaded=threaded) as stages:
        sink = stages.sink("encode", handle, depth=2)
        for item in stages.source("decode", items, depth=3):
            sink.put(work(item))
        sink.close()
    return seen, handlers


@pytest.mark.parametrize("threaded", [True, False])
def test_items_arrive_in_order_in_both_modes(threaded):
    seen, handlers = run(threaded, range(200))
    assert seen == [x * 10 for x in range(200)]
    assert handlers == ({"lipsync-encode"} if threaded else {threading.current_thread().name})


def test_source_runs_at_most_depth_items_ahead():
    pulled = itertools.count()
    taken = []

    def endless():
        while True:
            next(pulled)
            yield len(taken)

    with Stages() as stages:
        frames = stages.source("decode", endless(), depth=3)
        for _ in range(5):
            taken.append(next(frames))
            time.sleep(0.05)  # the worker has time to fill the queue
        ahead = next(pulled) - 1 - len(taken)
    # the queue's 3, plus the one the worker holds while waiting for room
    assert ahead <= 4, f"the source ran {ahead} items ahead of a depth-3 queue"


def test_sink_blocks_the_caller_when_its_queue_is_full():
    release = threading.Event()
    with Stages() as stages:
        sink = stages.sink("encode", lambda _: release.wait(5), depth=2)
        sink.put(0)  # taken by the worker, which then waits
        time.sleep(0.05)
        sink.put(1)
        sink.put(2)  # the queue is full now
        blocked = threading.Thread(target=sink.put, args=(3,), name="caller-put")
        blocked.start()
        blocked.join(0.3)
        assert blocked.is_alive(), "put returned although the queue was full"
        release.set()
        blocked.join(5)
        sink.close()


def test_source_error_reaches_the_caller_as_the_same_exception():
    error = MediaError("'shot.mov' is truncated: only 3 of 10 frames decode")

    def decoder():
        yield from range(3)
        raise error

    got = []
    with pytest.raises(MediaError) as caught:
        with Stages() as stages:
            for item in stages.source("decode", decoder(), depth=2):
                got.append(item)
    assert caught.value is error
    assert got == [0, 1, 2] or len(got) < 3  # never an item after the failure


def test_sink_error_stops_the_source_and_reaches_the_caller():
    decoded = itertools.count()

    def decoder():
        for i in itertools.count():
            next(decoded)
            yield i

    def encoder(item):
        if item == 5:
            raise OutputError("disk full writing 'take.mov'")

    with pytest.raises(OutputError, match="disk full"):
        with Stages() as stages:
            sink = stages.sink("encode", encoder, depth=2)
            for item in stages.source("decode", decoder(), depth=2):
                sink.put(item)
    assert next(decoded) < 20, "the decoder went on after the encoder failed"


def test_caller_error_stops_blocked_workers():
    """The caller fails while the source waits on a full queue and the sink on an empty one."""
    with pytest.raises(ZeroDivisionError):
        with Stages() as stages:
            stages.sink("encode", lambda _: None, depth=1)
            frames = stages.source("decode", itertools.count(), depth=1)
            next(frames)
            time.sleep(0.1)
            1 / 0


def test_source_iterator_is_closed_in_its_own_thread_when_stopped_early():
    closed_in = []

    def decoder():
        try:
            yield from itertools.count()
        finally:
            closed_in.append(threading.current_thread().name)

    with Stages() as stages:
        frames = stages.source("decode", decoder(), depth=2)
        next(frames)
    assert closed_in == ["lipsync-decode"]


def test_error_raised_on_close_when_the_sink_fails_last():
    def encoder(item):
        if item == 2:
            raise OutputError("the encoder failed at frame 2")

    with pytest.raises(OutputError):
        with Stages() as stages:
            sink = stages.sink("encode", encoder, depth=8)
            for item in range(3):
                sink.put(item)
            sink.close()


@pytest.mark.parametrize("blocked_on", ["source", "sink"])
def test_cancel_is_prompt_while_the_caller_waits(blocked_on):
    """The caller waits on a stalled decoder (empty queue) or a slow encoder (full queue) when cancel comes."""
    cancel = threading.Event()
    waits = []

    def stalling_decoder():
        yield 0
        time.sleep(1.5)  # no frame for a while: the caller waits on an empty queue

    def encoder(_):
        time.sleep(0.02 if blocked_on == "sink" else 0)

    items = stalling_decoder() if blocked_on == "source" else itertools.count()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started, raised_after = time.monotonic(), None
    with Stages(cancel=cancel, on_wait=lambda: waits.append(threading.current_thread().name), poll_s=0.02) as stages:
        try:
            sink = stages.sink("encode", encoder, depth=2)
            for item in stages.source("decode", items, depth=2):
                sink.put(item)
            sink.close()
        except RenderCancelled:
            raised_after = time.monotonic() - started
    timer.join()
    assert raised_after is not None and raised_after < 0.6, f"cancel took {raised_after} s"
    assert waits and set(waits) == {threading.current_thread().name}, "on_wait ran on a worker thread"


def test_cancel_set_while_the_sink_works_fails_close():
    cancel = threading.Event()
    handled = []

    def encoder(item):
        handled.append(item)
        if item == 1:
            cancel.set()

    with pytest.raises(RenderCancelled):
        with Stages(cancel=cancel) as stages:
            sink = stages.sink("encode", encoder, depth=10)
            for item in range(6):
                sink.put(item)
            sink.close()
    assert handled[-1] < 5, "the encoder went on after the cancel"


def test_queue_depth_is_bounded_in_bytes():
    class Info:  # the fields frame_queue_depth reads
        def __init__(self, width, height, bit_depth):
            self.width, self.height, self.bit_depth = width, height, bit_depth

    assert frame_queue_depth(Info(1920, 1080, 8), 8, native=True) == 8
    four_k = frame_queue_depth(Info(3840, 2160, 10), 8, native=True)
    assert four_k * 3840 * 2160 * 3 * 2 * 2 <= FRAME_QUEUE_BYTES and four_k >= 2
    assert frame_queue_depth(Info(8192, 8192, 16), 8, native=True) == 2  # never a queue that cannot overlap
