"""One way to run work in the background: progress, cancel and stale results.

Built on superqt's generator workers (napari's ``thread_worker``): the work runs on Qt's
thread pool and ``yield``s progress (or reports it through :meth:`JobContext.report`, from
inside a library call that takes a callback) and ``return``s its result.
:class:`BackgroundJob` adds what every job of ours needs on top:

- **cancel** keeps what is done: the work sees :attr:`JobContext.cancelled` set and returns
  early with its partial result (tracking keeps the frames it tracked);
- **discard** drops the result: a job started for a loop that has since been closed, or a
  folder scan replaced by another, never delivers (each start bumps a generation, and the
  news of older generations is ignored);
- **wait** blocks until the work has left its function (closing the window, tests).

Used by tracking (:mod:`usannotate.ui.tracking`) and folder scans
(:mod:`usannotate.ui.docks.folder_scan`), and by the exports to come.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

__all__ = ["BackgroundJob", "JobContext", "Work", "preload"]


@dataclass(frozen=True)
class JobContext:
    """What the work gets: whether it was asked to stop, and a way to report progress
    from anywhere on its thread (a callback inside a library call)."""

    cancelled: threading.Event
    report: Callable[[object], None]


#: A job's work: called on a worker thread with its :class:`JobContext` (and the start's
#: arguments); a generator function (yields progress, returns the result) or a plain one.
Work = Callable[..., Any]


def preload() -> None:
    """Import superqt's workers now (~300 ms), at a quiet moment after start-up, so the
    first job (a folder scan, playback's geometry table, tracking) does not pay it."""
    import superqt.utils  # noqa: F401


class _Reports(QObject):
    """Carries :meth:`JobContext.report` values from the worker to the GUI thread."""

    value = Signal(int, object)


class BackgroundJob(QObject):
    """Runs one piece of work at a time off the GUI thread; news arrives on the GUI thread.

    Signals
    -------
    progressed(object)
        A value the work yielded.
    finished(object)
        The work's return value (also after :meth:`cancel`: what it did so far).
    failed(object)
        The exception the work raised (never after :meth:`discard`).
    """

    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._generation = 0
        self._cancel = threading.Event()
        self._running = False
        # Set once the latest work has left its function (kept after a discard: closing a
        # loop waits for a discarded tracking job that still reads its frames).
        self._exited: threading.Event | None = None
        self._worker: Any = None  # superqt.utils.GeneratorWorker
        self._reports = _Reports(self)
        self._reports.value.connect(self._on_yielded)

    @property
    def is_running(self) -> bool:
        """Started and its result not delivered yet (nor discarded)."""
        return self._running

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def start(self, work: Work, *args: Any) -> None:
        """Run ``work(context, *args)`` in the background; a job still running is
        discarded first."""
        self.discard()
        self._generation += 1
        generation = self._generation
        cancel = threading.Event()
        exited = threading.Event()
        self._cancel = cancel
        self._exited = exited
        self._running = True

        reports = self._reports
        context = JobContext(cancel, lambda value: reports.value.emit(generation, value))

        def run() -> Generator[Any, None, Any]:
            try:
                result = work(context, *args)
                if inspect.isgenerator(result):
                    result = yield from result
                return result
            finally:
                exited.set()

        # Imported on first use: superqt (and qtpy under it) cost ~300 ms to import, which
        # the window's start-up need not pay.
        from superqt.utils import GeneratorWorker

        worker = GeneratorWorker(run)
        worker.yielded.connect(lambda value, g=generation: self._on_yielded(g, value))
        worker.returned.connect(lambda value, g=generation: self._on_returned(g, value))
        worker.errored.connect(lambda exc, g=generation: self._on_errored(g, exc))
        self._worker = worker
        worker.start()

    def cancel(self) -> None:
        """Ask the work to stop soon; it returns what it has done (``finished`` follows)."""
        self._cancel.set()

    def discard(self) -> None:
        """Stop the work and never deliver its result (or anything else it says)."""
        self._cancel.set()
        self._generation += 1
        self._running = False

    def wait(self, timeout_s: float | None = 10.0) -> bool:
        """Block until the latest work has left its function (None: however long it
        takes); False on timeout."""
        return True if self._exited is None else self._exited.wait(timeout_s)

    def _on_yielded(self, generation: int, value: object) -> None:
        if generation == self._generation:
            self.progressed.emit(value)

    def _on_returned(self, generation: int, value: object) -> None:
        if generation == self._generation:
            self._running = False
            self.finished.emit(value)

    def _on_errored(self, generation: int, exc: object) -> None:
        if generation == self._generation:
            self._running = False
            self.failed.emit(exc)
