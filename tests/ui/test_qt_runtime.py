"""Guards against a broken Qt binding: the app emits signals on every played frame."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(int)


def test_signal_emit_keeps_python_refcounts(qtbot):
    """PySide6 6.12.0 took a reference off True at every emit, which crashes the
    interpreter after a long playback; pyproject.toml excludes that release."""
    emitter = _Emitter()
    received: list[int] = []
    emitter.fired.connect(received.append)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for index in range(2000):
        emitter.fired.emit(index)
    assert len(received) == 2000
    assert abs(sys.getrefcount(True) - before_true) < 50
    assert abs(sys.getrefcount(None) - before_none) < 50
