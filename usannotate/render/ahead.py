"""Pictures of the frames ahead of the playhead, drawn elsewhere and kept until shown.

The cine loop's prefetch decodes frames ahead; this has what goes over them (the marks,
:mod:`usannotate.render.scene`) drawn the same way: a few frames in the direction of
travel, by whatever ``submit`` sends the work to (a worker process, a thread), so the GUI
thread only shows a picture that is ready. Everything drawn belongs to one *generation*:
:meth:`RenderAhead.reset` (the marks were edited, the view zoomed...) starts a new one,
and what an old one drew or is drawing is never handed out.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["RenderAhead"]

_log = logging.getLogger(__name__)

Picture = TypeVar("Picture")
#: Starts drawing a frame somewhere and returns the future of its picture.
Submit = Callable[[int], "Future[Picture]"]


class RenderAhead(Generic[Picture]):
    """Has the frames after the one shown drawn, keeps the last ``keep`` pictures and
    hands them out (:meth:`ready`, :meth:`wait_for`)."""

    def __init__(self, frames_ahead: int = 12, keep: int = 24) -> None:
        self.frames_ahead = max(1, int(frames_ahead))
        self.keep = max(self.frames_ahead + 1, int(keep))
        self._lock = threading.Lock()
        self._generation = 0
        self._submit: Submit | None = None
        self._done: OrderedDict[int, Picture | None] = OrderedDict()
        self._pending: dict[int, Future] = {}
        self._last: int | None = None
        self._pace = 1.0  # frames the playhead moves per frame shown, smoothed
        #: Frames whose drawing failed (the caller draws them another way).
        self.failures = 0

    def reset(self, submit: Submit | None) -> None:
        """Forget every picture; from now on have frames drawn by ``submit`` (None:
        by nothing)."""
        with self._lock:
            self._generation += 1
            self._submit = submit
            self._done.clear()
            cancelled = list(self._pending.values())
            self._pending.clear()
            self._last = None
            self._pace = 1.0
        # Outside the lock: a cancelled future runs its callbacks, which take the lock.
        for future in cancelled:
            future.cancel()

    def ready(self, frame: int) -> tuple[bool, Picture | None]:
        """``(True, picture)`` when ``frame`` is drawn (the picture may be None: nothing
        to draw on it), ``(False, None)`` otherwise."""
        with self._lock:
            if frame in self._done:
                return True, self._done[frame]
        return False, None

    def wait_for(
        self, frame: int, timeout_s: float, *, queued: bool = False
    ) -> tuple[bool, Picture | None]:
        """:meth:`ready`, waiting up to ``timeout_s`` when ``frame`` is being drawn (the
        GUI thread waits rather than draw it the slow way itself); when it is still
        queued (a future's ``started()``, or ``running()``, says) only if ``queued``."""
        with self._lock:
            if frame in self._done:
                return True, self._done[frame]
            future = self._pending.get(frame)
            generation = self._generation
        if future is None:
            return False, None
        started = getattr(future, "started", future.running)
        if not (queued or started() or future.done()):
            return False, None  # still queued behind others: not worth waiting for
        try:
            picture = future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            return False, None
        except Exception:  # cancelled, stale, failed: see _finished
            return False, None
        self._store(frame, generation, picture)
        return True, picture

    def follow(self, frame: int, n_frames: int) -> None:
        """``frame`` is on screen: have the frames it will be followed by drawn, the next
        :attr:`frames_ahead` at the pace the playhead moves (a playhead that skips frames
        because the screen cannot keep up is asked for the frames it will land on, not
        for those it will skip), in its direction, wrapping round as loops play; frames
        asked for before and now behind the playhead (or beyond what is asked for) are
        cancelled if they can be.

        The pace is a whole number of frames (a playhead skipping now and then is asked
        for every frame still): with a fractional pace the frames asked for changed on
        almost every frame as it wavered (1.2, then 1.1...), each time cancelling work
        in flight and asking for other frames, which made the pictures later still."""
        if n_frames <= 0:
            return
        with self._lock:
            submit = self._submit
            if submit is None:
                return
            if self._last is not None and frame != self._last:
                delta = (frame - self._last) % n_frames
                if delta > n_frames // 2:
                    delta -= n_frames
                self._pace = 0.5 * self._pace + 0.5 * delta
            self._last = frame
            # Whole frames, rounded towards 1 (a pace of 1.6 is still every frame).
            step = max(1, min(self.frames_ahead, int(abs(self._pace) + 0.25)))
            step = step if self._pace >= 0 else -step
            count = min(self.frames_ahead, n_frames - 1)
            ahead = [(frame + step * k) % n_frames for k in range(1, count + 1)]
            wanted = list(dict.fromkeys([frame, *ahead]))
            reach = abs(step) * count

            def behind(index: int) -> bool:
                return not 0 <= ((index - frame) * (1 if step > 0 else -1)) % n_frames <= reach

            extra = [i for i in self._pending if i not in wanted]
            if len(extra) + len(wanted) > self.frames_ahead + 3:  # what the drawer holds
                unwanted = extra
            else:
                unwanted = [i for i in extra if behind(i)]
            dropped = [self._pending.pop(i) for i in unwanted]
            missing = [i for i in wanted if i not in self._done and i not in self._pending]
            generation = self._generation
        # Outside the lock: cancelling and submitting run other code (callbacks, the
        # executor's own locks), which may come back for this lock.
        for future in dropped:
            future.cancel()
        for index in missing:
            try:
                future = submit(index)
            except Exception as error:  # the worker is gone: the caller draws the frames
                _log.warning("could not ask for frame %d to be drawn: %s", index, error)
                self.failures += 1
                return
            with self._lock:
                current = generation == self._generation
                if current:
                    self._pending[index] = future
            if not current:
                future.cancel()
                return
            future.add_done_callback(
                lambda done, index=index: self._finished(index, generation, done)
            )

    def _finished(self, frame: int, generation: int, future: Future) -> None:
        if future.cancelled():
            return
        try:
            picture = future.result()
        except Exception as error:  # a frame not drawn ahead is drawn the slow way
            with self._lock:
                if generation == self._generation:
                    self._pending.pop(frame, None)
                    self.failures += 1
            if type(error).__name__ != "StaleRequest":
                _log.warning("frame %d could not be drawn ahead: %s", frame, error)
            return
        self._store(frame, generation, picture)

    def _store(self, frame: int, generation: int, picture: Picture | None) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._pending.pop(frame, None)
            self._done[frame] = picture
            self._done.move_to_end(frame)
            while len(self._done) > self.keep:
                self._done.popitem(last=False)

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Block until the frames asked for are drawn (tests, benchmarks)."""
        with self._lock:
            futures = list(self._pending.values())
        _done, not_done = concurrent.futures.wait(futures, timeout=timeout_s)
        return not not_done
