"""A two-point line drawn on the image that is not a mark: the caliper and the calibration line.

The caliper measures a distance quickly, without a label, and is never saved; the
calibration line is drawn along a scale burned into the image, then its known length
gives the manual calibration. Both are drawn the same way: press at one end and drag to
the other, or click one end and then the other; Esc cancels.

:class:`LineTool` filters the view's mouse and key events only while it is active (it is
installed after the marking tools, so it sees the events first), and hands them as plain
``(x, y)`` image points to :meth:`LineTool.press`, :meth:`LineTool.move` and
:meth:`LineTool.release`, which tests can call without a window.
"""

from __future__ import annotations

import math
from enum import StrEnum

from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QKeyEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from usannotate.ui.viewer.view import CineView

__all__ = ["LINE_COLOURS", "LineItem", "LinePurpose", "LineTool"]

#: A press and release closer than this (screen pixels) is a click, not a drag.
_CLICK_PX = 3.0


class LinePurpose(StrEnum):
    CALIPER = "caliper"
    CALIBRATE = "calibrate"


LINE_COLOURS = {
    LinePurpose.CALIPER: QColor(255, 214, 0),
    LinePurpose.CALIBRATE: QColor(0, 220, 255),
}
_HINTS = {
    LinePurpose.CALIPER: "Caliper: drag from one end to the other (or click both ends); "
    "Esc cancels",
    LinePurpose.CALIBRATE: "Calibrate: draw a line along the scale burned into the image, "
    "e.g. from its 0 to its 4 cm mark (drag, or click both ends); Esc cancels",
}


class LineItem(QGraphicsItem):
    """A measuring line with end ticks and a caption, legible on any echo."""

    def __init__(self, colour: QColor) -> None:
        super().__init__()
        self.colour = colour
        self.line = QLineF()
        self.caption = ""
        self.setZValue(30)  # above the marks

    def set_line(self, start: QPointF, end: QPointF, caption: str = "") -> None:
        self.prepareGeometryChange()
        self.line = QLineF(start, end)
        self.caption = caption
        self.update()

    def _scale(self) -> float:
        """Scene units per screen pixel at the current zoom."""
        views = self.scene().views() if self.scene() is not None else []
        zoom = views[0].transform().m11() if views else 1.0
        return 1.0 / max(zoom, 1e-6)

    def _caption_font(self) -> QFont:
        font = QFont()
        font.setPointSizeF(10.0)
        font.setBold(True)
        return font

    def boundingRect(self) -> QRectF:
        s = self._scale()
        rect = QRectF(self.line.p1(), self.line.p2()).normalized()
        # Room for the ticks and the caption, which are drawn at a fixed screen size.
        width = QFontMetricsF(self._caption_font()).horizontalAdvance(self.caption) + 24
        pad = max(width, 40.0) * s
        return rect.adjusted(-pad, -pad, pad, pad)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self.line.isNull():
            return
        s = self._scale()
        halo = QPen(QColor(0, 0, 0, 180), 4.0 * s)
        pen = QPen(self.colour, 1.6 * s)
        normal = self.line.normalVector()
        length = self.line.length()
        ticks = []
        if length > 0:
            nx, ny = normal.dx() / length, normal.dy() / length
            for end in (self.line.p1(), self.line.p2()):
                offset = QPointF(nx * 6 * s, ny * 6 * s)
                ticks.append(QLineF(end - offset, end + offset))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for p in (halo, pen):
            painter.setPen(p)
            painter.drawLine(self.line)
            for tick in ticks:
                painter.drawLine(tick)
        if self.caption:
            self._paint_caption(painter, s)

    def _paint_caption(self, painter: QPainter, s: float) -> None:
        """The caption beside the line's middle, on the side away from the line, at a
        fixed screen size."""
        middle = self.line.center()
        painter.save()
        painter.translate(middle)
        painter.scale(s, s)
        font = self._caption_font()
        metrics = QFontMetricsF(font)
        box = metrics.boundingRect(self.caption).adjusted(-4, -2, 4, 2)
        angle = math.atan2(self.line.dy(), self.line.dx())
        # Offset perpendicular to the line, to the upper side.
        ox, oy = -math.sin(angle), math.cos(angle)
        if oy > 0:
            ox, oy = -ox, -oy
        distance = 8 + 0.5 * (abs(ox) * box.width() + abs(oy) * box.height())
        box.moveCenter(QPointF(ox * distance, oy * distance))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(box, 3, 3)
        painter.setFont(font)
        painter.setPen(self.colour)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.caption)
        painter.restore()


class LineTool(QObject):
    """Draws one line on ``view`` for a :class:`LinePurpose`, then hands it back.

    Signals
    -------
    lineMoved(str, object, object)
        While drawing: purpose, start and end ``(x, y)`` image points.
    lineFinished(str, object, object)
        The line is drawn: purpose, start and end ``(x, y)`` (pixel-corner convention).
    cancelled(str)
        Esc, or :meth:`cancel`.
    statusMessage(str)
    """

    lineMoved = Signal(str, object, object)
    lineFinished = Signal(str, object, object)
    cancelled = Signal(str)
    statusMessage = Signal(str)

    def __init__(self, view: CineView) -> None:
        super().__init__(view)
        self._view = view
        self.purpose: LinePurpose | None = None
        self._start: tuple[float, float] | None = None
        self._end: tuple[float, float] | None = None
        self._pressed_at: QPointF | None = None
        self._dragging = False
        self.preview = LineItem(LINE_COLOURS[LinePurpose.CALIPER])
        self.preview.setVisible(False)
        view.scene().addItem(self.preview)
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)

    @property
    def active(self) -> bool:
        return self.purpose is not None

    def start(self, purpose: LinePurpose | str) -> None:
        """Draw a line for ``purpose`` with the next left-button press."""
        self.purpose = LinePurpose(purpose)
        self._start = self._end = None
        self._dragging = False
        self.preview.colour = LINE_COLOURS[self.purpose]
        self.preview.setVisible(False)
        self._view.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self.statusMessage.emit(_HINTS[self.purpose])

    def cancel(self) -> None:
        purpose = self.purpose
        self._stop()
        if purpose is not None:
            self.cancelled.emit(purpose.value)
            self.statusMessage.emit("Line cancelled")

    def _stop(self) -> None:
        self.purpose = None
        self._start = self._end = None
        self._dragging = False
        self.preview.setVisible(False)
        self._view.viewport().unsetCursor()

    # ------------------------------------------------------------ plain handlers
    def press(self, x: float, y: float) -> None:
        """Left button down at image point ``(x, y)``."""
        if self.purpose is None:
            return
        point = self._clamp(x, y)
        if self._start is None:
            self._start = self._end = point
            self._dragging = True
            self._show()
        else:  # the second click of click-click
            self._end = point
            self._finish()

    def move(self, x: float, y: float) -> None:
        if self.purpose is None or self._start is None:
            return
        self._end = self._clamp(x, y)
        self._show()
        assert self.purpose is not None
        self.lineMoved.emit(self.purpose.value, self._start, self._end)

    def release(self, x: float, y: float, *, moved_px: float) -> None:
        """Left button up; ``moved_px`` is how far the cursor went since the press, in
        screen pixels (a click leaves the line open for a second click)."""
        if self.purpose is None or self._start is None or not self._dragging:
            return
        self._dragging = False
        if moved_px < _CLICK_PX:
            return
        self._end = self._clamp(x, y)
        self._finish()

    def _finish(self) -> None:
        assert self.purpose is not None
        assert self._start is not None
        assert self._end is not None
        if math.dist(self._start, self._end) < 0.5:
            self.statusMessage.emit("The line needs two different ends: draw it again")
            self._start = self._end = None
            self.preview.setVisible(False)
            return
        purpose, start, end = self.purpose, self._start, self._end
        self._stop()
        self.lineFinished.emit(purpose.value, start, end)

    def _show(self) -> None:
        assert self._start is not None
        assert self._end is not None
        self.preview.set_line(QPointF(*self._start), QPointF(*self._end))
        self.preview.setVisible(True)

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        bounds = self._view.frame_item.boundingRect()
        if bounds.isEmpty():
            return float(x), float(y)
        return (
            float(min(max(x, bounds.left()), bounds.right())),
            float(min(max(y, bounds.top()), bounds.bottom())),
        )

    # ------------------------------------------------------------------ Qt events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.purpose is None:
            return False
        kind = event.type()
        if watched is self._view:
            if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
                assert isinstance(event, QKeyEvent)
                if event.key() == Qt.Key.Key_Escape:
                    event.accept()
                    if kind == QEvent.Type.KeyPress:
                        self.cancel()
                    return True
            return False
        if not isinstance(event, QMouseEvent):
            return False
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        left = event.button() == Qt.MouseButton.LeftButton
        at = self._image_point(event)
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            if not left or ctrl:
                return False  # panning and the other buttons stay the view's
            self._pressed_at = event.position()
            self.press(at.x(), at.y())
            return True
        if kind == QEvent.Type.MouseMove:
            self.move(at.x(), at.y())
            return False  # the view still reports the cursor position
        if kind == QEvent.Type.MouseButtonRelease and left:
            moved = 0.0
            if self._pressed_at is not None:
                delta = event.position() - self._pressed_at
                moved = math.hypot(delta.x(), delta.y())
            self.release(at.x(), at.y(), moved_px=moved)
            return True
        return False

    def _image_point(self, event: QMouseEvent) -> QPointF:
        inverse, _ = self._view.viewportTransform().inverted()
        return inverse.map(event.position())
