"""The loops of a folder read on a worker thread, one header at a time, for the Loops list.

Each file is opened header-only and summarised (:class:`LoopEntry`) on a worker thread
(:class:`FolderScanner`), in the order of :func:`usannotate.cine.list_loop_files`, the one listing
the viewer opens folders by.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from usannotate.cine import CineError, list_loop_files, open_cine
from usannotate.team.worklist import LoopStatus, loop_status
from usannotate.ui.workers import BackgroundJob, JobContext

# Entries travel to the GUI thread in batches at most this often (seconds): one model
# insert and one progress repaint per batch keep the GUI thread free on a big folder.
_BATCH_SECONDS = 0.05


@dataclass(frozen=True)
class LoopEntry:
    """One file of the folder, as the list shows it.

    Attributes
    ----------
    path : str
        The file's full path.
    name : str
        The file's name (the only identifying text ever shown: no DICOM patient tags).
    n_frames : int or None
        Frames present; None when the file cannot be opened.
    duration_ms : float or None
        Length of the loop in milliseconds; None when the file cannot be opened.
    size : str
        Image size as ``"columns x rows"`` in pixels, or ``""`` when unknown.
    error : str or None
        Why the file cannot be opened (starts with the file name), or None.
    frame_rate_fps : float or None
        Frames per second; None when the file cannot be opened.
    work : LoopStatus or None
        What its sidecar says (status, raters, tracks, last save), read with the
        header; None when not read (the Loops list reads it then).
    """

    path: str
    name: str
    n_frames: int | None
    duration_ms: float | None
    size: str
    error: str | None
    frame_rate_fps: float | None = None
    work: LoopStatus | None = None

    @property
    def openable(self) -> bool:
        """Whether the file opened as a loop (no error)."""
        return self.error is None


def read_entry(path: str) -> LoopEntry:
    """Open ``path`` header-only and summarise it; a file that fails becomes an error entry."""
    name = os.path.basename(path)
    try:
        loop = open_cine(path, prefetch_frames=0)
    except CineError as exc:
        return LoopEntry(path, name, None, None, "", str(exc))
    except Exception as exc:
        return _unexpected(path, exc)
    try:
        return LoopEntry(
            path,
            name,
            loop.n_frames,
            loop.duration_ms,
            f"{loop.columns} x {loop.rows}",
            None,
            loop.frame_rate_fps,
            loop_status(path, n_frames=loop.n_frames),
        )
    except Exception as exc:
        return _unexpected(path, exc)
    finally:
        loop.close()


def _unexpected(path: str, exc: Exception) -> LoopEntry:
    # Not our typed error: a bug or a very odd file. One file must not end the scan, and
    # the message may quote header values (patient data), so only its type is kept.
    name = os.path.basename(path)
    problem = f"{name}: could not be read ({type(exc).__name__})"
    return LoopEntry(path, name, None, None, "", problem)


# ---------------------------------------------------------------------- scanning
def _scan_folder(context: JobContext, folder: str):
    """The worker: list ``folder`` and read each loop's header, yielding
    ``("started", total)``, ``("batch", entries, done, total)`` or ``("failed", message)``;
    returns True when it ran to its end (not cancelled)."""
    try:
        paths = list_loop_files(folder)
    except OSError as exc:
        # The folder's name is left out: it may be a patient's.
        reason = exc.strerror or type(exc).__name__
        yield ("failed", f"This folder cannot be read ({reason})")
        return True
    total = len(paths)
    yield ("started", total)
    batch: list[LoopEntry] = []
    last_sent = time.monotonic()
    for done, path in enumerate(paths, 1):
        if context.cancelled.is_set():
            return False
        batch.append(read_entry(path))
        # A scan cancelled while a file was open must not deliver it.
        if context.cancelled.is_set():
            return False
        now = time.monotonic()
        # The first entry goes at once, so the list never looks stuck.
        if done in (1, total) or now - last_sent >= _BATCH_SECONDS:
            yield ("batch", batch, done, total)
            batch, last_sent = [], now
    return True


class FolderScanner(QObject):
    """Lists a folder's DICOM loops on a worker thread, one header at a time.

    Each file of :func:`~usannotate.cine.list_loop_files` (the order the viewer opens
    them in) is opened header-only, summarised as a :class:`LoopEntry` and closed. Results
    arrive on the GUI thread (see :class:`~usannotate.ui.workers.BackgroundJob`), so slots
    may touch widgets; a scan replaced or cancelled delivers nothing more.

    Signals
    -------
    started(total: int)
        The folder was listed: ``total`` files will be read.
    entriesReady(entries: list[LoopEntry])
        The next files read, in name order (batched: at most ~20 batches a second).
    progress(done: int, total: int)
        ``done`` files read so far; follows each ``entriesReady``.
    failed(message: str)
        The folder itself cannot be read (``finished`` follows).
    finished()
        The scan ran to its end. A cancelled scan emits nothing more, not even this.
    """

    started = Signal(int)
    entriesReady = Signal(list)
    progress = Signal(int, int)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folder: str | None = None
        self._job = BackgroundJob("folder scan", self)
        self._job.progressed.connect(self._on_news)
        self._job.finished.connect(self._on_finished)
        self._job.failed.connect(lambda exc: self._on_news(("failed", type(exc).__name__)))

    @property
    def folder(self) -> str | None:
        """The folder of the current (or last) scan."""
        return self._folder

    def is_running(self) -> bool:
        """Whether a scan is under way (started and neither finished nor cancelled)."""
        return self._job.is_running

    def scan(self, folder: str) -> None:
        """Start reading ``folder``, cancelling any scan still running. Returns at once."""
        self._folder = os.fspath(folder)
        self._job.start(_scan_folder, self._folder)

    def cancel(self) -> None:
        """Stop the running scan promptly (after the file being read); no-op when idle."""
        self._job.discard()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the scan's worker has stopped, for shutdown and tests.

        Returns False if ``msecs`` (milliseconds; -1 = no limit) ran out first.
        """
        return self._job.wait(None if msecs < 0 else msecs / 1000.0)

    def _on_news(self, news: object) -> None:
        kind, *rest = news  # type: ignore[misc]
        if kind == "started":
            self.started.emit(rest[0])
        elif kind == "batch":
            entries, done, total = rest
            self.entriesReady.emit(entries)
            self.progress.emit(done, total)
        elif kind == "failed":
            self.failed.emit(rest[0])

    def _on_finished(self, ran_to_end: object) -> None:
        if ran_to_end:
            self.finished.emit()
