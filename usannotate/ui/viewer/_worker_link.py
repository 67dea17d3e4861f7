"""The link to the marks' worker process: shared memory for pictures, a thread to ask.

Shared memory blocks hold the pictures, one per picture in flight, and a thread of its own
does the asking (see :mod:`usannotate.ui.viewer.playback_marks`).
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from collections.abc import Callable
from multiprocessing import shared_memory

import numpy as np

__all__ = ["Dispatcher", "Slots"]

_log = logging.getLogger(__name__)


class Slots:
    """The shared memory blocks the worker writes pictures into, one per frame in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.blocks: list[shared_memory.SharedMemory] = []
        self._free: list[int] = []
        self._names: list[str] = []
        self.size = 0
        self.generation = 0
        # The blocks outlive nothing: unlinked at exit even if the window never closed.
        weakref.finalize(self, Slots._unlink_all, self.blocks)

    @staticmethod
    def _unlink_all(blocks: list[shared_memory.SharedMemory]) -> None:
        for block in blocks:
            try:
                block.close()
                block.unlink()
            except (OSError, BufferError):  # gone already, or a view still open
                pass
        blocks.clear()

    def ensure(self, count: int, size: int) -> bool:
        """At least ``count`` blocks of ``size`` bytes; True when they were made anew
        (the worker must be told their names)."""
        with self._lock:
            if len(self.blocks) >= count and self.size >= size:
                return False
            self._close()
            self.size = max(size, 1)
            self.blocks = [
                shared_memory.SharedMemory(create=True, size=self.size) for _ in range(count)
            ]
            self._free = list(range(count))
            self._names = [block.name for block in self.blocks]  # asked for every frame
            self.generation += 1
            return True

    def names(self) -> list[str]:
        return self._names

    def take(self) -> tuple[int, int] | None:
        """A free block's index and the blocks' generation (None: all in flight)."""
        with self._lock:
            return (self._free.pop(), self.generation) if self._free else None

    def give(self, index: int, generation: int) -> None:
        with self._lock:
            if generation == self.generation and index not in self._free:
                self._free.append(index)

    def read(self, index: int, generation: int, rows: int, columns: int) -> np.ndarray | None:
        """A copy of the picture the worker wrote into block ``index``."""
        with self._lock:
            if generation != self.generation:
                return None
            count = rows * columns * 4
            pixels = np.frombuffer(self.blocks[index].buf, np.uint8, count=count)
            return pixels.reshape(rows, columns, 4).copy()

    def _close(self) -> None:
        Slots._unlink_all(self.blocks)  # the same list the finalizer holds
        self._free = []
        self._names = []

    def close(self) -> None:
        with self._lock:
            self._close()
            self.generation += 1


class Dispatcher:
    """Runs what it is given, in order, on a thread of its own: the GUI thread asks for
    pictures through it. A submit to the process pool writes to a pipe, which releases
    the GIL, and the pool's own threads then take it: the GUI thread waited 2 to 7 ms for
    it back on every frame (cProfile of a 50-mark loop stepped frame by frame)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def put(self, call: Callable[[], None]) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="usannotate-marks-dispatch", daemon=True
            )
            self._thread.start()
        self._queue.put(call)

    def _run(self) -> None:
        while (call := self._queue.get()) is not None:
            try:
                call()
            except Exception:  # a call reports its own failure; the thread goes on
                _log.exception("asking the worker for a picture failed")

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)
        self._thread = None
