"""Frames worked on by a few threads at once, handed out in order, never many held.

The per-frame work of de-identification and video export (mask, draw, encode) runs
mostly in OpenCV and imagecodecs calls that release the GIL, so threads use every core
without the copies a process pool would make of each 2 MB frame. Results come out in
the order of the items; at most ``workers * AHEAD_PER_WORKER`` are in flight, so memory
stays a few frames whatever the loop's length. One worker (a one-core machine) does the
work in the caller's thread, with no pool at all.
"""

from __future__ import annotations

import os
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
