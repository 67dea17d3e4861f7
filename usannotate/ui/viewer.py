"""The image view: a frame with zoom, pan, display gain and calibration overlays."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPen,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from usannotate.cine import Region

_MIN_ZOOM, _MAX_ZOOM = 0.05, 40.0
_WHEEL_STEP = 1.2
_OVERLAY_COLOUR = QColor(80, 200, 255)
_RULER_COLOUR = QColor(255, 220, 90)
_WARNING_COLOUR = QColor(255, 140, 60)


def to_display_image(rgb: np.ndarray) -> tuple[np.ndarray, QImage]:
    """Convert RGB to Qt's native 32-bit layout (B, G, R, 255 in memory) and wrap it.

    The raster paint engine draws Format_RGB32 without converting it on every paint,
    which for a 1024x768 frame saves milliseconds per repaint during playback.
    Returns the pixel buffer (keep it alive) and the image.
    """
    bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    rows, columns = bgra.shape[:2]
    return bgra, QImage(bgra.data, columns, rows, bgra.strides[0], QImage.Format.Format_RGB32)


@dataclass(frozen=True)
class DisplayAdjustment:
    """Display-only brightness and contrast (gain); never changes the loop's pixels.

    ``brightness`` is added (grey levels, -128..128) after ``contrast`` scales the
    distance from mid-grey (0.25..4).
    """

    brightness: float = 0.0
    contrast: float = 1.0

    @property
    def is_identity(self) -> bool:
        return self.brightness == 0.0 and self.contrast == 1.0

    def lut(self) -> np.ndarray:
        levels = np.arange(256, dtype=np.float32)
        out = (levels - 128.0) * self.contrast + 128.0 + self.brightness
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        return rgb if self.is_identity else cv2.LUT(rgb, self.lut())


class FrameItem(QGraphicsItem):
    """The frame, one scene unit per pixel, top-left pixel corner at (0, 0).

    Scene coordinates are therefore the sidecar's point convention: the first pixel's
    centre is (0.5, 0.5).
    """

    def __init__(self) -> None:
        super().__init__()
        self._image = QImage()
        self._pixels: np.ndarray | None = None  # the RGB shown (after display gain)
        self._buffer: np.ndarray | None = None  # keeps the QImage's memory alive
        self.index = -1
        self.paint_count = 0
        self.frames_painted = 0
        self.painted_index = -1

    def set_frame(self, rgb: np.ndarray, index: int) -> None:
        size_changed = self._pixels is None or self._pixels.shape != rgb.shape
        if size_changed:
            self.prepareGeometryChange()
        self._pixels = rgb
        self._buffer, self._image = to_display_image(rgb)
        self.index = index
        self.update()

    def clear(self) -> None:
        self.prepareGeometryChange()
        self._pixels = None
        self._buffer = None
        self._image = QImage()
        self.index = -1

    @property
    def pixels(self) -> np.ndarray | None:
        return self._pixels

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self._image.isNull():
            return
        # Smooth when zoomed out; crisp pixels when zoomed in, for precise marking.
        zoomed_out = painter.worldTransform().m11() < 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoomed_out)
        exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
        painter.drawImage(QRectF(exposed), self._image, QRectF(exposed))
        self.paint_count += 1
        if self.painted_index != self.index:
            self.frames_painted += 1  # distinct frames that reached the screen
            self.painted_index = self.index


class RegionOutline(QGraphicsItem):
    """Dashed outline and caption of one ultrasound region.

    A region that extends beyond the image cannot describe its pixels: it is drawn
    clipped to the image, in a warning colour, and its caption says it is not used.
    """

    def __init__(self, region: Region, number: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        self.region = region
        self.usable = region.fits_image(*image_size)
        x0, y0, x1, y1 = region.bounds
        image = QRectF(0, 0, *image_size)
        self._rect = QRectF(x0, y0, x1 + 1 - x0, y1 + 1 - y0).intersected(image)
        self._colour = _OVERLAY_COLOUR if self.usable else _WARNING_COLOUR
        if not self.usable:
            scale = "extends beyond the image: not used for mm"
        elif region.is_spatial_cm:
            scale = f"{region.mm_per_px_x:.3f} x {region.mm_per_px_y:.3f} mm/px"
        else:
            scale = f"{region.units_x} x {region.units_y}"
        kind = {"2d": "2D"}.get(region.spatial_format, region.spatial_format)
        caption = QGraphicsSimpleTextItem(
            f"Region {number}: {kind} {region.data_type.replace('_', ' ')}, {scale}", self
        )
        caption.setBrush(QBrush(self._colour))
        caption.setFont(_overlay_font())
        caption.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        caption.setPos(self._rect.left() + 2, self._rect.top() + 2)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        pen = QPen(self._colour, 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self._rect)


class DepthRuler(QGraphicsItem):
    """Depth ruler along a spatial region's left edge (mm ticks, cm labels, 0 at the
    skin line) and a lateral scale bar under it; lengths come from the calibration.

    The left edge, because scanners burn their own depth scale in on the right.
    """

    def __init__(self, region: Region) -> None:
        super().__init__()
        self.region = region
        x0, y0, x1, y1 = region.bounds
        _, ref_y = region.reference_pixel or (0, 0)
        self._mm_y = region.mm_per_px_y or 1.0
        self._mm_x = region.mm_per_px_x or 1.0
        # Tick length in image pixels, in proportion to the image so it reads at any zoom.
        self._tick = max(4.0, (x1 + 1 - x0) * 0.02)
        self._x = x0 - 3  # just left of the region
        self._top = y0 + ref_y  # the skin line / transducer face
        self._bottom = y1 + 1
        self._bar_y = y1 + 1 + 2.0 * self._tick
        self._bar_x0 = float(x0)
        depth_mm = (self._bottom - self._top) * self._mm_y
        width_mm = (x1 + 1 - x0) * self._mm_x
        self.bar_mm = 10.0 if width_mm >= 15 else 5.0
        for cm in range(0, int(depth_mm // 10) + 1):
            label = self._label(f"{cm} cm" if cm else "0")
            label.setPos(self._x - self._tick - 2, self._top + cm * 10 / self._mm_y)
            _anchor_label(label, right=True)
        bar_label = self._label(f"{self.bar_mm:g} mm")
        bar_label.setPos(self._bar_x0 + self.bar_mm / self._mm_x + self._tick / 2, self._bar_y)
        _anchor_label(bar_label, right=False)

    def _label(self, text: str) -> QGraphicsSimpleTextItem:
        label = QGraphicsSimpleTextItem(text, self)
        label.setBrush(QBrush(_RULER_COLOUR))
        label.setFont(_overlay_font())
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        return label

    def boundingRect(self) -> QRectF:
        right = max(self._x, self._bar_x0 + self.bar_mm / self._mm_x)
        left = self._x - self._tick
        return QRectF(
            left - 2, self._top - 2, right - left + 4, self._bar_y + self._tick - self._top + 4
        )

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        pen = QPen(_RULER_COLOUR, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(QPointF(self._x, self._top), QPointF(self._x, self._bottom))
        step_px = 1.0 / self._mm_y
        # Every mm only when the ticks are at least 4 screen pixels apart.
        every = 1 if step_px * painter.worldTransform().m22() >= 4 else 5
        n_mm = int((self._bottom - self._top) * self._mm_y)
        for mm in range(0, n_mm + 1, every):
            y = self._top + mm * step_px
            length = self._tick * (1.0 if mm % 10 == 0 else 0.6 if mm % 5 == 0 else 0.35)
            painter.drawLine(QPointF(self._x, y), QPointF(self._x - length, y))
        end = self._bar_x0 + self.bar_mm / self._mm_x
        painter.drawLine(QPointF(self._bar_x0, self._bar_y), QPointF(end, self._bar_y))
        for x in (self._bar_x0, end):
            half = self._tick / 3
            painter.drawLine(QPointF(x, self._bar_y - half), QPointF(x, self._bar_y + half))


def _anchor_label(label: QGraphicsSimpleTextItem, *, right: bool) -> None:
    """Centre a transformation-ignoring label vertically on its anchor, and end it there
    when ``right`` (offsets in screen pixels, so they hold at any zoom)."""
    box = label.boundingRect()
    label.setTransform(QTransform.fromTranslate(-box.width() if right else 0, -box.height() / 2))


def _overlay_font() -> QFont:
    font = QFont()
    font.setPointSizeF(9.0)
    font.setBold(True)
    return font


def measuring_region(regions: list[Region], image_size: tuple[int, int]) -> Region | None:
    """The largest spatial region calibrated in cm (the B-mode image) that lies within
    the image, if any."""
    spatial = [r for r in regions if r.is_spatial_cm and r.fits_image(*image_size)]
    return max(spatial, key=lambda r: r.area_px) if spatial else None


class CineView(QGraphicsView):
    """Shows frames with wheel zoom about the cursor, panning, fit and 1:1.

    Pan with the middle button, or the left button while Ctrl is held (the plain left
    button is left free for the annotation tools).

    Signals
    -------
    cursorMoved(object)
        ``QPointF`` in image coordinates (pixel-corner convention), or None when the
        cursor leaves the image.
    zoomChanged(float)
    """

    cursorMoved = Signal(object)
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.frame_item = FrameItem()
        self.scene().addItem(self.frame_item)
        self.setBackgroundBrush(QColor(12, 12, 12))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setMouseTracking(True)
        self.setMinimumSize(320, 240)
        self.fit_mode = True
        self.adjustment = DisplayAdjustment()
        self._raw: np.ndarray | None = None
        self._pan_from: QPointF | None = None
        self._overlays: list[QGraphicsItem] = []
        self._ruler: DepthRuler | None = None
        self.regions_visible = True
        self.ruler_visible = True
        self.calibrated = False
        self.has_regions = False
        self.hint = "Open an ultrasound DICOM loop: File > Open (Ctrl+O), or drop a file here"

    # ----------------------------------------------------------------- frames
    def show_frame(self, rgb: np.ndarray, index: int) -> None:
        """Show ``rgb`` (the loop's display pixels) with the current display adjustment."""
        first = self._raw is None or self._raw.shape != rgb.shape
        self._raw = rgb
        self.frame_item.set_frame(self.adjustment.apply(rgb), index)
        if first:
            self.scene().setSceneRect(self._scene_bounds())
            self.fit()

    def raw_pixel(self, x: float, y: float) -> tuple[int, ...] | None:
        """The loop's display pixel (before gain) under image point ``(x, y)``."""
        if self._raw is None:
            return None
        column, row = int(np.floor(x)), int(np.floor(y))
        if 0 <= row < self._raw.shape[0] and 0 <= column < self._raw.shape[1]:
            return tuple(int(v) for v in self._raw[row, column])
        return None

    def set_adjustment(self, adjustment: DisplayAdjustment) -> None:
        self.adjustment = adjustment
        if self._raw is not None:
            self.frame_item.set_frame(adjustment.apply(self._raw), self.frame_item.index)

    def clear(self) -> None:
        self._raw = None
        self.frame_item.clear()
        self.set_regions([], (0, 0))
        self.viewport().update()

    # -------------------------------------------------------------- overlays
    def set_regions(self, regions: list[Region], image_size: tuple[int, int]) -> None:
        """Outline ``regions`` of a ``(columns, rows)`` image and draw a depth ruler for
        its measuring region."""
        for item in self._overlays:
            self.scene().removeItem(item)
        self._overlays = [RegionOutline(r, n, image_size) for n, r in enumerate(regions, 1)]
        region = measuring_region(regions, image_size)
        self._ruler = DepthRuler(region) if region is not None else None
        self.calibrated = region is not None
        self.has_regions = bool(regions)
        for item in self._overlays:
            item.setVisible(self.regions_visible)
            self.scene().addItem(item)
        if self._ruler is not None:
            self._ruler.setVisible(self.ruler_visible)
            self.scene().addItem(self._ruler)
            self._overlays.append(self._ruler)
        if self._raw is not None:
            self.scene().setSceneRect(self._scene_bounds())
        self.viewport().update()

    def set_regions_visible(self, visible: bool) -> None:
        self.regions_visible = visible
        for item in self._overlays:
            if isinstance(item, RegionOutline):
                item.setVisible(visible)

    def set_ruler_visible(self, visible: bool) -> None:
        self.ruler_visible = visible
        if self._ruler is not None:
            self._ruler.setVisible(visible)

    def _scene_bounds(self) -> QRectF:
        """The frame and its overlays (labels included), plus a small margin."""
        rect = self.frame_item.boundingRect()
        for item in self._overlays:
            if item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
                rect = rect.united(item.mapRectToScene(item.childrenBoundingRect()))
        margin = 0.02 * max(rect.width(), rect.height())
        return rect.adjusted(-margin, -margin, margin, margin)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        painter.save()
        painter.resetTransform()
        font = QFont()
        font.setPointSizeF(10.0)
        painter.setFont(font)
        if self._raw is None:
            painter.setPen(QColor(190, 190, 190))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.hint)
        elif not self.calibrated:
            text = (
                "Calibration does not match this image: measurements in px"
                if self.has_regions
                else "No calibration: measurements in px"
            )
            box = painter.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
            box.moveTopLeft(self.viewport().rect().topLeft() + QPointF(8, 8).toPoint())
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 200, 80))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    # ------------------------------------------------------------ zoom / pan
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        """Fit the whole frame in the view, aspect ratio kept."""
        self.fit_mode = True
        if not self.frame_item.boundingRect().isEmpty():
            self.scene().setSceneRect(self._scene_bounds())
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self.zoomChanged.emit(self.zoom)

    def zoom_actual_size(self) -> None:
        """One image pixel per screen pixel, centred on the view's centre."""
        centre = self.mapToScene(self.viewport().rect().center())
        self.fit_mode = False
        self.resetTransform()
        self.centerOn(centre)
        self.zoomChanged.emit(self.zoom)

    def zoom_by(self, factor: float, about: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under ``about`` (viewport
        coordinates; default the viewport's centre) where it is, within sensible limits."""
        target = min(_MAX_ZOOM, max(_MIN_ZOOM, self.zoom * factor))
        if target == self.zoom:
            return
        anchor = about if about is not None else QPointF(self.viewport().rect().center())
        fixed = self.mapToScene(anchor.toPoint())
        self.fit_mode = False
        self.scale(target / self.zoom, target / self.zoom)
        # Scroll so the image point that was under the anchor is under it again.
        moved = self.mapFromScene(fixed) - anchor.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self.zoomChanged.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(_WHEEL_STEP**steps, about=event.position())
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()

    def _starts_pan(self, event: QMouseEvent) -> bool:
        return event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._starts_pan(event):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.fit_mode = False
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
        else:
            super().mouseMoveEvent(event)
        point = self.mapToScene(event.position().toPoint())
        inside = self.frame_item.boundingRect().contains(point)
        self.cursorMoved.emit(QPointF(point) if inside else None)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self.cursorMoved.emit(None)
        super().leaveEvent(event)
