"""Frames worked on by a few threads at once, handed out in order, never many held.

The per-frame work of de-identification and video export (mask, draw, encode) runs
mostly in OpenCV and imagecodecs calls that release the GIL, so threads use every core
without the copies a process pool would make of each 2 MB frame. Results come out in
the order of the items; at most ``workers * AHEAD_PER_WORKER`` are in flight, so memory
stays a few frames whatever the loop's length. One worker (a one-core machine) does the
work in the caller's thread, with no pool at all.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

#: Items in flight per worker (one being worked on, one waiting).
AHEAD_PER_WORKER = 2
#: More threads than this gain nothing on a frame of a few ms (and cost memory).
MAX_WORKERS = 4


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """Threads for the per-frame work: one per usable CPU, at most :data:`MAX_WORKERS`."""
    return min(usable_cpus(), MAX_WORKERS)


def map_in_order(
    work: Callable[[In], Out], items: Iterable[In], workers: int, *, name: str = "usannotate"
) -> Iterator[Out]:
    """``work(item)`` for each item, on ``workers`` threads, yielded in the items' order.

    An exception raised by ``work`` is raised here when its item's turn comes. Closing
    the generator early (the consumer failed or was cancelled) drops the items not yet
    started and waits for the ones running, so no thread outlives the call.
    """
    if workers <= 1:
        for item in items:
            yield work(item)
        return
    pending: deque[Future[Out]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) >= workers * AHEAD_PER_WORKER:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


_opencv_lock = threading.Lock()
_opencv_users = 0
_opencv_threads_before = 0


@contextlib.contextmanager
def opencv_single_threaded() -> Iterator[None]:
    """OpenCV's own thread pool off while the block runs (restored after the last of
    several overlapping blocks ends).

    The per-frame pipelines already keep every core busy with their own threads; OpenCV
    splitting each call over its pool as well only adds workers that spin waiting for
    work: ~1 ms of CPU a frame of the annotated video export (of ~10), for no gain in
    time (benchmarks/bench_media.py). The drawing worker process does the same.
    """
    import cv2

    global _opencv_users, _opencv_threads_before
    with _opencv_lock:
        if _opencv_users == 0:
            _opencv_threads_before = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _opencv_users += 1
    try:
        yield
    finally:
        with _opencv_lock:
            _opencv_users -= 1
            if _opencv_users == 0:
                cv2.setNumThreads(_opencv_threads_before)
