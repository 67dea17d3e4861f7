"""Scene items that draw the marks of one frame: planes, needle, fluid, points."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
)

from usannotate.annotations import AnnotatedObject, Annotations, FrameSource, Label, ShapeKind

_OUTLINE = QColor(0, 0, 0, 170)  # dark halo so marks read on bright fascia and dark fluid
_TRAJECTORY_LENGTH = 1.0  # the needle's extended trajectory, in needle lengths
_HANDLE_HALF = 3.5  # half the side of a vertex handle, screen pixels
_HOVER_HALF = 5.0  # ... of the handle under the cursor
#: How a mark's line is drawn by where its geometry comes from: a keyframe is solid; a
#: computed frame is broken, so a reviewer sees at a glance what nobody placed yet.
LINE_STYLES = {
    FrameSource.KEYFRAME: Qt.PenStyle.SolidLine,
    FrameSource.INTERPOLATED: Qt.PenStyle.DashLine,
    FrameSource.TRACKED: Qt.PenStyle.DashDotLine,
}
CAPTION_SUFFIXES = {
    FrameSource.KEYFRAME: "",
    FrameSource.INTERPOLATED: " · interpolated",
    FrameSource.TRACKED: " · tracked",
}


def _polygon(points: np.ndarray) -> QPolygonF:
    return QPolygonF([QPointF(float(x), float(y)) for x, y in points])


def _caption(text: str, colour: QColor, parent: QGraphicsItem | None) -> QGraphicsRectItem:
    """A label's name on a dark plate, legible on bright fascia and black fluid alike.

    Built from stock items, which paint in C++: a busy frame has dozens of captions.
    """
    plate = QGraphicsRectItem(parent)
    plate.setPen(QPen(Qt.PenStyle.NoPen))
    plate.setBrush(QColor(0, 0, 0, 150))
    plate.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
    label = QGraphicsSimpleTextItem(text, plate)
    font = QFont()
    font.setPointSizeF(9.5)
    font.setBold(True)
    label.setFont(font)
    label.setBrush(QBrush(colour))
    plate.setRect(label.boundingRect().adjusted(-3, -1, 3, 1))
    plate.text_item = label  # type: ignore[attr-defined]
    return plate


class ShapeItem(QGraphicsItem):
    """One object's geometry on the current frame, drawn in its label's colour.

    Pens are cosmetic (constant width on screen at any zoom); the caption ignores the
    view's transformations so it stays legible.

    Editing aids (off by default): with ``show_handles`` a selected item draws a square
    handle on each vertex instead of dots; ``hovered_vertex`` (an index into ``points``)
    draws a larger handle on the vertex under the cursor, selected or not.

    ``source`` says where the geometry comes from: keyframes are drawn solid,
    interpolated frames dashed and tracked frames dash-dotted, and the caption says so.
    """

    def __init__(
        self,
        obj: AnnotatedObject,
        label: Label,
        points: np.ndarray,
        source: FrameSource = FrameSource.KEYFRAME,
    ) -> None:
        super().__init__()
        self.obj = obj
        self.label = label
        self.points = points
        self.source = source
        self.opacity_level = 1.0
        self.show_trajectory = False
        self.show_handles = False
        self.hovered_vertex: int | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(10)
        self._cached_path: QPainterPath | None = None
        # A top-level item, not a child: captions must lie above every mark, and a child
        # is drawn just above its own parent, under marks added after it.
        self.caption = _caption(
            (obj.name or label.name) + CAPTION_SUFFIXES[source], QColor(label.colour), None
        )
        self.caption.setZValue(20)
        self._polygon = _polygon(points)
        self.caption.setPos(self._caption_anchor())

    def set_points(self, points: np.ndarray) -> None:
        """Show ``points`` instead (a tool moving the mark live, before the edit is pushed)."""
        self.prepareGeometryChange()
        self.points = points
        self._polygon = _polygon(points)
        self._cached_path = None
        self.caption.setPos(self._caption_anchor())
        self.update()

    def set_hovered_vertex(self, index: int | None) -> None:
        if index != self.hovered_vertex:
            self.hovered_vertex = index
            self.update()

    def _caption_anchor(self) -> QPointF:
        """Beside the shape: the tip for a needle, the top-most point otherwise."""
        if self.label.kind == ShapeKind.NEEDLE:
            x, y = self.points[1]
        else:
            x, y = self.points[int(np.argmin(self.points[:, 1]))]
        return QPointF(float(x) + 4, float(y) - 4)

    def _path(self) -> QPainterPath:
        # Built once: an item shows one frame's points; a new frame gets new items.
        if self._cached_path is None:
            self._cached_path = self._build_path()
        return self._cached_path

    def _build_path(self) -> QPainterPath:
        path = QPainterPath()
        kind = self.label.kind
        if kind == ShapeKind.POINT:
            x, y = self.points[0]
            path.addEllipse(QPointF(float(x), float(y)), 3, 3)
            return path
        path.addPolygon(self._polygon)
        if kind == ShapeKind.REGION:
            path.closeSubpath()
        if kind == ShapeKind.NEEDLE and self.show_trajectory:
            (x0, y0), (x1, y1) = self.points
            path.moveTo(float(x1), float(y1))
            path.lineTo(
                float(x1 + (x1 - x0) * _TRAJECTORY_LENGTH),
                float(y1 + (y1 - y0) * _TRAJECTORY_LENGTH),
            )
        return path

    def boundingRect(self) -> QRectF:
        # Generous: cosmetic pens and markers are a few screen pixels wide at any zoom.
        return self._path().boundingRect().adjusted(-12, -12, 12, 12)

    def shape(self) -> QPainterPath:
        return self._path()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        # Strokes are drawn aliased: Qt's antialiased wide strokes cost ~1 ms per long
        # plane, 50 ms for a busy frame; aliased they are crisp and 40x cheaper. Only the
        # small round markers are antialiased.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setOpacity(self.opacity_level)
        colour = QColor(self.label.colour)
        selected = self.isSelected()
        width = 3.0 if selected else 2.0
        halo = QPen(_OUTLINE, width + 2.0)
        halo.setCosmetic(True)
        pen = QPen(colour, width, LINE_STYLES[self.source])
        pen.setCosmetic(True)
        kind = self.label.kind
        polygon = self._polygon
        if kind == ShapeKind.REGION:
            fill = QColor(colour)
            fill.setAlpha(55)
            painter.setBrush(fill)
            for p in (halo, pen):
                painter.setPen(p)
                painter.drawPolygon(polygon)
        elif kind in (ShapeKind.POLYLINE, ShapeKind.NEEDLE):
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for p in (halo, pen):
                painter.setPen(p)
                painter.drawPolyline(polygon)
            if kind == ShapeKind.NEEDLE:
                self._paint_needle_ends(painter, colour, pen)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        scale = max(painter.worldTransform().m11(), 1e-6)
        handles = selected and self.show_handles
        if kind == ShapeKind.POINT or (selected and not handles):
            radius = (5.0 if kind == ShapeKind.POINT else 3.5) / scale
            painter.setPen(halo)
            painter.setBrush(colour)
            for x, y in self.points:
                painter.drawEllipse(QPointF(float(x), float(y)), radius, radius)
        if handles or self.hovered_vertex is not None:
            self._paint_handles(painter, colour, scale, all_vertices=handles)

    def _paint_handles(
        self, painter: QPainter, colour: QColor, scale: float, *, all_vertices: bool
    ) -> None:
        """Square vertex handles, a constant size on screen; the hovered one larger and
        white so the vertex a drag or Delete would act on is unmistakable."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        border = QPen(QColor(0, 0, 0), 1.0)
        border.setCosmetic(True)
        painter.setPen(border)
        for index, (x, y) in enumerate(self.points):
            hovered = index == self.hovered_vertex
            if not (all_vertices or hovered):
                continue
            half = (_HOVER_HALF if hovered else _HANDLE_HALF) / scale
            painter.setBrush(QColor(255, 255, 255) if hovered else colour)
            painter.drawRect(QRectF(float(x) - half, float(y) - half, 2 * half, 2 * half))

    def _paint_needle_ends(self, painter: QPainter, colour: QColor, pen: QPen) -> None:
        """The tip is a ring around a dot (distinct from the entry's small square);
        the extended trajectory is dashed."""
        scale = max(painter.worldTransform().m11(), 1e-6)
        (x0, y0), (x1, y1) = self.points
        solid = QPen(pen)
        solid.setStyle(Qt.PenStyle.SolidLine)
        painter.setPen(solid)
        painter.setBrush(colour)
        half = 3.0 / scale
        painter.drawRect(QRectF(float(x0) - half, float(y0) - half, 2 * half, 2 * half))
        painter.drawEllipse(QPointF(float(x1), float(y1)), 2.5 / scale, 2.5 / scale)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(float(x1), float(y1)), 7.0 / scale, 7.0 / scale)
        if self.show_trajectory:
            dashed = QPen(colour, 1.2, Qt.PenStyle.DashLine)
            dashed.setCosmetic(True)
            painter.setPen(dashed)
            painter.drawLine(
                QPointF(float(x1), float(y1)),
                QPointF(
                    float(x1 + (x1 - x0) * _TRAJECTORY_LENGTH),
                    float(y1 + (y1 - y0) * _TRAJECTORY_LENGTH),
                ),
            )


class AnnotationLayer:
    """Keeps the scene's shape items in step with the model for the frame shown.

    Thin by design (STYLE.md): it only reads the model; edits go through the history.
    """

    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self.items: dict[str, ShapeItem] = {}
        self.hidden_labels: set[str] = set()
        self.opacity = 1.0
        self.show_trajectory = True
        self.show_handles = False  # selected marks draw vertex handles (the edit tools)
        self.bounds: QRectF | None = None  # the image: captions are kept inside it

    def show(self, annotations: Annotations | None, frame: int, *, cache: bool = True) -> None:
        """Draw the marks of ``frame`` (replacing those of the previous frame).

        With ``cache`` each mark keeps a rendering of itself, so repaints while the frame
        stays on screen (cursor moves, editing other marks) only blit it; during
        playback, where every frame gets new marks, pass False: building the caches
        would cost more than it saves.
        """
        selected = {oid for oid, item in self.items.items() if item.isSelected()}
        for item in self.items.values():
            self.scene.removeItem(item)
            self.scene.removeItem(item.caption)
        self.items.clear()
        if annotations is None:
            return
        for obj in annotations.objects:
            label = annotations.label_set.get(obj.label_id)
            if label is None or obj.label_id in self.hidden_labels:
                continue
            found = obj.geometry(frame)
            if found is None:
                continue
            item = ShapeItem(obj, label, *found)
            item.opacity_level = self.opacity
            item.show_trajectory = self.show_trajectory
            item.show_handles = self.show_handles
            if cache:
                item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                item.caption.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.scene.addItem(item)
            self.scene.addItem(item.caption)  # positioned in scene = item coordinates
            item.setSelected(obj.id in selected)
            self.items[obj.id] = item
        self._separate_captions()

    def _separate_captions(self) -> None:
        """Move captions down until none covers another (a needle tip in the fluid would
        otherwise print its name over the fluid's). Captions keep their size on screen,
        so their extent in the image depends on the view's zoom."""
        views = self.scene.views()
        scale = max(views[0].transform().m11(), 1e-6) if views else 1.0
        placed: list[QRectF] = []
        for item in sorted(self.items.values(), key=lambda i: i.caption.scenePos().y()):
            caption = item.caption
            size = caption.rect()
            pos = caption.pos()
            if self.bounds is not None:  # a plane's top point is often at the image edge
                overflow = pos.x() + size.right() / scale - self.bounds.right()
                if overflow > 0:
                    pos = QPointF(max(self.bounds.left(), pos.x() - overflow), pos.y())
            for _ in range(len(placed) + 1):
                rect = QRectF(pos + size.topLeft() / scale, size.size() / scale)
                blocking = next((r for r in placed if r.intersects(rect)), None)
                if blocking is None:
                    break
                pos = QPointF(pos.x(), pos.y() + blocking.bottom() - rect.top() + 1 / scale)
            caption.setPos(pos)
            placed.append(rect)
