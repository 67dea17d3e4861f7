"""The track timeline under the image: one lane per mark, its keyframes, the current frame.

One lane per mark, its keyframes, interpolated and tracked frames, the current frame; the widget
that ties its geometry (:mod:`._timeline_layout`), its painting (:mod:`._timeline_paint`) and the
mouse together.

:class:`TrackLane` (what it is told of a track) and :class:`AnnotatedFrameList` (the list
of annotated frames beside it) live in :mod:`.track_lane` and :mod:`.annotated_frames`;
they are importable from here too, where the window takes them from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
    QRegion,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QScrollBar, QToolTip, QWidget

from usannotate.ui.docks import _timeline_layout as geometry
from usannotate.ui.docks._timeline_layout import TimelineLayout
from usannotate.ui.docks._timeline_paint import (
    DrawnLane,
    TimelinePainter,
    TimelineScene,
    paint_current,
)
from usannotate.ui.docks.annotated_frames import AnnotatedFrameList
from usannotate.ui.docks.palette import ChartInk
from usannotate.ui.docks.track_lane import FRAME_SOURCES, TrackLane
from usannotate.ui.ticks import Timing, frame_and_time

__all__ = ["FRAME_SOURCES", "AnnotatedFrameList", "TimelineWidget", "TrackLane"]


class TimelineWidget(QWidget):
    """One lane per track under the image: where each mark exists, how (keyframe,
    interpolated, tracked), and the current frame. A pure view: it shows what it is told
    and emits what the user asked.

    Signals
    -------
    frameRequested(int)
        Press or drag in the ruler or the lanes: go to that 0-based frame. A drag emits
        once for every new frame under the mouse (clamped to the loop), so it scrubs.
    trackSelected(str)
        Press on a lane (its title or its body) selects that track (``object_id``); a press
        on the body also emits ``frameRequested``.
    """

    frameRequested = Signal(int)
    trackSelected = Signal(str)

    TITLE_WIDTH = geometry.TITLE_WIDTH
    LANE_HEIGHT = geometry.LANE_HEIGHT
    MIN_LANE_HEIGHT = geometry.MIN_LANE_HEIGHT
    HINT_LANES = 3
    RIGHT_MARGIN = geometry.RIGHT_MARGIN
    LEFT_MARGIN = geometry.LEFT_MARGIN

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._n_frames = 0
        self._frame_time_ms: Timing = None
        self._lanes: list[DrawnLane] = []
        self._current = 0
        self._selected: str | None = None
        self._scrubbing = False
        self._last_requested: int | None = None
        self._static: QPixmap | None = None  # everything but the current frame
        self._ruler_h: int | None = None
        self._small: QFont | None = None
        self._painter = TimelinePainter()
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the main window owns the keys
        self.setMouseTracking(True)  # cursor shape and tooltips follow the mouse
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("")  # tooltips come from event(): per cell
        self._scrollbar = QScrollBar(Qt.Orientation.Vertical, self)
        self._scrollbar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scrollbar.hide()
        self._scrollbar.valueChanged.connect(self._invalidate)
        self._events: list[tuple[int, str]] = []

    # ----------------------------------------------------------------- what it is told

    def set_frame_count(self, n_frames: int, frame_time_ms: Timing = None) -> None:
        """The loop's length in frames and, if known, its timing: the time between frames
        in ms, or each frame's start time in ms (uneven frame times)."""
        self._n_frames = max(0, int(n_frames))
        self._frame_time_ms = frame_time_ms
        self._current = min(self._current, max(0, self._n_frames - 1))
        self._invalidate()

    def set_lanes(self, lanes: Sequence[TrackLane]) -> None:
        """The tracks to show, top to bottom."""
        self._lanes = [DrawnLane.of(lane) for lane in lanes]
        # No updateGeometry(): the dock keeps its height as tracks come and go (lanes
        # shrink, then scroll), or the image above would shrink and jump with every mark.
        self._layout_scrollbar()
        self._invalidate()

    def set_current_frame(self, frame: int) -> None:
        """Move the current-frame line (0-based); emits nothing."""
        if frame == self._current:
            return
        previous, self._current = self._current, frame
        if self._static is None or not self._n_frames:
            self.update()
            return
        # Only what the current frame covers, before and after: during playback this
        # runs every frame, and a whole repaint also repaints the lanes' scroll bar.
        layout = self._layout()
        area = QRegion(0, 0, self.TITLE_WIDTH, layout.ruler_height)  # the corner readout
        for shown in (previous, frame):
            area += self._current_frame_rect(layout, shown)
        self.update(area)

    def _current_frame_rect(self, layout: TimelineLayout, frame: int) -> QRect:
        """What :func:`paint_current` draws for ``frame`` outside the corner: its
        column, the playhead line and the ruler marker (with a pixel to spare)."""
        frame = min(max(frame, 0), layout.n_frames - 1)
        x = layout.x_of_frame(frame)
        half = max(layout.column_width / 2, 6.0) + 2
        top = layout.ruler_height - 12
        return QRect(math.floor(x - half), top, math.ceil(2 * half) + 1, layout.height - top)

    def set_selected_track(self, object_id: str | None) -> None:
        """Highlight the lane of ``object_id`` (None: no lane); emits nothing."""
        if object_id != self._selected:
            self._selected = object_id
            self._invalidate()

    def set_events(self, events: Sequence[tuple[int, str]]) -> None:
        """The loop's events as ``(frame, title)``: a marker on the ruler and a line down
        the lanes at each (drawn over the lanes, like the current-frame line)."""
        events = sorted(events)
        if events != self._events:
            self._events = events
            self.update()

    def events(self) -> list[tuple[int, str]]:
        """The events shown, ``(frame, title)`` in frame order."""
        return list(self._events)

    def current_frame(self) -> int:
        """The frame of the current-frame line (0-based)."""
        return self._current

    def selected_track(self) -> str | None:
        """The ``object_id`` of the highlighted lane, or None."""
        return self._selected

    # ----------------------------------------------------------------- geometry

    def _layout(self) -> TimelineLayout:
        """Where everything is now (size, scroll position, lanes, frames)."""
        bar = self._scrollbar
        return TimelineLayout(
            self.width(),
            self.height(),
            self._ruler_height(),
            self._n_frames,
            len(self._lanes),
            bar.value(),
            bar.width() if bar.isVisible() else 0,
        )

    def _ruler_height(self) -> int:
        if self._ruler_h is None:  # hit testing asks often: measure once per font
            self._ruler_h = QFontMetrics(self._small_font()).height() + 8
        return self._ruler_h

    def _small_font(self) -> QFont:
        """The ruler's font, a little smaller than the widget's."""
        if self._small is None:
            font = QFont(self.font())
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * 0.85)
            else:
                font.setPixelSize(max(8, round(font.pixelSize() * 0.85)))
            self._small = font
        return self._small

    def x_of_frame(self, frame: int) -> float:
        """Widget x of the centre of ``frame``'s column (0-based)."""
        return self._layout().x_of_frame(frame)

    def frame_at(self, x: float) -> int:
        """The 0-based frame whose column holds widget ``x``, clamped to the loop."""
        return self._layout().frame_at(x)

    def lane_rect(self, object_id: str) -> QRect:
        """The lane of ``object_id`` (title and body) in widget coordinates; empty if it
        has no lane. For tests and for hit testing from outside."""
        for i, lane in enumerate(self._lanes):
            if lane.lane.object_id == object_id:
                layout = self._layout()
                return QRect(0, layout.lane_top(i), self.width(), layout.lane_height)
        return QRect()

    def _layout_scrollbar(self) -> None:
        layout = self._layout()
        available = layout.lanes_area_height
        bar = self._scrollbar
        bar.setVisible(layout.needs_scroll)
        width = bar.sizeHint().width()
        bar.setGeometry(self.width() - width, layout.ruler_height, width, available)
        bar.setRange(0, layout.scroll_max)
        bar.setSingleStep(layout.lane_height)
        bar.setPageStep(max(1, available))

    def sizeHint(self) -> QSize:
        """Room for :attr:`HINT_LANES` lanes whatever the number of tracks: the height is
        the user's to change (by the dock's splitter), never the marks'."""
        return QSize(600, self._ruler_height() + self.HINT_LANES * self.LANE_HEIGHT + 2)

    def minimumSizeHint(self) -> QSize:
        """The titles, a little room for frames and two of the smallest lanes."""
        return QSize(self.TITLE_WIDTH + 120, self._ruler_height() + 2 * self.MIN_LANE_HEIGHT)

    # ----------------------------------------------------------------- painting

    def _invalidate(self) -> None:
        self._static = None
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._layout_scrollbar()
        self._static = None
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (
            QEvent.Type.PaletteChange,
            QEvent.Type.FontChange,
            QEvent.Type.StyleChange,
        ):
            self._ruler_h = None
            self._small = None
            self._layout_scrollbar()
            self._invalidate()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        ratio = self.devicePixelRatioF()
        layout = self._layout()
        if (
            self._static is None
            or self._static.devicePixelRatio() != ratio
            or self._static.size() != self.size() * ratio
        ):
            scene = TimelineScene(
                layout, self._lanes, self._selected, self.palette(), self.font(), self._small_font()
            )
            self._static = self._painter.render_static(scene, ratio)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._static)
        if self._n_frames and self._events:
            self._paint_events(painter, layout)
        if self._n_frames:
            paint_current(
                painter,
                layout,
                self._current,
                self.palette(),
                self._small_font(),
                self._frame_time_ms,
            )
        painter.end()

    def _paint_events(self, painter: QPainter, layout: TimelineLayout) -> None:
        """Each event: a triangle on the ruler pointing down, a dash-dot line below, in the
        palette's event ink (see :class:`~.palette.ChartInk`)."""
        colour = ChartInk.of(self.palette()).event
        line = QPen(colour, 1.0, Qt.PenStyle.DashDotLine)
        top = layout.ruler_height
        for frame, _title in self._events:
            if not 0 <= frame < self._n_frames:
                continue
            x = layout.x_of_frame(frame)
            painter.setPen(line)
            painter.drawLine(QPointF(x, top), QPointF(x, self.height()))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawPolygon(
                QPolygonF([QPointF(x - 5, 1), QPointF(x + 5, 1), QPointF(x, top - 2)])
            )

    # ----------------------------------------------------------------- the mouse

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._n_frames == 0:
            super().mousePressEvent(event)
            return
        pos = event.position()
        layout = self._layout()
        lane = layout.lane_at(pos.y())
        if lane is not None:
            self.trackSelected.emit(self._lanes[lane].lane.object_id)
        if not layout.in_titles(pos.x()):
            self._scrubbing = True
            self._last_requested = layout.frame_at(pos.x())
            self.frameRequested.emit(self._last_requested)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        layout = self._layout()
        if self._scrubbing and event.buttons() & Qt.MouseButton.LeftButton:
            frame = layout.frame_at(pos.x())
            if frame != self._last_requested:
                self._last_requested = frame
                self.frameRequested.emit(frame)
            event.accept()
            return
        interactive = self._n_frames > 0 and (
            not layout.in_titles(pos.x()) or layout.lane_at(pos.y()) is not None
        )
        self.setCursor(
            Qt.CursorShape.PointingHandCursor if interactive else Qt.CursorShape.ArrowCursor
        )
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._scrubbing:
            self._scrubbing = False
            self._last_requested = None
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        # Scroll the lanes when they do not fit; otherwise leave the wheel to the parent.
        if self._scrollbar.isVisible() and event.angleDelta().y():
            self._scrollbar.setValue(self._layout().wheel_scroll_px(event.angleDelta().y()))
            event.accept()
        else:
            event.ignore()

    # ----------------------------------------------------------------- tooltips

    def tooltip_at(self, pos: QPoint | QPointF) -> str:
        """The tooltip for widget position ``pos`` (empty: none)."""
        if self._n_frames == 0:
            return ""
        layout = self._layout()
        x, y = pos.x(), pos.y()
        lane_index = layout.lane_at(y)
        if layout.in_titles(x):
            if lane_index is None:
                return ""
            lane = self._lanes[lane_index]
            counts = {s: 0 for s in FRAME_SOURCES}
            for source in lane.lane.frame_sources.values():
                counts[str(source)] += 1
            parts = [f"{n} {s}" for s, n in counts.items() if n]
            return f"{lane.lane.title}: {', '.join(parts) or 'no frames'}. Click to select."
        frame = layout.frame_at(x)
        where = frame_and_time(frame, self._frame_time_ms)
        if lane_index is None:
            if y >= layout.ruler_height:
                return ""
            marked = [title for f, title in self._events if f == frame]
            return where[0].upper() + where[1:] + "".join(f"; {t}" for t in marked)
        lane = self._lanes[lane_index].lane
        source = lane.frame_sources.get(frame)
        return f"{lane.title} — {where}: {source if source is not None else 'not marked'}"

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            text = self.tooltip_at(event.pos())
            if text:
                # The cell the tooltip belongs to: it is hidden once the mouse leaves it.
                cell = QRect(*self._layout().cell_at(event.pos().x(), event.pos().y()))
                QToolTip.showText(event.globalPos(), text, self, cell)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)
