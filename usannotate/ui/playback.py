"""Clock-driven playback: which frame is due now, and how many could not be shown."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from usannotate.ui import gui_gc

#: Playback speeds offered to the user (multiples of the recorded frame rate).
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


#: How long the GUI thread may wait for the GIL while playing (Python's default: 5 ms).
#: The frames' decoding threads and the worker pool's result thread run Python between
#: their calls; each time the GUI thread gave the GIL up (a pipe write, a lock, a paint)
#: it could wait up to the whole interval to get it back, a third of a frame at 60 fps.
PLAYING_SWITCH_INTERVAL_S = 0.001


class PlaybackController(QObject):
    """Plays a loop by the wall clock, like the scanner did.

    At every tick the frame due at this instant is computed from the frames' start
    times (so FrameTimeVector is honoured) and the playback speed; if the display fell
    behind, the frames in between are counted as missed and never queued.

    Signals
    -------
    frameDue(int)
        Show this frame now.
    playingChanged(bool)
    """

    frameDue = Signal(int)
    playingChanged = Signal(bool)

    def __init__(
        self, parent: QObject | None = None, clock: Callable[[], float] = time.perf_counter
    ):
        super().__init__(parent)
        self._clock = clock
        self._starts_ms = np.zeros(1)
        self._period_ms = 33.333
        self.speed = 1.0
        self.looping = True
        self.frames_shown = 0
        self.frames_missed = 0
        self._anchor_time = 0.0
        self._anchor_ms = 0.0
        self._switch_interval_s = sys.getswitchinterval()  # restored when playback stops
        self._current = 0
        # Playing is a state of its own, not "the timer is running": between a tick's
        # timeout and its next start the timer is idle, and a stop() asked by a frameDue
        # handler (a frame that cannot be shown) must not be undone by that reschedule.
        self._playing = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    # ---------------------------------------------------------------- set-up
    def set_timing(self, start_times_ms: np.ndarray, frame_time_ms: float) -> None:
        """Frame start times (ms, frame 0 at 0) and the nominal frame time of the loop."""
        self.stop()
        self._starts_ms = np.asarray(start_times_ms, dtype=float)
        self._period_ms = float(frame_time_ms)
        self._current = 0

    @property
    def n_frames(self) -> int:
        return len(self._starts_ms)

    @property
    def loop_duration_ms(self) -> float:
        return float(self._starts_ms[-1] + self._period_ms)

    @property
    def is_playing(self) -> bool:
        return self._playing

    def set_speed(self, speed: float) -> None:
        """Change speed without a jump: re-anchor the clock at the current position."""
        if self.is_playing:
            position = self._position_ms()
            self._anchor_time, self._anchor_ms = self._clock(), position
        self.speed = float(speed)

    def set_current(self, index: int) -> None:
        """Where playback starts next (the frame the user is looking at)."""
        self._current = int(index)
        if self.is_playing:
            self._anchor_time, self._anchor_ms = self._clock(), float(self._starts_ms[index])

    # -------------------------------------------------------------- playback
    def play(self) -> None:
        if self.n_frames < 2 or self.is_playing:
            return
        if not self.looping and self._current >= self.n_frames - 1:
            self._current = 0
            self.frameDue.emit(0)
        self.frames_shown = 0
        self.frames_missed = 0
        self._anchor_time = self._clock()
        self._anchor_ms = float(self._starts_ms[self._current])
        self._playing = True
        self._switch_interval_s = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval_s, PLAYING_SWITCH_INTERVAL_S))
        gui_gc.defer_older_generations(True)
        self._schedule()
        self.playingChanged.emit(True)

    def stop(self) -> None:
        """Stop playing; safe from a ``frameDue`` handler (no further frame is due)."""
        self._timer.stop()
        if self._playing:
            self._playing = False
            sys.setswitchinterval(self._switch_interval_s)
            gui_gc.defer_older_generations(False)
            self.playingChanged.emit(False)

    def toggle(self) -> None:
        if self.is_playing:
            self.stop()
        else:
            self.play()

    def _position_ms(self) -> float:
        """Playback position in loop time (ms), before wrapping."""
        return self._anchor_ms + (self._clock() - self._anchor_time) * 1000.0 * self.speed

    def due_index(self, position_ms: float) -> int:
        """The frame whose display interval contains ``position_ms`` (loop time, wrapped)."""
        # A microsecond of slack absorbs floating-point error at frame boundaries.
        return int(np.searchsorted(self._starts_ms, position_ms + 1e-3, side="right") - 1)

    def _tick(self) -> None:
        if not self._playing:
            return
        position = self._position_ms()
        duration = self.loop_duration_ms
        wrapped = False
        if position >= duration:
            if not self.looping:
                self._advance_to(self.n_frames - 1)
                self.stop()
                return
            laps = int(position // duration)
            position -= laps * duration
            self._anchor_ms -= laps * duration
            wrapped = True
        due = self.due_index(position)
        if due != self._current or wrapped:
            self._advance_to(due)
        if self._playing:  # the frame's handler may have stopped playback
            # From the clock now, after the frame's handler ran: timed from the tick's
            # start, the next tick came as late as this frame took to show, every frame.
            self._schedule()

    def _advance_to(self, due: int) -> None:
        step = (due - self._current) % self.n_frames
        if step > 1:
            self.frames_missed += step - 1
        self._current = due
        self.frames_shown += 1
        self.frameDue.emit(due)

    def _schedule(self, position_ms: float | None = None) -> None:
        position = self._position_ms() if position_ms is None else position_ms
        following = self._current + 1
        next_start = (
            float(self._starts_ms[following])
            if following < self.n_frames
            else self.loop_duration_ms
        )
        wait_ms = max(0.0, (next_start - position) / self.speed)
        self._timer.start(max(1, int(np.ceil(wait_ms - 1e-6))))  # not 13 ms for 12.0000001
