"""Marks in progress, not in the model yet: the mark being drawn and the mark being dragged.

The mark being drawn (:class:`Sketch`) with the dashed item that shows it on the image
(:class:`SketchItem`), and a mark being dragged (:class:`Drag`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QStyleOptionGraphicsItem

from usannotate.annotations import Label, ShapeKind

__all__ = ["Drag", "Sketch", "SketchItem"]


@dataclass
class Sketch:
    """A mark being drawn (not in the model yet)."""

    points: list[tuple[float, float]] = field(default_factory=list)
    cursor: tuple[float, float] | None = None
    new_object: bool = False  # Shift: do not continue an existing object of the label
    pressed: bool = False  # left button down since the last press (freehand possible)
    freehand: bool = False


@dataclass
class Drag:
    """A selected mark (or one of its vertices) being dragged: its item shows ``current``
    (a preview: the model is not touched) and one SetPoints is pushed on release."""

    object_id: str
    frame: int
    start: np.ndarray
    origin: np.ndarray
    vertex: int | None
    current: np.ndarray
    moved: bool = False


class SketchItem(QGraphicsPathItem):
    """The mark being drawn: dashed in its label's colour over a dark halo, with the
    points placed so far as small squares (all sizes in screen pixels)."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(30)  # above the marks
        self.colour = QColor("#ffffff")
        self.vertices: list[tuple[float, float]] = []
        self.closing: tuple[tuple[float, float], tuple[float, float]] | None = None

    def boundingRect(self) -> QRectF:
        # Cosmetic pens and squares are a few screen pixels wide at any zoom.
        return self.path().boundingRect().adjusted(-12, -12, 12, 12)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        halo = QPen(QColor(0, 0, 0, 190), 4.0)
        halo.setCosmetic(True)
        dashed = QPen(self.colour, 2.0, Qt.PenStyle.DashLine)
        dashed.setCosmetic(True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen in (halo, dashed):
            painter.setPen(pen)
            painter.drawPath(self.path())
        if self.closing is not None:  # where a region would close: fainter
            faint = QPen(self.colour, 1.0, Qt.PenStyle.DotLine)
            faint.setCosmetic(True)
            painter.setPen(faint)
            painter.drawLine(QPointF(*self.closing[0]), QPointF(*self.closing[1]))
        scale = max(painter.worldTransform().m11(), 1e-6)
        border = QPen(QColor(0, 0, 0), 1.0)
        border.setCosmetic(True)
        painter.setPen(border)
        painter.setBrush(self.colour)
        for index, (x, y) in enumerate(self.vertices):
            half = (4.0 if index == 0 else 3.0) / scale
            painter.drawRect(QRectF(x - half, y - half, 2 * half, 2 * half))

    def show(self, sketch: Sketch | None, label: Label | None, drawing: bool) -> None:
        """Show ``sketch`` in ``label``'s colour (hidden when there is nothing to show or
        the tools are not ``drawing``); the line runs on to the cursor unless freehand."""
        if sketch is None or not sketch.points or label is None or not drawing:
            self.setVisible(False)
            return
        path = QPainterPath(QPointF(*sketch.points[0]))
        for point in sketch.points[1:]:
            path.lineTo(QPointF(*point))
        if sketch.cursor is not None and not sketch.freehand:
            path.lineTo(QPointF(*sketch.cursor))
        last = sketch.cursor if sketch.cursor and not sketch.freehand else sketch.points[-1]
        closing = label.kind == ShapeKind.REGION and len(sketch.points) >= 2
        self.prepareGeometryChange()
        self.setPath(path)
        self.colour = QColor(label.colour)
        self.vertices = [] if sketch.freehand else list(sketch.points)
        self.closing = (last, sketch.points[0]) if closing else None
        self.setVisible(True)
        self.update()
