"""Frames decoded ahead of the playhead on worker threads, in the direction of travel."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor

import numpy as np

__all__ = ["Prefetcher"]

# Decoders release the GIL, so two workers keep two cores busy on a sequential pass
# while the UI thread, which mostly waits, stays responsive.
_PREFETCH_WORKERS = max(1, min(2, os.cpu_count() or 1))


class Prefetcher:
    """The worker threads of one loop and the frames queued on them.

    It holds no reference to the loop (the loop's finalizer shuts it down); the work
    to do is passed in with every call.
    """

    def __init__(self, frames_ahead: int) -> None:
        self.frames_ahead = max(0, int(frames_ahead))
        self.pending: dict[int, Future[np.ndarray]] = {}
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._last_index: int | None = None
        self._pace = 1.0  # frames the playhead moves per frame asked for, smoothed

    def result(self, index: int) -> np.ndarray | None:
        """Frame ``index`` once the worker decoding it is done; None when it is not
        queued (or was cancelled meanwhile: another caller moved the window away)."""
        with self._lock:
            future = self.pending.get(index)
        try:
            return future.result() if future is not None else None
        except CancelledError:
            return None

    def queue(
        self,
        indices: Iterable[int],
        n_frames: int,
        done: Callable[[int], bool],
        decode: Callable[[int], np.ndarray],
    ) -> None:
        """Queue ``decode`` of the frames of ``indices`` (within ``0 .. n_frames - 1``)
        that are not ``done`` nor queued; frames queued before and not wanted now are
        cancelled."""
        if self._closed:
            return
        wanted = [i for i in indices if 0 <= i < n_frames]
        with self._lock:
            # Frames queued for an earlier playhead position are no longer urgent.
            for i, future in list(self.pending.items()):
                if i not in wanted and future.cancel():
                    del self.pending[i]
            for i in wanted:
                if i in self.pending or done(i):
                    continue
                try:
                    self.pending[i] = self.worker().submit(self._run, decode, i)
                except RuntimeError:  # closed meanwhile by another thread
                    return

    def follow(
        self,
        index: int,
        n_frames: int,
        done: Callable[[int], bool],
        decode: Callable[[int], np.ndarray],
    ) -> None:
        """Frame ``index`` was asked for: queue the next :attr:`frames_ahead` frames in
        the direction of travel, at the pace the frames asked for move (wrapping round:
        loops play looped). A playback that skips frames, because the screen cannot keep
        up, has the frames it will land on decoded, not those it will skip: decoding
        those took the cores the screen needed, and more frames were skipped."""
        if self.frames_ahead == 0 or n_frames == 1:
            self._last_index = index
            return
        step = self._step(index, n_frames)
        self._last_index = index
        count = min(self.frames_ahead, n_frames - 1)
        ahead = dict.fromkeys((index + round(step * k)) % n_frames for k in range(1, count + 1))
        self.queue(list(ahead), n_frames, done, decode)

    def _step(self, index: int, n_frames: int) -> float:
        """Frames the next frame asked for will be from ``index``, signed: the moves of
        the last frames smoothed; a jump (a seek) or a turn starts over at one frame."""
        if self._last_index is None:
            self._pace = 1.0
            return 1.0
        delta = (index - self._last_index) % n_frames
        if delta > n_frames // 2:
            delta -= n_frames
        if delta == 0:
            pass
        elif abs(delta) > self.frames_ahead:
            self._pace = 1.0 if delta > 0 else -1.0
        elif (delta > 0) != (self._pace > 0):
            self._pace = float(delta)
        else:
            self._pace = 0.5 * self._pace + 0.5 * delta
        if abs(self._pace) < 1.0:
            return 1.0 if self._pace > 0 else -1.0
        return self._pace

    def _run(self, decode: Callable[[int], np.ndarray], index: int) -> np.ndarray:
        try:
            return decode(index)
        finally:
            with self._lock:
                self.pending.pop(index, None)

    def worker(self) -> ThreadPoolExecutor:
        """The worker threads (started on first use)."""
        if self._closed:
            raise RuntimeError("the loop is closed")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=_PREFETCH_WORKERS, thread_name_prefix="usannotate-prefetch"
            )
        return self._executor

    def shutdown(self, *, wait: bool = True) -> None:
        """Cancel what is queued and stop the workers (``wait``: for the running ones)."""
        self._closed = True
        executor = self._executor
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None
        self.pending.clear()
