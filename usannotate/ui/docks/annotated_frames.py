"""The annotated-frame list beside the timeline: the frames any track was marked on, to jump to.

One row per frame holding a keyframe or a tracked frame of any track (a diamond in the track's
colour, the counts); choosing a row jumps there.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QIcon,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from usannotate.annotations import FrameSource
from usannotate.ui.docks.track_lane import TrackLane
from usannotate.ui.ticks import Timing, format_time, frame_and_time


def _frame_icon(colour: QColor, tracked_only: bool, size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    c, h = size / 2, size / 2 - 1.5
    diamond = QPolygonF(
        [QPointF(c, c - h), QPointF(c + h, c), QPointF(c, c + h), QPointF(c - h, c)]
    )
    if tracked_only:  # hollow and hatched, as on the timeline: not confirmed yet
        painter.setPen(QPen(colour, 1.5))
        painter.setBrush(QBrush(colour, Qt.BrushStyle.BDiagPattern))
    else:
        painter.setPen(QPen(colour.darker(200), 1))
        painter.setBrush(colour)
    painter.drawPolygon(diamond)
    painter.end()
    return QIcon(pixmap)


def _counts(keyframes: int, tracked: int) -> str:
    """``'2 keyframes, 1 tracked'``."""
    parts = []
    if keyframes:
        parts.append(f"{keyframes} keyframe" + ("s" if keyframes != 1 else ""))
    if tracked:
        parts.append(f"{tracked} tracked")
    return ", ".join(parts)


class AnnotatedFrameList(QListWidget):
    """The annotated-frame list: one row per frame holding a keyframe or a tracked frame
    of any track, to jump between them.

    Signals
    -------
    frameRequested(int)
        A row was clicked or activated (Enter, double-click): go to that 0-based frame.
    """

    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setToolTip("")
        self._current: int | None = None
        self._rows: dict[int, QListWidgetItem] = {}
        self.itemClicked.connect(self._on_item)
        self.itemActivated.connect(self._on_item)

    def set_lanes(self, lanes: Sequence[TrackLane], frame_time_ms: Timing = None) -> None:
        """Rebuild the rows from ``lanes``; the current frame's row stays highlighted."""
        per_frame: dict[int, list[tuple[TrackLane, str]]] = {}
        for lane in lanes:
            for frame, source in lane.frame_sources.items():
                if source in (FrameSource.KEYFRAME, FrameSource.TRACKED):
                    per_frame.setdefault(frame, []).append((lane, str(source)))
        self.blockSignals(True)
        self.clear()
        self._rows = {}
        icons: dict[tuple[str, bool], QIcon] = {}
        for frame in sorted(per_frame):
            entries = per_frame[frame]
            keys = sum(1 for _, s in entries if s == FrameSource.KEYFRAME)
            tracked = len(entries) - keys
            counts = _counts(keys, tracked)
            time = format_time(frame, frame_time_ms)
            text = f"Frame {frame + 1}" + (f"  {time}" if time else "") + f"  ·  {counts}"
            first = next((lane for lane, s in entries if s == FrameSource.KEYFRAME), entries[0][0])
            key = (first.colour, keys == 0)
            if key not in icons:
                icons[key] = _frame_icon(QColor(first.colour), keys == 0)
            item = QListWidgetItem(icons[key], text)
            item.setData(Qt.ItemDataRole.UserRole, frame)
            item.setToolTip(
                f"{frame_and_time(frame, frame_time_ms).capitalize()}:\n"
                + "\n".join(f"{lane.title}: {source}" for lane, source in entries)
                + "\nClick to go to this frame"
            )
            self.addItem(item)
            self._rows[frame] = item
        self.blockSignals(False)
        self._highlight()
        self.viewport().update()

    def set_current_frame(self, frame: int) -> None:
        """Highlight the row of ``frame`` (0-based) if it has one; emits nothing."""
        self._current = frame
        self._highlight()

    def frames(self) -> list[int]:
        """The 0-based frames listed, top to bottom."""
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def _highlight(self) -> None:
        item = self._rows.get(self._current) if self._current is not None else None
        self.blockSignals(True)
        if item is None:
            self.setCurrentItem(None)
            self.clearSelection()
        else:
            self.setCurrentItem(item)
            self.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)
        self.blockSignals(False)

    def _on_item(self, item: QListWidgetItem) -> None:
        # A double-click is a click and an activation: two requests for the same frame,
        # which is harmless (going to the frame shown changes nothing).
        self.frameRequested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.count() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.viewport().rect().adjusted(8, 8, -8, -8),
                Qt.AlignmentFlag.AlignHCenter
                | Qt.AlignmentFlag.AlignTop
                | Qt.TextFlag.TextWordWrap,
                "No keyframes yet",
            )
            painter.end()
