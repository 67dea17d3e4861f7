"""Going from frame to frame: steps, jumps, scrubbing, playback, and frames the file lacks.

Steps, jumps, scrubbing and playback, and frames the file cannot give.

The navigator is the one place a frame is decoded for the screen. It shows the frame in the
view, then sets :attr:`ViewerState.frame`, which every other view follows (marks,
measurements, timeline, curves, title). Anyone may ask for a frame with
:meth:`ViewerState.request_frame`.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from usannotate.cine import CineError, CineLoop
from usannotate.ui.frame_errors import MissingFrames
from usannotate.ui.playback import SPEEDS, PlaybackController
from usannotate.ui.state import ViewerState
from usannotate.ui.transport import TransportBar
from usannotate.ui.viewer.view import CineView

__all__ = ["FrameNavigator"]


#: How often the status bar's playback text is rewritten while playing (seconds).
PLAYBACK_TEXT_INTERVAL_S = 0.25


class FrameNavigator(QObject):
    """Shows frames of the state's loop in ``view``, driven by keys, the transport bar,
    the playback clock and :meth:`ViewerState.request_frame`.

    ``frame_label`` and ``playback_label`` are the status bar's position and playback
    texts.
    """

    def __init__(
        self,
        state: ViewerState,
        view: CineView,
        transport: TransportBar,
        playback: PlaybackController,
        frame_label: QLabel,
        playback_label: QLabel,
    ) -> None:
        super().__init__(state)
        self._state = state
        self._view = view
        self._transport = transport
        self.playback = playback
        self._frame_label = frame_label
        self._playback_label = playback_label
        # The playback text ("2x · shown 120, skipped 3") is read a few times a second,
        # not 60: rewriting it every frame repaints the status bar and what lies under it.
        self._playback_text_due = 0.0
        self.missing_frames = MissingFrames()
        transport.frameRequested.connect(self._on_scrub)
        transport.stepRequested.connect(self.step)
        transport.playToggled.connect(playback.toggle)
        transport.speedChanged.connect(playback.set_speed)
        playback.frameDue.connect(self._on_frame_due)
        playback.playingChanged.connect(self._on_playing_changed)
        state.frameRequested.connect(self.jump)
        state.loopChanged.connect(self._on_loop_changed)

    # ------------------------------------------------------------------- loops
    def _on_loop_changed(self, loop: CineLoop | None) -> None:
        self.playback.stop()
        self._playback_label.clear()
        if loop is None:
            self.missing_frames.reset(0)
            self._transport.set_loop_length(0)
            self._frame_label.clear()
            return
        self._transport.set_loop_length(loop.n_frames)
        self.playback.set_timing(loop.frame_start_times_ms(), loop.frame_time_ms)
        self.missing_frames.reset(loop.n_frames)

    # ------------------------------------------------------------------ frames
    def show_index(self, index: int, *, direction: int = 0) -> bool:
        """Show frame ``index`` (clamped to the loop); False if it could not be read.

        A frame that cannot be shown never brings a dialog (a dialog per frame during
        play or scrub would lock the window): playback stops there and the status bar
        says once which frames are missing. ``direction`` (+1 / -1, a step the user
        asked for) goes on to the next frame that can be shown that way.
        """
        loop = self._state.loop
        if loop is None:
            return False
        index = max(0, min(int(index), loop.n_frames - 1))
        try:
            rgb = loop.frame(index)
        except CineError as exc:
            found = self._frame_failed(index, exc, direction)
            if found is None:
                return False
            index, rgb = found
        self._view.show_frame(rgb, index)
        self._state.set_frame(index)  # marks, measurements, timeline, curves, title follow
        self._show_position()
        return True

    def _show_position(self) -> None:
        loop, index = self._state.loop, self._state.frame
        if loop is None or index < 0:
            return
        time_ms = float(loop.frame_start_times_ms()[index]) if loop.n_frames > 1 else 0.0
        self._transport.show_position(index, time_ms)
        text = f"Frame {index + 1}/{loop.n_frames} · {time_ms:.1f} ms"
        if self.missing_frames.missing:
            text += f" · {len(self.missing_frames.missing)} missing"
        self._frame_label.setText(text)

    def _frame_failed(self, index: int, exc: CineError, direction: int):
        """Frame ``index`` cannot be shown: stop playback, say so once (see
        :class:`MissingFrames`); returns ``(frame, pixels)`` to show instead when stepping."""
        loop = self._state.loop
        assert loop is not None
        shown = self._state.frame
        playing = self.playback.is_playing
        self.playback.stop()
        found, text = self.missing_frames.failed(
            loop.frame,
            index,
            exc,
            direction,
            stopped_at=shown if playing and shown >= 0 else None,
        )
        if text:
            self._state.say(text, 30_000)
        if found is None and shown >= 0:
            self._show_position()  # the slider goes back to the frame on screen
            self.playback.set_current(shown)
        return found

    def step(self, delta: int) -> None:
        self.playback.stop()
        if self._state.loop is not None:
            self.jump(self._state.frame + delta, direction=1 if delta > 0 else -1)

    def jump(self, index: int, *, direction: int = 0) -> None:
        """Go to frame ``index``; ``direction``: over missing frames that way."""
        if self._state.loop is None:
            return
        self.playback.stop()
        self.show_index(index, direction=direction)  # clamped to the loop
        self.playback.set_current(self._state.frame)

    def jump_to_first(self) -> None:
        self.jump(0, direction=1)

    def jump_to_last(self) -> None:
        if self._state.loop is not None:
            self.jump(self._state.loop.n_frames - 1, direction=-1)

    def change_speed(self, direction: int) -> None:
        position = SPEEDS.index(self.playback.speed) + direction
        self._transport.set_speed(SPEEDS[max(0, min(len(SPEEDS) - 1, position))])

    def _on_scrub(self, index: int) -> None:
        self.show_index(index)
        self.playback.set_current(self._state.frame)

    def _on_frame_due(self, index: int) -> None:
        if self.missing_frames.is_missing(index):
            return  # reported when playback first met it: play on over it
        self.show_index(index)
        now = time.monotonic()
        if now >= self._playback_text_due:
            self._playback_text_due = now + PLAYBACK_TEXT_INTERVAL_S
            self._show_playback_text()

    def _show_playback_text(self) -> None:
        self._playback_label.setText(
            f"{self.playback.speed:g}x · shown {self.playback.frames_shown}, "
            f"skipped {self.playback.frames_missed}"
        )

    def _on_playing_changed(self, playing: bool) -> None:
        self._transport.show_playing(playing)
        self._playback_text_due = 0.0
        if not playing and self.playback.frames_shown:
            self._show_playback_text()  # the final counts
        if playing:
            self.playback.set_current(self._state.frame)
        self._state.set_playing(playing)
