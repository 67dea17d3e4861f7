"""Seeking and hover on the Curves plot (the mouse side of its view).

A press or drag on the plots scrubs; a tooltip names the nearest sample
(:class:`~._curve_view.CurveView` mixes :class:`CurvePointer` in).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QHelpEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QToolTip

from usannotate.ui.docks._curve_items import Series
from usannotate.ui.docks.curve_data import CurveSample

_HOVER_REACH = 14.0  # a tooltip names a sample at most this far from the mouse, px


class CurvePointer:
    """The mouse handlers of :class:`~._curve_view.CurveView`, mixed in before its
    pyqtgraph base (they override Qt's); they read the view's panels and coordinates
    (``_panels``, ``panel_rect``, ``frame_at``, ``x_of_frames``, ``times``, ``n_frames``)
    and emit its ``frameRequested``."""

    _dragging = False
    _last_requested = -1

    def _seek_area(self) -> QRectF:
        if not self._panels or self.n_frames == 0:
            return QRectF()
        top = self.panel_rect(0)
        bottom = self.viewportTransform().mapRect(
            self._panels[-1].plot.getAxis("bottom").sceneBoundingRect()
        )
        return QRectF(top.topLeft(), QPointF(top.right(), bottom.bottom())).adjusted(-2, 0, 2, 0)

    # ----------------------------------------------------------------- mouse
    # The plot is not pyqtgraph-interactive (no pan, zoom or menus): a press anywhere on
    # the plots or the time axis seeks, a drag scrubs.
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if event.button() == Qt.MouseButton.LeftButton and self._seek_area().contains(pos):
            self._dragging = True
            self._request(self.frame_at(pos.x()), force=True)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._dragging and event.buttons() & Qt.MouseButton.LeftButton:
            self._request(self.frame_at(pos.x()))
        else:
            cross = self._seek_area().contains(pos)
            cursor = Qt.CursorShape.CrossCursor if cross else Qt.CursorShape.ArrowCursor
            self.viewport().setCursor(cursor)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        event.ignore()  # nothing zooms; the dock around may scroll

    def _request(self, frame: int, force: bool = False) -> None:
        if frame >= 0 and (force or frame != self._last_requested):
            self._last_requested = frame
            self.frameRequested.emit(frame)

    # ----------------------------------------------------------------- hover
    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            pos = QPointF(event.pos())
            text = self.hover_text(pos)
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            elif self._seek_area().contains(pos):
                QToolTip.showText(event.globalPos(), self.toolTip(), self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)

    def hover_text(self, pos: QPointF) -> str:
        """The sample nearest ``pos``, e.g. "Needle · frame 41 · 1.33 s · 12.56 mm (tracked)"."""
        to_view = self.viewportTransform()
        for index, panel in enumerate(self._panels):
            if not self.panel_rect(index).adjusted(-4, -4, 4, 4).contains(pos):
                continue
            frame = self.frame_at(pos.x())
            best: tuple[float, Series, CurveSample] | None = None
            for s in panel.series:
                i = int(np.searchsorted(s.frames, frame))
                for k in (i - 1, i, i + 1):
                    if 0 <= k < len(s.samples):
                        sample = s.samples[k]
                        point = to_view.map(
                            panel.vb.mapViewToScene(
                                QPointF(self.x_of_frames([sample.frame])[0], sample.value)
                            )
                        )
                        dx, dy = point.x() - pos.x(), point.y() - pos.y()
                        distance = math.hypot(dx, dy * 0.5)  # vertical misses matter less
                        if abs(dx) <= _HOVER_REACH and (best is None or distance < best[0]):
                            best = (distance, s, sample)
            if best is None:
                return ""
            _, s, sample = best
            parts = [s.name, f"frame {sample.frame + 1}"]
            if self.times:
                parts.append(f"{self.times[sample.frame]:.2f} s")
            parts.append(f"{sample.value:.2f} {panel.unit}".strip() + f" ({sample.source})")
            return " · ".join(parts)
        return ""
