"""Pictures drawn ahead of the playhead: what is asked for, kept, handed out, forgotten."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from usannotate.render.ahead import RenderAhead


class Drawer:
    """Draws frame ``f`` as the string ``"g<generation>:f"`` on a thread, and remembers
    what it was asked for; ``gate`` holds the drawing back until set."""

    def __init__(self, label: str = "a") -> None:
        self.label = label
        self.asked: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.pool = ThreadPoolExecutor(max_workers=1)

    def __call__(self, frame: int) -> Future:
        self.asked.append(frame)

        def draw() -> str:
            self.gate.wait(5)
            return f"{self.label}:{frame}"

        return self.pool.submit(draw)


@pytest.fixture
def ahead():
    return RenderAhead(frames_ahead=4, keep=8)


def test_the_frame_shown_and_those_after_it_are_drawn(ahead):
    drawer = Drawer()
    ahead.reset(drawer)
    ahead.follow(10, 100)
    assert drawer.asked == [10, 11, 12, 13, 14]
    assert ahead.wait(5)
    assert ahead.ready(12) == (True, "a:12")
    assert ahead.ready(20) == (False, None)


def test_loops_wrap_round_and_backwards_play_looks_behind(ahead):
    drawer = Drawer()
    ahead.reset(drawer)
    ahead.follow(98, 100)
    assert drawer.asked == [98, 99, 0, 1, 2]
    ahead.wait(5)
    drawer.asked.clear()
    ahead.follow(97, 100)
    ahead.follow(96, 100)
    assert set(drawer.asked) >= {97, 96, 95, 94, 93}
    assert 3 not in drawer.asked


def test_a_playhead_that_skips_frames_is_asked_for_where_it_lands():
    ahead = RenderAhead(frames_ahead=8, keep=20)
    drawer = Drawer()
    ahead.reset(drawer)
    for frame in (0, 3, 6, 9, 12, 15):
        ahead.follow(frame, 600)
        ahead.wait(5)
    drawer.asked.clear()
    ahead.follow(18, 600)
    ahead.wait(5)
    # Three frames a frame shown: 21, 24, 27... are drawn, not 19, 20, 22...
    assert drawer.asked
    assert all(frame % 3 == 0 for frame in drawer.asked)
    assert all(ahead.ready(frame)[0] for frame in (21, 24, 27, 30, 33, 36, 39, 42))


def test_a_playhead_that_skips_a_frame_now_and_then_is_asked_for_every_frame():
    ahead = RenderAhead(frames_ahead=8, keep=20)
    drawer = Drawer()
    drawer.gate.clear()  # nothing finishes: what was asked for stays in flight
    ahead.reset(drawer)
    cancelled: list[int] = []
    for frame in (0, 1, 2, 4, 5, 6, 8, 9):  # a pace of about 1.3 frames
        ahead.follow(frame, 600)
        for index, future in ahead._pending.items():
            future.add_done_callback(
                lambda f, index=index: cancelled.append(index) if f.cancelled() else None
            )
    assert sorted(set(drawer.asked)) == list(range(0, 18))  # every frame, none skipped
    assert len(drawer.asked) == len(set(drawer.asked))  # none asked for twice
    # Only frames the playhead has passed were given up, never one still ahead of it.
    assert set(cancelled) <= set(range(9))  # the playhead is on 9
    drawer.gate.set()
    assert ahead.wait(5)


def test_waiting_for_a_frame_being_drawn_gets_it(ahead):
    drawer = Drawer()
    drawer.gate.clear()
    ahead.reset(drawer)
    ahead.follow(3, 100)
    assert ahead.wait_for(3, 0.01) == (False, None)  # not drawn in time
    drawer.gate.set()
    assert ahead.wait_for(3, 5) == (True, "a:3")
    assert ahead.wait_for(50, 0.01) == (False, None)  # never asked for


def test_a_reset_forgets_what_the_old_generation_draws(ahead):
    old = Drawer("old")
    old.gate.clear()
    ahead.reset(old)
    ahead.follow(0, 100)
    new = Drawer("new")
    ahead.reset(new)  # an edit: what was being drawn is out of date
    old.gate.set()
    old.pool.shutdown(wait=True)
    assert ahead.ready(0) == (False, None)
    ahead.follow(0, 100)
    ahead.wait(5)
    assert ahead.ready(0) == (True, "new:0")


def test_only_the_last_pictures_are_kept(ahead):
    drawer = Drawer()
    ahead.reset(drawer)
    for frame in range(0, 40, 5):
        ahead.follow(frame, 100)
        ahead.wait(5)
    kept = [f for f in range(100) if ahead.ready(f)[0]]
    assert len(kept) == ahead.keep
    assert 35 in kept
    assert 0 not in kept


def test_a_failed_drawing_is_not_a_picture(ahead):
    def broken(frame: int) -> Future:
        future: Future = Future()
        future.set_exception(RuntimeError("the worker died"))
        return future

    ahead.reset(broken)
    ahead.follow(1, 10)
    assert ahead.ready(1) == (False, None)
    assert ahead.failures >= 1
