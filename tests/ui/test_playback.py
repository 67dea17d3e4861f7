"""Playback follows a clock: the due frame, skipped frames, looping, speed."""

from __future__ import annotations

import numpy as np
import pytest

from usannotate.ui.playback import PLAYING_SWITCH_INTERVAL_S, PlaybackController


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += ms / 1000.0


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def player(qtbot, clock):
    controller = PlaybackController(clock=clock)
    shown: list[int] = []
    controller.frameDue.connect(shown.append)
    controller.shown = shown
    controller.set_timing(np.arange(10) * 20.0, 20.0)  # 10 frames at 50 fps
    yield controller
    controller.stop()


def test_due_frame_follows_the_clock_not_the_ticks(player, clock):
    player.play()
    clock.advance_ms(45)  # frame 2 is due (40..60 ms)
    player._tick()
    assert player.shown == [2]
    assert player.frames_missed == 1  # frame 1 was never shown
    clock.advance_ms(10)  # still frame 2
    player._tick()
    assert player.shown == [2]


def test_frames_shown_in_time_are_not_missed(player, clock):
    player.play()
    for _ in range(5):
        clock.advance_ms(20)
        player._tick()
    assert player.shown == [1, 2, 3, 4, 5]
    assert player.frames_missed == 0
    assert player.frames_shown == 5


def test_the_next_tick_is_timed_from_when_the_frame_was_shown(player, clock):
    # Showing a frame takes time (8 ms here): the next frame is still due at 40 ms.
    player.frameDue.connect(lambda _frame: clock.advance_ms(8))
    player.play()
    clock.advance_ms(20)
    player._tick()
    assert player.shown == [1]
    assert player._timer.interval() == 12  # 40 ms - 28 ms, not a whole frame from 20 ms


def test_wraps_around_when_looping(player, clock):
    player.set_current(8)
    player.play()
    clock.advance_ms(50)  # 160 + 50 = 210 ms -> 10 ms into the next lap
    player._tick()
    assert player.shown == [0]
    assert player.frames_missed == 1  # frame 9 skipped
    assert player.is_playing


def test_stops_at_the_end_without_looping(player, clock):
    player.looping = False
    player.set_current(7)
    player.play()
    clock.advance_ms(500)
    player._tick()
    assert player.shown[-1] == 9
    assert not player.is_playing


def test_speed_scales_the_clock_without_a_jump(player, clock):
    player.play()
    clock.advance_ms(30)  # frame 1 at 1x
    player._tick()
    player.set_speed(2.0)
    clock.advance_ms(10)  # 30 + 2 * 10 = 50 ms -> frame 2
    player._tick()
    assert player.shown == [1, 2]
    player.set_speed(0.25)
    clock.advance_ms(40)  # 50 + 10 = 60 ms -> frame 3
    player._tick()
    assert player.shown == [1, 2, 3]


def test_frame_time_vector_is_honoured(qtbot, clock):
    controller = PlaybackController(clock=clock)
    shown: list[int] = []
    controller.frameDue.connect(shown.append)
    controller.set_timing(np.array([0.0, 10.0, 100.0, 110.0]), 10.0)
    controller.play()
    clock.advance_ms(50)
    controller._tick()
    assert shown == [1]  # frame 1 lasts until 100 ms
    clock.advance_ms(55)
    controller._tick()
    assert shown == [1, 2]
    controller.stop()


def test_single_frame_loops_do_not_play(qtbot, clock):
    controller = PlaybackController(clock=clock)
    controller.set_timing(np.zeros(1), 33.3)
    controller.play()
    assert not controller.is_playing


def test_a_frame_handler_can_stop_playback(player, clock, qtbot):
    """A frame that cannot be shown stops playback from the frameDue handler: no later
    frame may be due after that (the old controller rescheduled its timer regardless)."""
    player.frameDue.connect(lambda index: player.stop() if index == 3 else None)
    changes: list[bool] = []
    player.playingChanged.connect(changes.append)
    player.play()
    for _ in range(6):
        clock.advance_ms(20)
        player._tick()
    assert player.shown == [1, 2, 3]
    assert not player.is_playing
    assert changes == [True, False]
    qtbot.wait(50)  # a timer left running would deliver more frames here
    assert player.shown == [1, 2, 3]


def test_is_playing_holds_while_a_frame_is_delivered(player, clock, qtbot):
    """The window skips per-frame work (measurements, mark caches) while playing: it must
    see ``is_playing`` from the frameDue handler a real timer tick calls."""
    seen: list[bool] = []
    player.frameDue.connect(lambda _: seen.append(player.is_playing))
    player.play()
    clock.advance_ms(20)
    qtbot.waitUntil(lambda: bool(seen), timeout=2000)
    assert seen[0] is True


def test_playing_hands_the_gil_back_to_the_window_sooner(player):
    """While playing, a thread waiting for the GIL waits at most 1 ms (the window's
    thread, for the decoding and worker threads' Python); Python's own interval after."""
    import sys

    before = sys.getswitchinterval()
    assert before > PLAYING_SWITCH_INTERVAL_S
    player.play()
    assert sys.getswitchinterval() == pytest.approx(PLAYING_SWITCH_INTERVAL_S)
    player.stop()
    assert sys.getswitchinterval() == pytest.approx(before)
    player.stop()  # stopping twice restores nothing twice
    assert sys.getswitchinterval() == pytest.approx(before)
