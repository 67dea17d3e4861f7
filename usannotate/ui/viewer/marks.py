"""Scene items that draw the marks of one frame: planes, needle, fluid, points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shiboken6
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
from usannotate.render import placement
from usannotate.render.placement import first_anchor, handle_side_px
from usannotate.render.style import MarkStyle
from usannotate.ui.viewer.captions import Anchor, Footprint, place_captions

#: The marks' sizes and alphas, shared with the OpenCV drawing of playback and exports.
_STYLE = MarkStyle()
_OUTLINE = QColor(0, 0, 0, _STYLE.halo_alpha)  # dark halo: marks read on fascia and fluid
#: A region's fill: its colour at this alpha (one fill of 98 looks as the two fills of 55
#: it had, under the halo and under the line: 1 - (1 - 55/255)^2 = 98/255).
_REGION_FILL_ALPHA = _STYLE.region_fill_alpha
#: Default side of a vertex handle (screen px); AnnotationLayer.handle_size_px sets it.
HANDLE_SIZE_PX = 7.0
#: Handles never get smaller than this (screen px): still seen, still grabbed (the tools'
#: hit tolerance does not shrink with them).
MIN_HANDLE_PX = placement.MIN_HANDLE_PX
#: The handle under the cursor is this much larger (screen px).
_HOVER_EXTRA_PX = 3.0
#: Default caption size (points); AnnotationLayer.caption_point_size sets it.
CAPTION_POINT_SIZE = 9.5
_TIP_RING_PX = _STYLE.tip_ring_px  # radius of the needle tip's ring, screen px
#: How a mark's line is drawn by where its geometry comes from: a keyframe is solid; a
#: computed frame is broken, so a reviewer sees at a glance what nobody placed yet.
LINE_STYLES = {
    FrameSource.KEYFRAME: Qt.PenStyle.SolidLine,
    FrameSource.INTERPOLATED: Qt.PenStyle.DashLine,
    FrameSource.TRACKED: Qt.PenStyle.DashDotLine,
}
CAPTION_SUFFIXES = {source: placement.CAPTION_SUFFIXES[source.value] for source in FrameSource}


def trajectory_end(
    entry: tuple[float, float], tip: tuple[float, float], bounds: QRectF | None
) -> tuple[float, float]:
    """Where the needle's extended trajectory ends (:func:`usannotate.render.placement.
    trajectory_end`), ``bounds`` the image as a rectangle (None: not cut)."""
    box = None
    if bounds is not None and not bounds.isEmpty():
        box = (bounds.left(), bounds.top(), bounds.right(), bounds.bottom())
    return placement.trajectory_end(entry, tip, box)


_CAPTION_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache


def _polygon(points: np.ndarray) -> QPolygonF:
    """``points`` as a QPolygonF, written straight into its memory (playback sets every
    mark's polygon anew on every frame; this is ~5x faster than a list of QPointF). The
    same trick as pyqtgraph's ``functions.ndarray_from_qpolygonf``, not imported from it
    so the window's start-up does not pay for importing pyqtgraph."""
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    polygon = QPolygonF()
    polygon.resize(len(xy))
    if len(xy):
        # QPolygonF is a contiguous array of QPointF, each two doubles (x, y).
        memory = shiboken6.VoidPtr(polygon.data(), xy.nbytes, True)
        np.frombuffer(memory, dtype=np.float64).reshape(-1, 2)[:] = xy
    return polygon


def _caption(
    text: str, colour: QColor, parent: QGraphicsItem | None, point_size: float = CAPTION_POINT_SIZE
) -> QGraphicsRectItem:
    """A label's name on a dark plate, legible on bright fascia and black fluid alike.

    Built from stock items, which paint in C++: a busy frame has dozens of captions.
    """
    plate = QGraphicsRectItem(parent)
    plate.setPen(QPen(Qt.PenStyle.NoPen))
    plate.setBrush(QColor(0, 0, 0, 150))
    plate.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
    label = QGraphicsSimpleTextItem(text, plate)
    font = QFont()
    font.setPointSizeF(point_size)
    font.setBold(True)
    label.setFont(font)
    label.setBrush(QBrush(colour))
    plate.setRect(label.boundingRect().adjusted(-3, -1, 3, 1))
    plate.text_item = label  # type: ignore[attr-defined]
    return plate


@dataclass(frozen=True)
class _Pens:
    """What one mark paints with (cosmetic pens: widths in screen pixels)."""

    colour: QColor
    selected: bool
    halo: QPen
    line: QPen
    solid: QPen
    trajectory: QPen
    fill: QColor

    @classmethod
    def make(cls, colour: QColor, selected: bool, source: FrameSource) -> _Pens:
        width = _STYLE.line_width(selected)
        halo = QPen(_OUTLINE, _STYLE.halo_width(selected))
        line = QPen(colour, width, LINE_STYLES[source])
        solid = QPen(line)
        solid.setStyle(Qt.PenStyle.SolidLine)
        trajectory = QPen(colour, _STYLE.trajectory_px, Qt.PenStyle.DashLine)
        for pen in (halo, line, solid, trajectory):
            pen.setCosmetic(True)
        fill = QColor(colour)
        fill.setAlpha(_REGION_FILL_ALPHA)
        return cls(colour, selected, halo, line, solid, trajectory, fill)


class ShapeItem(QGraphicsItem):
    """One object's geometry on the current frame, drawn in its label's colour.

    Pens are cosmetic (constant width on screen at any zoom); the caption ignores the
    view's transformations so it stays legible.

    Editing aids (off by default): with ``show_handles`` a selected item draws a square
    handle on each vertex instead of dots, ``handle_size_px`` on screen at most and
    smaller when the vertices are close on screen (a small mark is not buried under
    them); ``hovered_vertex`` (an index into ``points``) draws a larger handle on the
    vertex under the cursor, selected or not.

    The caption lies beside the mark, never over its line, outline or tip: the layer
    places it (:meth:`footprint` says what to keep off and where it may go).

    ``source`` says where the geometry comes from: keyframes are drawn solid,
    interpolated frames dashed and tracked frames dash-dotted, and the caption says so.
    """

    def __init__(
        self,
        obj: AnnotatedObject,
        label: Label,
        points: np.ndarray,
        source: FrameSource = FrameSource.KEYFRAME,
        caption_point_size: float = CAPTION_POINT_SIZE,
    ) -> None:
        super().__init__()
        self.obj = obj
        self.label = label
        self.points = points
        self.source = source
        self.opacity_level = 1.0
        self.show_trajectory = False
        #: The image: the needle's trajectory stops at its edge.
        self.image_bounds: QRectF | None = None
        self.show_handles = False
        self.handle_size_px = HANDLE_SIZE_PX
        self.hovered_vertex: int | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(10)
        self._cached_path: QPainterPath | None = None
        self._cached_bounds = QRectF()
        self._pens_cache: tuple[tuple[str, bool, FrameSource], _Pens] | None = None
        # A top-level item, not a child: captions must lie above every mark, and a child
        # is drawn just above its own parent, under marks added after it.
        self.caption = _caption(
            (obj.name or label.name) + CAPTION_SUFFIXES[source],
            QColor(label.colour),
            None,
            caption_point_size,
        )
        self.caption.setZValue(20)
        self.caption_point_size = caption_point_size
        self._polygon = _polygon(points)
        self.caption.setPos(self._caption_anchor())

    def set_points(self, points: np.ndarray) -> None:
        """Show ``points`` instead (a tool moving the mark live, before the edit is pushed):
        the caption moves along; the layer places it anew once the edit is made."""
        before = self._caption_anchor()
        self.prepareGeometryChange()
        self.points = points
        self._polygon = _polygon(points)
        self._cached_path = None
        self.caption.setPos(self.caption.pos() + self._caption_anchor() - before)
        self.update()

    def set_geometry(self, points: np.ndarray, source: FrameSource) -> None:
        """Show this track on another frame: new points and source, the same item (a
        frame change during playback updates the items in place, no scene rebuild)."""
        self.prepareGeometryChange()
        self.points = points
        self._polygon = _polygon(points)
        self._cached_path = None
        if source != self.source:
            self.source = source
            text = (self.obj.name or self.label.name) + CAPTION_SUFFIXES[source]
            label = self.caption.text_item  # type: ignore[attr-defined]
            label.setText(text)
            self.caption.setRect(label.boundingRect().adjusted(-3, -1, 3, 1))
        self.update()

    def set_caption_point_size(self, point_size: float) -> None:
        """The caption's text size (points), a preference."""
        if point_size == self.caption_point_size:
            return
        self.caption_point_size = point_size
        label = self.caption.text_item  # type: ignore[attr-defined]
        font = label.font()
        font.setPointSizeF(point_size)
        label.setFont(font)
        self.caption.setRect(label.boundingRect().adjusted(-3, -1, 3, 1))

    def place_caption(self, box: tuple[float, float, float, float], scale: float) -> None:
        """Put the caption's plate at ``box`` (image px, top-left used) at zoom ``scale``."""
        self.caption.setPos(QPointF(box[0], box[1]) - self.caption.rect().topLeft() / scale)

    def caption_box(self, scale: float) -> QRectF:
        """The caption's plate in image px at zoom ``scale``."""
        rect = self.caption.rect()
        return QRectF(self.caption.pos() + rect.topLeft() / scale, rect.size() / scale)

    def footprint(self) -> Footprint:
        """What the caption keeps off (the line, a region's inside, the needle's tip ring
        and trajectory, a point's marker) and the anchors it may sit beside, best first:
        a needle's tip, then its entry; a plane's ends; a region's top, sides, bottom."""
        points = np.asarray(self.points, dtype=float)
        kind = self.label.kind
        if kind == ShapeKind.NEEDLE:
            (x0, y0), (x1, y1) = points
            segments = None
            if self.show_trajectory:
                end = trajectory_end((x0, y0), (x1, y1), self.image_bounds)
                segments = np.array([[(x1, y1), end]])
            return Footprint(
                points,
                discs=((x1, y1, _TIP_RING_PX + 1.0), (x0, y0, 4.0)),
                segments=segments,
                anchors=(
                    Anchor(x1, y1, _TIP_RING_PX + 3.0),
                    Anchor(x0, y0, 6.0),
                    Anchor((x0 + x1) / 2, (y0 + y1) / 2),
                ),
            )
        if kind == ShapeKind.POINT:
            x, y = points[0]
            return Footprint(points, discs=((x, y, 6.0),), anchors=(Anchor(x, y, 8.0),))
        closed = kind == ShapeKind.REGION
        if closed:
            order = (np.argmin(points[:, 1]), np.argmax(points[:, 0]), np.argmin(points[:, 0]))
            order += (np.argmax(points[:, 1]),)
        else:
            ends = (0, len(points) - 1)
            right, left = sorted(ends, key=lambda i: -points[i, 0])
            order = (right, left, np.argmin(points[:, 1]), len(points) // 2)
        anchors = tuple(Anchor(float(points[i, 0]), float(points[i, 1])) for i in order)
        return Footprint(points, closed=closed, anchors=anchors)

    def first_anchor(self) -> tuple[float, float]:
        """The place the caption prefers (``footprint().anchors[0]``), computed alone:
        during playback captions follow it from frame to frame."""
        return first_anchor(self.label.kind, self.points)

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
        # Built once per geometry (set_points / set_geometry drop it), with the bounding
        # rectangle Qt asks for several times a paint.
        if self._cached_path is None:
            self._cached_path = self._build_path()
            # Generous: cosmetic pens and markers are a few screen pixels wide at any zoom.
            self._cached_bounds = self._cached_path.boundingRect().adjusted(-12, -12, 12, 12)
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
            path.lineTo(*trajectory_end((x0, y0), (x1, y1), self.image_bounds))
        return path

    def boundingRect(self) -> QRectF:
        if self._cached_path is None:
            self._path()
        return self._cached_bounds

    def shape(self) -> QPainterPath:
        return self._path()

    def _pens(self) -> _Pens:
        """The pens and brushes this item paints with, made again only when its colour,
        selection or source changes (playback repaints every mark every frame)."""
        colour = self.label.colour
        selected = self.isSelected()
        key = (colour, selected, self.source)
        if self._pens_cache is None or self._pens_cache[0] != key:
            self._pens_cache = (key, _Pens.make(QColor(colour), selected, self.source))
        return self._pens_cache[1]

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        # Strokes are drawn aliased: Qt's antialiased wide strokes cost ~1 ms per long
        # plane, 50 ms for a busy frame; aliased they are crisp and 40x cheaper. Only the
        # small round markers are antialiased.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setOpacity(self.opacity_level)
        pens = self._pens()
        kind = self.label.kind
        polygon = self._polygon
        if kind == ShapeKind.REGION:
            painter.setBrush(pens.fill)  # once, under the halo
            painter.setPen(pens.halo)
            painter.drawPolygon(polygon)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(pens.line)
            painter.drawPolygon(polygon)
        elif kind in (ShapeKind.POLYLINE, ShapeKind.NEEDLE):
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(pens.halo)
            painter.drawPolyline(polygon)
            painter.setPen(pens.line)
            painter.drawPolyline(polygon)
            if kind == ShapeKind.NEEDLE:
                self._paint_needle_ends(painter, pens)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        scale = max(painter.worldTransform().m11(), 1e-6)
        selected = pens.selected
        handles = selected and self.show_handles
        if kind == ShapeKind.POINT or (selected and not handles):
            radius = (5.0 if kind == ShapeKind.POINT else 3.5) / scale
            painter.setPen(pens.halo)
            painter.setBrush(pens.colour)
            for x, y in self.points:
                painter.drawEllipse(QPointF(float(x), float(y)), radius, radius)
        if handles or self.hovered_vertex is not None:
            self._paint_handles(painter, pens.colour, scale, all_vertices=handles)

    def handle_side_px(self, scale: float) -> float:
        """The side of a vertex handle on screen at zoom ``scale`` (:func:`handle_side_px`)."""
        return handle_side_px(self.points, scale, self.handle_size_px)

    def _paint_handles(
        self, painter: QPainter, colour: QColor, scale: float, *, all_vertices: bool
    ) -> None:
        """Square vertex handles sized by :meth:`handle_side_px`; the hovered one larger
        and white so the vertex a drag or Delete would act on is unmistakable."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        border = QPen(_OUTLINE, 1.0)
        border.setCosmetic(True)
        painter.setPen(border)
        side = self.handle_side_px(scale)
        hover_side = max(side, self.handle_size_px) + _HOVER_EXTRA_PX
        for index, (x, y) in enumerate(self.points):
            hovered = index == self.hovered_vertex
            if not (all_vertices or hovered):
                continue
            half = (hover_side if hovered else side) / 2 / scale
            painter.setBrush(QColor(255, 255, 255) if hovered else colour)
            painter.drawRect(QRectF(float(x) - half, float(y) - half, 2 * half, 2 * half))

    def _paint_needle_ends(self, painter: QPainter, pens: _Pens) -> None:
        """The tip is a ring around a dot (distinct from the entry's small square);
        the extended trajectory is dashed."""
        scale = max(painter.worldTransform().m11(), 1e-6)
        (x0, y0), (x1, y1) = self.points
        painter.setPen(pens.solid)
        painter.setBrush(pens.colour)
        half = 3.0 / scale
        painter.drawRect(QRectF(float(x0) - half, float(y0) - half, 2 * half, 2 * half))
        painter.drawEllipse(QPointF(float(x1), float(y1)), 2.5 / scale, 2.5 / scale)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(float(x1), float(y1)), 7.0 / scale, 7.0 / scale)
        if self.show_trajectory:
            painter.setPen(pens.trajectory)
            painter.drawLine(
                QPointF(float(x1), float(y1)),
                QPointF(*trajectory_end((x0, y0), (x1, y1), self.image_bounds)),
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
        #: Marks' captions shown (View > Show Mark Captions).
        self.show_captions = True
        #: Captions' text size (points) and the largest side of a vertex handle (screen
        #: px): preferences; set them, then call :meth:`show` again.
        self.caption_point_size = CAPTION_POINT_SIZE
        self.handle_size_px = HANDLE_SIZE_PX
        #: Where the image holds text of its own (``(rows, columns)`` bool, image px):
        #: captions keep off it where they can (CineView.burned_in_mask).
        self.keep_clear: np.ndarray | None = None
        # Where each track's caption sat from its mark's first anchor (screen px), the
        # last time they were laid out: during playback captions follow their marks.
        self._caption_offsets: dict[str, tuple[float, float]] = {}
        #: Where :meth:`show` gets a track's geometry on a frame: ``obj.geometry`` unless
        #: a cache looks it up (see :mod:`usannotate.ui.viewer.geometry_cache`).
        self.geometry_for: Callable[
            [AnnotatedObject, int], tuple[np.ndarray, FrameSource] | None
        ] = AnnotatedObject.geometry
        self._items_visible = True

    def show(self, annotations: Annotations | None, frame: int, *, cache: bool = True) -> None:
        """Draw the marks of ``frame``: a track already on screen keeps its item, whose
        points and source change in place (playback moves items, it does not rebuild
        the scene); marks that appear get items, those gone lose theirs.

        With ``cache`` each mark keeps a rendering of itself, so repaints while the frame
        stays on screen (cursor moves, editing other marks) only blit it; during
        playback, where every frame gets new marks, pass False: building the caches
        would cost more than it saves, and captions keep their place beside their
        moving marks instead of being laid out anew (see :meth:`layout_captions`).
        """
        if annotations is None:
            self._remove(list(self.items))
            return
        selected = {oid for oid, item in self.items.items() if item.isSelected()}
        shown: dict[str, ShapeItem] = {}
        mode = (
            QGraphicsItem.CacheMode.DeviceCoordinateCache
            if cache
            else QGraphicsItem.CacheMode.NoCache
        )
        for obj in annotations.objects:
            label = annotations.label_set.get(obj.label_id)
            if label is None or obj.label_id in self.hidden_labels:
                continue
            found = self.geometry_for(obj, frame)
            if found is None:
                continue
            item = self.items.get(obj.id)
            if item is not None and item.obj is obj and item.label is label:
                item.set_geometry(*found)  # the same track on another frame: in place
            else:
                if item is not None:
                    self._remove([obj.id])
                item = ShapeItem(obj, label, *found, caption_point_size=self.caption_point_size)
                self.scene.addItem(item)
                self.scene.addItem(item.caption)  # positioned in scene = item coordinates
                item.setSelected(obj.id in selected)
            item.set_caption_point_size(self.caption_point_size)
            item.opacity_level = self.opacity
            item.show_trajectory = self.show_trajectory
            item.image_bounds = self.bounds
            item.show_handles = self.show_handles
            item.handle_size_px = self.handle_size_px
            item.caption.setVisible(self.show_captions)
            if item.cacheMode() != mode:
                item.setCacheMode(mode)
            if item.caption.cacheMode() != _CAPTION_CACHE:
                # A caption's text rarely changes and it only moves (no scaling: it
                # ignores the view's transformations), so its cache survives playback.
                item.caption.setCacheMode(_CAPTION_CACHE)
            shown[obj.id] = item
        self._remove([oid for oid in self.items if oid not in shown])
        self.items = shown
        if cache or not self._follow_captions():
            self.layout_captions()

    def set_items_visible(self, visible: bool) -> None:
        """Show or hide every mark's item and caption (while playback shows the marks as
        one picture drawn ahead: :mod:`usannotate.ui.viewer.playback_marks`)."""
        if visible == self._items_visible:
            return
        self._items_visible = visible
        for item in self.items.values():
            item.setVisible(visible)
            item.caption.setVisible(visible and self.show_captions)

    def caption_offsets(self) -> dict[str, tuple[float, float]]:
        """Where each track's caption sat from its mark's first anchor (screen px) when
        the captions were last laid out."""
        return self._caption_offsets

    def _remove(self, object_ids: list[str]) -> None:
        for object_id in object_ids:
            item = self.items.pop(object_id, None)
            if item is not None:
                self.scene.removeItem(item)
                self.scene.removeItem(item.caption)

    def set_captions_visible(self, visible: bool) -> None:
        self.show_captions = visible
        for item in self.items.values():
            item.caption.setVisible(visible)
        if visible:
            self.layout_captions()

    def _scale(self) -> float:
        views = self.scene.views()
        return max(views[0].transform().m11(), 1e-6) if views else 1.0

    def layout_captions(self) -> None:
        """Place every caption beside its mark (see :mod:`caption_layout`), inside the
        image, clear of other captions and marks where it can. Captions keep their
        size on screen, so call this again when the zoom changes."""
        items = [item for item in self.items.values() if item.caption.isVisible()]
        if not items:
            return
        scale = self._scale()
        bounds = None
        if self.bounds is not None:
            b = self.bounds
            bounds = (b.left(), b.top(), b.right(), b.bottom())
        sizes = [(item.caption.rect().width(), item.caption.rect().height()) for item in items]
        footprints = [item.footprint() for item in items]
        boxes = place_captions(footprints, sizes, scale, bounds, self.keep_clear)
        for item, footprint, box in zip(items, footprints, boxes, strict=True):
            item.place_caption(box, scale)
            anchor = footprint.anchors[0]
            offset = ((box[0] - anchor.x) * scale, (box[1] - anchor.y) * scale)
            self._caption_offsets[item.obj.id] = offset

    def _follow_captions(self) -> bool:
        """Put each caption where it sat from its mark's first anchor last time (a
        mark moves little from one frame to the next); False, doing nothing, when a
        mark has no such place yet (a track that just appeared)."""
        items = [item for item in self.items.values() if item.caption.isVisible()]
        if any(item.obj.id not in self._caption_offsets for item in items):
            return False
        scale = self._scale()
        for item in items:
            anchor_x, anchor_y = item.first_anchor()
            dx, dy = self._caption_offsets[item.obj.id]
            rect = item.caption.rect()
            x, y = anchor_x + dx / scale, anchor_y + dy / scale
            if self.bounds is not None:
                b = self.bounds
                x = min(max(x, b.left()), max(b.left(), b.right() - rect.width() / scale))
                y = min(max(y, b.top()), max(b.top(), b.bottom() - rect.height() / scale))
            item.place_caption((x, y, x, y), scale)
        return True
