"""The one background-work helper: progress and results on the GUI thread, cancel keeps
what is done, discard drops it, errors reported, wait returns once the work has left."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread

from usannotate.ui.workers import BackgroundJob


def counting(context, upto: int, gate: threading.Event | None = None, delay_s: float = 0):
    """Yields 1..upto (waiting for ``gate`` first if given, ``delay_s`` per step)."""
    done = 0
    if gate is not None:
        gate.wait(5)
    for step in range(1, upto + 1):
        time.sleep(delay_s)
        if context.cancelled.is_set():
            break
        done = step
        yield step
    return done


def test_progress_and_result_arrive_on_the_gui_thread(qtbot):
    job = BackgroundJob("test")
    seen: list[tuple[int, bool]] = []
    main = QThread.currentThread()
    job.progressed.connect(lambda v: seen.append((v, QThread.currentThread() is main)))
    with qtbot.waitSignal(job.finished, timeout=5000) as finished:
        job.start(counting, 5)
    assert finished.args == [5]
    qtbot.waitUntil(lambda: len(seen) == 5)
    assert seen == [(k, True) for k in range(1, 6)]
    assert not job.is_running
    assert job.wait(1)


def test_cancel_keeps_what_was_done(qtbot):
    job = BackgroundJob("test")
    job.start(counting, 500, None, 0.01)  # 5 s of work
    assert job.is_running
    qtbot.wait(100)
    with qtbot.waitSignal(job.finished, timeout=5000) as finished:
        job.cancel()
    assert 0 < finished.args[0] < 500


def test_discard_delivers_nothing_and_a_new_start_wins(qtbot):
    job = BackgroundJob("test")
    results: list[object] = []
    job.finished.connect(results.append)
    gate = threading.Event()
    job.start(counting, 3, gate)
    job.discard()
    assert not job.is_running
    gate.set()
    assert job.wait(5)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start(counting, 2)
    qtbot.wait(50)
    assert results == [2]  # the discarded job's 3 never arrived


def test_a_plain_function_with_reports_and_an_error(qtbot):
    job = BackgroundJob("test")
    reports: list[object] = []
    job.progressed.connect(reports.append)

    def work(context):
        for k in range(3):
            context.report(k)  # from inside a callback, as tracking's progress does
        raise ValueError("the frame is damaged")

    with qtbot.waitSignal(job.failed, timeout=5000) as failed:
        job.start(work)
    assert isinstance(failed.args[0], ValueError)
    qtbot.waitUntil(lambda: reports == [0, 1, 2])
    assert not job.is_running
