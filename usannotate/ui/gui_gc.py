"""Garbage collection on the GUI thread only: a collection on a worker thread can deadlock Qt.

Python collects cycles in whichever thread happens to allocate. When that is a worker
thread and the garbage holds Qt objects (widget wrappers the window let go of), their
destruction there takes Qt's connection lock and then waits for the GIL, while the GUI
thread, holding the GIL, waits for that lock: the app hangs (seen in an SR export running
while the Curves dock rebuilt its plots). So automatic collection is off and a timer on the
GUI thread collects, generation by generation, when Python's own thresholds say so: what
``pyqtgraph.util.garbage_collector.GarbageCollector`` does, written here because importing
pyqtgraph at start-up would cost its import time before the first frame.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QTimer

__all__ = ["collect_on_gui_thread", "defer_older_generations"]

_timer: QTimer | None = None
#: While True, only the youngest generation is collected (see defer_older_generations).
_deferred = False


def collect_on_gui_thread(app: QCoreApplication, interval_ms: int = 1000) -> None:
    """From now on collect garbage only on the GUI thread (once per process)."""
    global _timer
    if _timer is not None:
        return
    gc.disable()
    _timer = QTimer(app)
    _timer.setInterval(interval_ms)
    _timer.timeout.connect(_collect)
    _timer.start()


def defer_older_generations(deferred: bool) -> None:
    """While ``deferred`` (a loop plays), collect only the youngest generation (about a
    millisecond); the older ones wait until it is False again. With a loop and its marks
    open a collection of generation 1 took ~50 ms and of generation 2 ~200 ms of the GUI
    thread (measured): at 60 frames a second, 3 and 12 frames never shown."""
    global _deferred
    _deferred = deferred


def _collect() -> None:
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if counts[0] > thresholds[0]:
        gc.collect(0)
        if _deferred:
            return
        if counts[1] > thresholds[1]:
            gc.collect(1)
            if counts[2] > thresholds[2]:
                gc.collect(2)
