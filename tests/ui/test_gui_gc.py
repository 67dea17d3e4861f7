"""Garbage is collected on the GUI thread only (a worker thread's collection can hang Qt)."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject


class _Cycle:
    pass


def test_the_window_turns_collection_over_to_the_gui_thread(window, qtbot):
    assert not gc.isenabled()  # no collection in whichever thread allocates
    made = threading.Event()

    def make_garbage() -> None:
        # Garbage in cycles holding Qt objects, left on a worker thread as an export's
        # thread would leave it.
        for _ in range(2000):
            a, b = _Cycle(), _Cycle()
            a.other, b.other = b, a
            a.qt = QObject()
        made.set()

    worker = threading.Thread(target=make_garbage)
    worker.start()
    worker.join(10)
    assert made.is_set()
    before = gc.get_count()[0]
    assert before > gc.get_threshold()[0]  # the worker thread did not collect it
    qtbot.waitUntil(lambda: gc.get_count()[0] < before, timeout=5000)  # the GUI thread did


def test_while_a_loop_plays_only_the_youngest_generation_is_collected(monkeypatch):
    """Older generations (tens to hundreds of ms with a loop open) wait for the stop;
    playing and stopping the clock defers and resumes them."""
    import numpy as np

    from usannotate.ui import gui_gc
    from usannotate.ui.playback import PlaybackController

    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", collected.append)
    monkeypatch.setattr(gc, "get_count", lambda: (10_000, 10_000, 10_000))  # all due

    player = PlaybackController()
    player.set_timing(np.arange(10) * 20.0, 20.0)
    player.play()
    gui_gc._collect()
    assert collected == [0]
    player.stop()
    collected.clear()
    gui_gc._collect()
    assert collected == [0, 1, 2]
