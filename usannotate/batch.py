"""Folder-wide work on several processes: one task per loop, one progress line, errors kept.

Every folder-wide command (``status``, ``measure FOLDER``, ``deidentify`` of a folder,
``export`` of several loops, ``track``) hands its loops to :func:`run_batch` with a
picklable function of one loop. With ``jobs`` 1 the loops run in this process (no pool: a
small folder or a 1-core machine pays nothing); otherwise in a process pool of ``jobs``
workers (the standard library's; NumPy, OpenCV and the decoders each release the GIL only
in parts, and a loop's work is seconds, so processes, not threads). Results come back in
the loops' order whatever order they finish in. A loop that fails (its function raises)
is recorded with the one-line reason and the rest go on; the caller lists the failures at
the end and exits 2. No Qt.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TextIO, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    """The cores this process may use (``--jobs`` default)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def jobs_argument(value: str) -> int:
    """``--jobs N`` for argparse: a whole number of processes, at least 1."""
    try:
        jobs = int(value)
    except ValueError:
        raise ValueError(f"--jobs takes a whole number of processes, not {value!r}") from None
    if jobs < 1:
        raise ValueError("--jobs takes at least 1 process")
    return jobs


@dataclass
class BatchResult(Generic[T, R]):
    """What a batch gave: per item its result, or the reason it failed."""

    items: list[T]
    results: list[R | None] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[tuple[T, str]]:
        """The items that failed with their reasons, in the items' order."""
        return [(self.items[i], self.errors[i]) for i in sorted(self.errors)]

    def succeeded(self) -> list[tuple[T, R]]:
        """The items that worked with their results, in the items' order."""
        return [
            (item, result)  # type: ignore[misc]
            for i, (item, result) in enumerate(zip(self.items, self.results, strict=True))
            if i not in self.errors
        ]


class ProgressLine:
    """One line on a terminal (rewritten in place), or one line per tenth when ``stream``
    is not a terminal (a log file), saying how many of how many are done and failed."""

    def __init__(self, total: int, what: str = "loops", stream: TextIO | None = None) -> None:
        self.total, self.what = total, what
        self.stream = stream if stream is not None else sys.stderr
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def update(self, done: int, failed: int) -> None:
        text = f"{done}/{self.total} {self.what}" + (f", {failed} failed" if failed else "")
        if self._live:
            end = "\n" if done == self.total else ""
            self.stream.write(f"\r{text}{end}")
            self.stream.flush()
            return
        tenth = done * 10 // max(self.total, 1)
        if tenth != self._last_tenth or done == self.total:
            self._last_tenth = tenth
            self.stream.write(text + "\n")
            self.stream.flush()


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def run_batch(
    function: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    expected: tuple[type[BaseException], ...] = (Exception,),
) -> BatchResult[T, R]:
    """``function(item)`` for every item, on ``jobs`` processes.

    Parameters
    ----------
    function
        Picklable (a module-level function, or a ``functools.partial`` of one) when
        ``jobs`` > 1.
    progress
        Called with (done, failed) after each item.
    expected
        The exceptions that fail one item (recorded with their first line); anything else
        stops the batch and is raised.
    """
    items = list(items)
    batch: BatchResult[T, R] = BatchResult(items, [None] * len(items))
    if not items:
        return batch
    jobs = max(1, min(jobs, len(items)))
    done = 0
    if jobs == 1:
        for index, item in enumerate(items):
            try:
                batch.results[index] = function(item)
            except expected as error:
                batch.errors[index] = _reason(error)
            done += 1
            if progress is not None:
                progress(done, len(batch.errors))
        return batch
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # At most two tasks per worker in flight: a folder of thousands never queues them all.
        pending: dict[Future, int] = {}
        queue = iter(enumerate(items))

        def submit_next() -> bool:
            entry = next(queue, None)
            if entry is None:
                return False
            pending[pool.submit(function, entry[1])] = entry[0]
            return True

        for _ in range(2 * jobs):
            if not submit_next():
                break
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = pending.pop(future)
                    error = future.exception()
                    if error is None:
                        batch.results[index] = future.result()
                    elif isinstance(error, expected):
                        batch.errors[index] = _reason(error)
                    else:
                        raise error
                    done += 1
                    if progress is not None:
                        progress(done, len(batch.errors))
                    submit_next()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return batch


def report_failures(failed: Sequence[tuple[object, str]], stream: TextIO | None = None) -> None:
    """The failures, one line each, after the batch (names only, never folders)."""
    stream = stream if stream is not None else sys.stderr
    for item, reason in failed:
        name = os.path.basename(str(item)) or str(item)
        stream.write(
            f"usannotate: {name}: {reason}\n" if name not in reason else f"usannotate: {reason}\n"
        )
