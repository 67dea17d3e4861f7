"""Other raters' marks on the image: read-only, dashed, one style per rater.

The items here are never picked, selected or dragged (they take no mouse button and are
not in :class:`~usannotate.ui.viewer.marks.AnnotationLayer`'s items, which the marking
tools hit-test), so another rater's marks cannot be edited, and they belong to no
session, so they are never saved into this rater's file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QStyleOptionGraphicsItem,
)

from usannotate.annotations import Annotations, ShapeKind

__all__ = ["RATER_STYLES", "RaterCaption", "RaterLayer", "RaterMarkItem", "RaterStyle"]


@dataclass(frozen=True)
class RaterStyle:
    """How one rater's marks are drawn: a colour and a dash pattern (in pen widths)."""

    colour: str
    dashes: tuple[float, ...]


#: Styles given to raters in order (distinct in colour and dash, none solid: solid lines
#: are this rater's own marks).
RATER_STYLES = (
    RaterStyle("#ff9f1c", (5.0, 3.0)),
    RaterStyle("#2ec4b6", (1.5, 2.5)),
    RaterStyle("#f15bb5", (7.0, 2.5, 1.5, 2.5)),
    RaterStyle("#9bf6ff", (3.0, 3.0)),
    RaterStyle("#c77dff", (9.0, 4.0)),
)
_LINE_WIDTH_PX = 2.0
_POINT_RADIUS_PX = 4.0


def _path(points: np.ndarray, kind: ShapeKind) -> QPainterPath:
    path = QPainterPath()
    if kind == ShapeKind.POINT:
        x, y = (float(v) for v in points[0])
        path.addEllipse(QPointF(x, y), _POINT_RADIUS_PX, _POINT_RADIUS_PX)
        return path
    path.moveTo(float(points[0][0]), float(points[0][1]))
    for x, y in points[1:]:
        path.lineTo(float(x), float(y))
    if kind == ShapeKind.REGION:
        path.closeSubpath()
    return path


class RaterMarkItem(QGraphicsPathItem):
    """One mark of another rater on one frame, with the caption ``label — rater``."""

    def __init__(
        self,
        rater: str,
        label_name: str,
        kind: ShapeKind,
        points: np.ndarray,
        style: RaterStyle,
    ) -> None:
        super().__init__(_path(points, kind))
        self.rater = rater
        pen = QPen(QColor(style.colour), _LINE_WIDTH_PX)
        pen.setCosmetic(True)  # the same width on screen at any zoom
        pen.setDashPattern(list(style.dashes))
        self.setPen(pen)
        if kind == ShapeKind.REGION:
            fill = QColor(style.colour)
            fill.setAlpha(28)
            self.setBrush(QBrush(fill))
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, False)
        self.setZValue(8)  # under this rater's own marks (10) and their captions
        anchor = points[-1] if kind != ShapeKind.REGION else points[np.argmax(points[:, 0])]
        self.caption = RaterCaption(f"{label_name} — {rater}", style.colour)
        self.caption.setPos(QPointF(float(anchor[0]), float(anchor[1])))


class RaterCaption(QGraphicsItem):
    """``label — rater`` on a dark plate, in the rater's colour, at a constant size on
    screen; ``row`` stacks the captions of several raters' marks at one place."""

    def __init__(self, text: str, colour: str, row: int = 0) -> None:
        super().__init__()
        self.text = text
        self._colour = QColor(colour)
        self._font = QFont()
        self._font.setPointSizeF(8.5)
        metrics = QFontMetricsF(self._font)
        self._size = (metrics.horizontalAdvance(text) + 8.0, metrics.height() + 2.0)
        self._rect = QRectF()
        self.set_row(row)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(9)

    def set_row(self, row: int) -> None:
        """Stack the caption ``row`` lines below its anchor (screen px)."""
        self.prepareGeometryChange()
        width, height = self._size
        self._rect = QRectF(6.0, 4.0 + row * (height + 2.0), width, height)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 165))
        painter.drawRoundedRect(self._rect, 3.0, 3.0)
        painter.setPen(self._colour)
        painter.setFont(self._font)
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class RaterLayer:
    """Draws the marks of other raters for the frame shown (none until :meth:`set_raters`).

    ``raters`` maps a rater's name to their annotations (read from their sidecar); each
    rater keeps one :class:`RaterStyle` while the layer lives.
    """

    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self.raters: dict[str, Annotations] = {}
        self.styles: dict[str, RaterStyle] = {}
        self.visible = False
        self.items: list[RaterMarkItem] = []

    def set_raters(self, raters: dict[str, Annotations]) -> None:
        """Use these raters' annotations (styles follow the names' order)."""
        self.raters = dict(raters)
        self.styles = {
            name: RATER_STYLES[i % len(RATER_STYLES)] for i, name in enumerate(sorted(raters))
        }

    def show(self, frame: int) -> None:
        """Draw the raters' marks of ``frame`` (nothing while hidden)."""
        self.clear()
        if not self.visible or frame < 0:
            return
        for rater, marks in self.raters.items():
            for obj in marks.objects:
                points = obj.points(frame)
                if points is None or len(points) == 0:
                    continue
                label = marks.label_set.get(obj.label_id)
                name = label.name if label is not None else obj.label_id
                item = RaterMarkItem(rater, name, obj.kind, points, self.styles[rater])
                self.scene.addItem(item)
                self.scene.addItem(item.caption)
                self.items.append(item)
        self._keep_captions_apart()

    def _keep_captions_apart(self) -> None:
        """Move a caption down a line while it would cover one placed before it (in
        screen px: captions keep their size at any zoom)."""
        views = self.scene.views()
        if not views:
            return
        view = views[0]
        placed: list[QRectF] = []
        for item in self.items:
            at = view.mapFromScene(item.caption.pos())
            for row in range(8):
                item.caption.set_row(row)
                rect = item.caption.boundingRect().translated(at.x(), at.y())
                if not any(rect.intersects(other) for other in placed):
                    break
            placed.append(rect)

    def clear(self) -> None:
        """Take every rater item off the scene."""
        for item in self.items:
            self.scene.removeItem(item.caption)
            self.scene.removeItem(item)
        self.items = []
