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
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

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
    import argparse

    try:
        jobs = int(value)
    except ValueError:
        message = f"--jobs takes a whole number of processes, not {value!r}"
        raise argparse.ArgumentTypeError(message) from None
    if jobs < 1:
        raise argparse.ArgumentTypeError("--jobs takes at least 1 process")
    return jobs


def add_jobs_option(parser: object) -> None:
    """``--jobs N`` on a folder-wide subcommand's parser (default: the cores)."""
    parser.add_argument(  # type: ignore[attr-defined]
        "--jobs",
        type=jobs_argument,
        default=None,
        metavar="N",
        help=f"loops worked on at once, each in its own process (default: the cores, "
        f"{default_jobs()} here)",
    )


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


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class BatchError(RuntimeError):
    """An item failed with an exception the batch did not expect (named, with its line)."""


def _call(
    function: Callable[[T], R], expected: tuple[type[BaseException], ...], item: T
) -> tuple[str, object]:
    """``function(item)`` in a worker, its outcome as plain data: our errors carry their
    own arguments and do not all survive pickling back, so only their line comes back."""
    try:
        return "ok", function(item)
    except expected as error:
        return "failed", _reason(error)
    except Exception as error:
        return "error", f"{type(error).__name__}: {_reason(error)}"


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
        stops the batch and is raised (from another process: as :class:`BatchError`).
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
            pending[pool.submit(_call, function, expected, entry[1])] = entry[0]
            return True

        for _ in range(2 * jobs):
            if not submit_next():
                break
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = pending.pop(future)
                    outcome, value = future.result()
                    if outcome == "ok":
                        batch.results[index] = value  # type: ignore[assignment]
                    elif outcome == "failed":
                        batch.errors[index] = str(value)
                    else:
                        raise BatchError(str(value))
                    done += 1
                    if progress is not None:
                        progress(done, len(batch.errors))
                    submit_next()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return batch
