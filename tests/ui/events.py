"""Real mouse events at image points, for the GUI tests (``qtbot.mouseMove`` carries no
button state, so drags are sent as ``QMouseEvent``s, as a user's would arrive)."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.ui.paths import SAMPLE_A
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject

LEFT = Qt.MouseButton.LeftButton
NO_BUTTON = Qt.MouseButton.NoButton


def mouse(view, kind: QEvent.Type, x: float, y: float, button=LEFT, buttons=LEFT) -> None:
    """One mouse event on ``view``'s viewport at image point ``(x, y)``."""
    at = view.mapFromScene(QPointF(x, y))
    event = QMouseEvent(
        kind,
        QPointF(at),
        QPointF(view.viewport().mapToGlobal(at)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), event)


def click(view, x: float, y: float) -> None:
    """A left click at image point ``(x, y)``."""
    mouse(view, QEvent.Type.MouseButtonPress, x, y)
    mouse(view, QEvent.Type.MouseButtonRelease, x, y, LEFT, NO_BUTTON)


def drag(view, start: tuple[float, float], end: tuple[float, float], steps: int = 6) -> None:
    """Press at ``start``, move in ``steps`` with the left button held, release at ``end``."""
    mouse(view, QEvent.Type.MouseButtonPress, *start)
    for t in np.linspace(1.0 / steps, 1.0, steps):
        x = start[0] + t * (end[0] - start[0])
        y = start[1] + t * (end[1] - start[1])
        mouse(view, QEvent.Type.MouseMove, x, y, NO_BUTTON, LEFT)
    mouse(view, QEvent.Type.MouseButtonRelease, *end, LEFT, NO_BUTTON)


def add_needle(window, frame: int = 0) -> AnnotatedObject:
    """A needle from the sample loop's ground truth on ``frame``, pushed as an edit."""
    truth = json.loads(SAMPLE_A.with_name("hydrodissection_linear_a.truth.json").read_text())
    needle_truth = truth["frames"][40]["needle"]
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(frame, [needle_truth["entry"], needle_truth["tip"]])
    window.session.history.push(AddObject(needle))
    return needle
