"""The image view: a frame with zoom, pan, display gain and calibration overlays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from usannotate.cine import Region, measuring_region
from usannotate.ui.viewer.frames_ahead import FramesAhead, ScaleKey, scaled_display_pixels
from usannotate.ui.viewer.overlays import (
    DepthRuler,
    RegionOutline,
    burned_in_text,
    covers_text,
    layout,
)

__all__ = [
    "CineView",
    "DepthRuler",
    "DisplayAdjustment",
    "FrameItem",
    "RegionOutline",
    "measuring_region",
    "to_display_image",
]

_MIN_ZOOM, _MAX_ZOOM = 0.05, 40.0
#: A view transform that only scales and moves (no rotation, no shear).
_SCALE_ONLY = (
    QTransform.TransformationType.TxNone,
    QTransform.TransformationType.TxTranslate,
    QTransform.TransformationType.TxScale,
)
_WHEEL_STEP = 1.2


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
        self._full: QImage | None = QImage()  # None: not made yet (see _image)
        self._pixels: np.ndarray | None = None  # the RGB shown (after display gain)
        self._buffer: np.ndarray | None = None  # keeps the QImage's memory alive
        self.index = -1
        self.paint_count = 0
        self.frames_painted = 0
        self.painted_index = -1
        #: Scale a zoomed-out frame down with OpenCV before it is painted (while the loop
        #: plays; see :meth:`paint`).
        self.prescale = False
        self._scaled: tuple[tuple[float, float, float], np.ndarray, QImage] | None = None

    def set_frame(
        self,
        rgb: np.ndarray,
        index: int,
        scaled: tuple[ScaleKey, np.ndarray] | None = None,
    ) -> None:
        """Show ``rgb``; ``scaled``: the same frame already scaled for the screen
        (:mod:`~usannotate.ui.viewer.frames_ahead`), drawn while playing, so the full
        frame is converted for Qt only if it is drawn itself."""
        size_changed = self._pixels is None or self._pixels.shape != rgb.shape
        if size_changed:
            self.prepareGeometryChange()
        self._pixels = rgb
        self._buffer, self._full = None, None
        self._scaled = None
        if scaled is not None:
            key, pixels = scaled
            rows, columns = pixels.shape[:2]
            image = QImage(
                pixels.data, columns, rows, pixels.strides[0], QImage.Format.Format_RGB32
            )
            image.setDevicePixelRatio(key.dpr)
            self._scaled = ((key.scale_x, key.scale_y, key.dpr), pixels, image)
        self.index = index
        self.update()

    def clear(self) -> None:
        self.prepareGeometryChange()
        self._pixels = None
        self._buffer = None
        self._full = QImage()
        self._scaled = None
        self.index = -1

    @property
    def _image(self) -> QImage:
        """The full frame in Qt's 32-bit layout, converted when first needed."""
        if self._full is None:
            assert self._pixels is not None
            self._buffer, self._full = to_display_image(self._pixels)
        return self._full

    @property
    def pixels(self) -> np.ndarray | None:
        return self._pixels

    def _scaled_to(self, scale_x: float, scale_y: float, dpr: float) -> QImage:
        """The frame scaled by ``scale_x`` x ``scale_y`` (< 1) to device pixels of ratio
        ``dpr``, made once per frame and zoom."""
        key = (scale_x, scale_y, dpr)
        if self._scaled is None or self._scaled[0] != key:
            assert self._pixels is not None
            pixels = scaled_display_pixels(self._pixels, scale_x, scale_y)
            rows, columns = pixels.shape[:2]
            image = QImage(
                pixels.data, columns, rows, pixels.strides[0], QImage.Format.Format_RGB32
            )
            image.setDevicePixelRatio(dpr)
            self._scaled = (key, pixels, image)
        return self._scaled[2]

    def boundingRect(self) -> QRectF:
        if self._pixels is None:
            return QRectF()
        rows, columns = self._pixels.shape[:2]
        return QRectF(0, 0, columns, rows)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self._pixels is None:
            return
        transform = painter.worldTransform()
        # Smooth when zoomed out; crisp pixels when zoomed in, for precise marking.
        zoomed_out = transform.m11() < 1.0
        plain_scale = transform.type() in _SCALE_ONLY
        dpr = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        if self.prescale and plain_scale and transform.m11() * dpr < 1.0:
            # While playing: the frame scaled by OpenCV (bilinear, SIMD, on its threads)
            # and drawn pixel for pixel, a third of what Qt's smooth scaling of the whole
            # frame costs the GUI thread (measured with callgrind); a still frame is
            # drawn by Qt from its full pixels, as marking needs.
            image = self._scaled_to(transform.m11() * dpr, transform.m22() * dpr, dpr)
            painter.save()
            painter.resetTransform()
            origin = QPointF(round(transform.dx() * dpr) / dpr, round(transform.dy() * dpr) / dpr)
            painter.drawImage(origin, image)
            painter.restore()
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoomed_out)
            exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
            painter.drawImage(QRectF(exposed), self._image, QRectF(exposed))
        self.paint_count += 1
        if self.painted_index != self.index:
            self.frames_painted += 1  # distinct frames that reached the screen
            self.painted_index = self.index


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
        scene = QGraphicsScene(self)
        # No spatial index: every mark moves on every frame of playback, so a BSP tree
        # would be rebuilt all the time (Qt's advice for dynamic scenes); the scene holds
        # a few hundred items at most, which a linear search handles.
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(scene)
        self.frame_item = FrameItem()
        self.scene().addItem(self.frame_item)
        self.setBackgroundBrush(QColor(12, 12, 12))
        # The background brush covers every pixel of the viewport: Qt need not paint the
        # window behind it, nor the viewport's own palette background, on every frame.
        self.viewport().setAutoFillBackground(False)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        # Items' bounding rectangles already allow for their pens (cosmetic, a few px).
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setMouseTracking(True)
        self.setMinimumSize(320, 240)
        self.fit_mode = True
        self.adjustment = DisplayAdjustment()
        self._raw: np.ndarray | None = None
        self._frames_ahead = FramesAhead()
        self._pan_from: QPointF | None = None
        self._overlays: list[QGraphicsItem] = []
        self._outlines: list[RegionOutline] = []
        self._ruler: DepthRuler | None = None
        self._regions: list[Region] = []
        self._text_mask: np.ndarray | None = None  # burned-in text, from the first frame
        self.regions_visible = True
        self.ruler_visible = True
        self.calibrated = False
        #: The loop's manual calibration (mm per px), which measurements use instead.
        self.manual_mm_per_px: float | None = None
        self.has_regions = False
        self.hint = "Open an ultrasound DICOM loop: File > Open Loop (Ctrl+O), or drop a file here"

    def set_playing(self, playing: bool) -> None:
        """While playing, the whole picture changes every frame: repaint the viewport in
        one go rather than work out which parts changed (Qt's smart update mode, kept
        for a still frame, where a hover or a drag changes a small part)."""
        self.setViewportUpdateMode(
            QGraphicsView.ViewportUpdateMode.FullViewportUpdate
            if playing
            else QGraphicsView.ViewportUpdateMode.SmartViewportUpdate
        )
        self.frame_item.prescale = playing
        if not playing:
            self._frames_ahead.stop()
            self.frame_item.update()  # the frame on screen again from its full pixels

    # ----------------------------------------------------------------- frames
    def set_frame_source(self, source: Callable[[int], np.ndarray] | None, n_frames: int) -> None:
        """Where the frames ahead are read while playing (the loop's ``frame``; None: no
        loop), to be scaled for the screen before they are due."""
        self._frames_ahead.set_source(source, n_frames)

    def shutdown(self) -> None:
        """Stop the thread scaling frames ahead (the window closes)."""
        self._frames_ahead.shutdown()

    def _screen_scale(self) -> ScaleKey | None:
        """The frame's scale on the screen while playing zoomed out (None: drawn by Qt
        from the full frame), as :meth:`FrameItem.paint` works it out."""
        transform = self.viewportTransform()
        dpr = self.viewport().devicePixelRatioF()
        if transform.type() not in _SCALE_ONLY or transform.m11() * dpr >= 1.0:
            return None
        return ScaleKey(transform.m11() * dpr, transform.m22() * dpr, dpr)

    def show_frame(self, rgb: np.ndarray, index: int) -> None:
        """Show ``rgb`` (the loop's display pixels) with the current display adjustment."""
        first = self._raw is None or self._raw.shape != rgb.shape
        self._raw = rgb
        scaled = None
        if self.frame_item.prescale and not first and (key := self._screen_scale()) is not None:
            adjustment = self.adjustment
            pixels = self._frames_ahead.take(index, key, adjustment, adjustment.apply)
            if pixels is not None:
                scaled = (key, pixels)
        self.frame_item.set_frame(self.adjustment.apply(rgb), index, scaled)
        if first:
            self._text_mask = None
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
        self.manual_mm_per_px = None
        self.set_regions([], (0, 0))
        self.viewport().update()

    def set_manual_calibration(self, mm_per_px: float | None) -> None:
        """Say in the corner that measurements use a manual calibration (None: they do
        not)."""
        if mm_per_px != self.manual_mm_per_px:
            self.manual_mm_per_px = mm_per_px
            self.viewport().update()

    def calibration_note(self) -> tuple[str, QColor] | None:
        """The corner note about how this image is measured, and its colour (None when
        the DICOM calibration is used and nothing needs saying)."""
        if self._raw is None:
            return None
        if self.manual_mm_per_px is not None:
            return (
                f"Manual calibration: {self.manual_mm_per_px:.4f} mm/px",
                QColor(120, 230, 255),
            )
        if not self.calibrated:
            text = (
                "Calibration does not match this image: measurements in px "
                "(Measure > Calibrate… to set one)"
                if self.has_regions
                else "No calibration: measurements in px (Measure > Calibrate… to set one)"
            )
            return text, QColor(255, 200, 80)
        return None

    # -------------------------------------------------------------- overlays
    def set_regions(self, regions: list[Region], image_size: tuple[int, int]) -> None:
        """Outline ``regions`` of a ``(columns, rows)`` image and draw a depth ruler for
        its measuring region."""
        for item in self._overlays:
            self.scene().removeItem(item)
        self._regions = list(regions)
        self._text_mask = None
        self._outlines = [RegionOutline(r, n, image_size) for n, r in enumerate(regions, 1)]
        self._overlays = list(self._outlines)
        region = measuring_region(regions, image_size)
        others = [r for r in regions if r is not region]
        self._ruler = DepthRuler(region, image_size, others) if region is not None else None
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
        self.layout_overlays()
        self.viewport().update()

    def set_regions_visible(self, visible: bool) -> None:
        self.regions_visible = visible
        for item in self._outlines:
            item.setVisible(visible)
        self.layout_overlays()  # the ruler's labels may use the captions' room

    def set_ruler_visible(self, visible: bool) -> None:
        self.ruler_visible = visible
        if self._ruler is not None:
            self._ruler.setVisible(visible)

    def burned_in_mask(self) -> np.ndarray | None:
        """Where the scanner burned text into the frame shown (``(rows, columns)`` bool:
        bright outside every region), or None before a frame is shown."""
        if self._text_mask is None and self._raw is not None:
            self._text_mask = burned_in_text(self._raw, self._regions)
        return self._text_mask

    def layout_overlays(self) -> None:
        """Fit region captions and ruler labels to the zoom: they keep their size on
        screen, so what fits where changes with it."""
        if not self._overlays:
            return
        image = self.frame_item.boundingRect()
        if image.isEmpty():
            return
        mask = self.burned_in_mask()
        busy = covers_text(mask) if mask is not None else None
        layout(self._outlines, self._ruler, max(self.zoom, 1e-6), image, busy)

    def _scene_bounds(self) -> QRectF:
        """The frame: overlays are kept inside it (fit is the image)."""
        return self.frame_item.boundingRect()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        painter.save()
        painter.resetTransform()
        font = QFont()
        font.setPointSizeF(10.0)
        painter.setFont(font)
        if self._raw is None:
            painter.setPen(QColor(190, 190, 190))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.hint)
        elif (note := self.calibration_note()) is not None:
            text, colour = note
            box = painter.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
            box.moveTopLeft(self.viewport().rect().topLeft() + QPointF(8, 8).toPoint())
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(colour)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    # ------------------------------------------------------------ zoom / pan
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        """Fit the whole frame in the view, aspect ratio kept: the image fills the
        view's width or height (overlays lie within it, whatever their extent)."""
        self.fit_mode = True
        image = self.frame_item.boundingRect()
        if not image.isEmpty():
            self.scene().setSceneRect(self._scene_bounds())
            # fitInView keeps a 2 px margin it cannot be told to drop: scale ourselves.
            viewport = self.viewport().rect()
            scale = min(viewport.width() / image.width(), viewport.height() / image.height())
            self.setTransform(QTransform.fromScale(scale, scale))
            self.centerOn(image.center())
            self.layout_overlays()
            self.zoomChanged.emit(self.zoom)

    def zoom_actual_size(self) -> None:
        """One image pixel per screen pixel, centred on the view's centre."""
        centre = self.mapToScene(self.viewport().rect().center())
        self.fit_mode = False
        self.resetTransform()
        self.centerOn(centre)
        self.layout_overlays()
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
        self.layout_overlays()
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
