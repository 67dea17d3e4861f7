"""The track timeline under the image: one lane per mark, its keyframes, interpolated and
tracked frames, the current frame; plus the list of annotated frames."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import (
    QEvent,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QIcon,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QScrollBar,
    QToolTip,
    QWidget,
)

from usannotate.annotations import FrameSource

FRAME_SOURCES = tuple(FrameSource)
"""The values of :attr:`TrackLane.frame_sources` (those of ``annotations.FrameSource``)."""

EMPTY_TEXT = "No marks yet: draw on the image; each mark becomes a track here"
NO_LOOP_TEXT = "No loop open"


@dataclass(frozen=True)
class TrackLane:
    """What the timeline shows of one track (one annotated object through the loop).

    Parameters
    ----------
    object_id
        The object the lane stands for (emitted back by ``trackSelected``).
    title
        What the lane is called on screen, e.g. ``"Needle"`` or ``"Superficial fascia 2"``.
    colour
        The label's colour, ``'#rrggbb'``.
    frame_sources
        0-based frame index -> ``"keyframe"``, ``"interpolated"`` or ``"tracked"``, only for
        the frames where the track exists (``annotations.FrameSource`` values work too).

    Raises
    ------
    ValueError
        A frame index below 0 or a source that is not one of the three.
    """

    object_id: str
    title: str
    colour: str
    frame_sources: Mapping[int, str]

    def __post_init__(self) -> None:
        for frame, source in self.frame_sources.items():
            if frame < 0:
                raise ValueError(
                    f"track {self.object_id!r}: frame {frame} is negative (frames are 0-based)"
                )
            if source not in FRAME_SOURCES:
                raise ValueError(
                    f"track {self.object_id!r}: frame {frame} has source {source!r}, "
                    f"expected one of {', '.join(FRAME_SOURCES)}"
                )


def nice_tick_step(pixels_per_frame: float, min_label_spacing_px: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 25, 50, 100, ... frames whose labels are at least
    ``min_label_spacing_px`` apart."""
    if pixels_per_frame <= 0:
        return 1
    for magnitude in range(0, 9):
        for mantissa in (1, 2, 5) if magnitude == 0 else (1, 2, 2.5, 5):
            step = round(mantissa * 10**magnitude)
            if step * pixels_per_frame >= min_label_spacing_px:
                return step
    return 10**9


#: A loop's timing: the time between frames (ms), or each frame's start time (ms) when
#: the frames are unevenly spaced (FrameTimeVector), or None when unknown.
Timing = float | Sequence[float] | None


def _format_time(frame: int, frame_time_ms: Timing) -> str:
    if frame_time_ms is None:
        return ""
    if isinstance(frame_time_ms, int | float):
        return f"{frame * frame_time_ms / 1000:.2f} s"
    if not 0 <= frame < len(frame_time_ms):
        return ""
    return f"{frame_time_ms[frame] / 1000:.2f} s"


def _frame_and_time(frame: int, frame_time_ms: Timing) -> str:
    """``'frame 23 (0.73 s)'``: frames 1-based on screen."""
    time = _format_time(frame, frame_time_ms)
    return f"frame {frame + 1}" + (f" ({time})" if time else "")


@dataclass(frozen=True, eq=False)  # arrays inside: compare by identity
class _Lane:
    """A lane as drawn, its frames as arrays once per ``set_lanes``."""

    lane: TrackLane
    colour: QColor
    frames: np.ndarray  # (n,) int64, the frames where the track exists
    codes: np.ndarray  # (n,) uint8, their sources as _CODES
    keyframes: np.ndarray  # (k,) int64, sorted

    @classmethod
    def of(cls, lane: TrackLane) -> _Lane:
        frames = np.fromiter(lane.frame_sources.keys(), dtype=np.int64)
        codes = np.fromiter((_CODES[str(s)] for s in lane.frame_sources.values()), dtype=np.uint8)
        keyframes = np.sort(frames[codes == _CODES[FrameSource.KEYFRAME]])
        return cls(lane, QColor(lane.colour), frames, codes, keyframes)

    def codes_per_frame(self, n_frames: int) -> np.ndarray:
        """(n_frames,) uint8: 0 where the track does not exist, else its _CODES."""
        out = np.zeros(n_frames, dtype=np.uint8)
        inside = self.frames < n_frames
        out[self.frames[inside]] = self.codes[inside]
        return out


_CODES = {FrameSource.KEYFRAME: 1, FrameSource.INTERPOLATED: 2, FrameSource.TRACKED: 3}


def _argb(colour: QColor) -> int:
    """``colour`` as a premultiplied ARGB32 pixel."""
    a = colour.alpha()
    r, g, b = (round(c * a / 255) for c in (colour.red(), colour.green(), colour.blue()))
    return (a << 24) | (r << 16) | (g << 8) | b


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

    TITLE_WIDTH = 150
    LANE_HEIGHT = 18
    MIN_LANE_HEIGHT = 14
    HINT_LANES = 3
    RIGHT_MARGIN = 8
    LEFT_MARGIN = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._n_frames = 0
        self._frame_time_ms: Timing = None
        self._lanes: list[_Lane] = []
        self._current = 0
        self._selected: str | None = None
        self._scrubbing = False
        self._last_requested: int | None = None
        self._static: QPixmap | None = None  # everything but the current frame
        self._ruler_h: int | None = None
        self._small: QFont | None = None
        self._sprites: dict[tuple[int, int, float, float], QPixmap] = {}
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the main window owns the keys
        self.setMouseTracking(True)  # cursor shape and tooltips follow the mouse
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("")  # tooltips come from event(): per cell
        self._scrollbar = QScrollBar(Qt.Orientation.Vertical, self)
        self._scrollbar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scrollbar.hide()
        self._scrollbar.valueChanged.connect(self._invalidate)

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
        self._lanes = [_Lane.of(lane) for lane in lanes]
        # No updateGeometry(): the dock keeps its height as tracks come and go (lanes
        # shrink, then scroll), or the image above would shrink and jump with every mark.
        self._layout_scrollbar()
        self._invalidate()

    def set_current_frame(self, frame: int) -> None:
        """Move the current-frame line (0-based); emits nothing."""
        if frame != self._current:
            self._current = frame
            self.update()

    def set_selected_track(self, object_id: str | None) -> None:
        """Highlight the lane of ``object_id`` (None: no lane); emits nothing."""
        if object_id != self._selected:
            self._selected = object_id
            self._invalidate()

    def current_frame(self) -> int:
        return self._current

    def selected_track(self) -> str | None:
        return self._selected

    # ----------------------------------------------------------------- geometry

    def _ruler_height(self) -> int:
        if self._ruler_h is None:  # hit testing asks often: measure once per font
            self._ruler_h = self._small_metrics().height() + 8
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

    def _small_metrics(self) -> QFontMetrics:
        return QFontMetrics(self._small_font())

    def _frames_left(self) -> float:
        return float(self.TITLE_WIDTH + self.LEFT_MARGIN)

    def _frames_right(self) -> float:
        right = self.width() - self.RIGHT_MARGIN
        if self._scrollbar.isVisible():
            right -= self._scrollbar.width()
        return float(right)

    def _column_width(self) -> float:
        return max(1e-6, self._frames_right() - self._frames_left()) / max(1, self._n_frames)

    def x_of_frame(self, frame: int) -> float:
        """Widget x of the centre of ``frame``'s column (0-based)."""
        return self._frames_left() + (frame + 0.5) * self._column_width()

    def frame_at(self, x: float) -> int:
        """The 0-based frame whose column holds widget ``x``, clamped to the loop."""
        if self._n_frames == 0:
            return 0
        frame = math.floor((x - self._frames_left()) / self._column_width())
        return min(max(frame, 0), self._n_frames - 1)

    def _lane_height(self) -> int:
        if not self._lanes:
            return self.LANE_HEIGHT
        available = self.height() - self._ruler_height()
        return max(self.MIN_LANE_HEIGHT, min(self.LANE_HEIGHT, available // len(self._lanes)))

    def _lane_top(self, index: int) -> int:
        return self._ruler_height() + index * self._lane_height() - self._scrollbar.value()

    def lane_rect(self, object_id: str) -> QRect:
        """The lane of ``object_id`` (title and body) in widget coordinates; empty if it
        has no lane. For tests and for hit testing from outside."""
        for i, lane in enumerate(self._lanes):
            if lane.lane.object_id == object_id:
                return QRect(0, self._lane_top(i), self.width(), self._lane_height())
        return QRect()

    def _lane_at(self, y: float) -> int | None:
        if y < self._ruler_height():
            return None
        index = math.floor((y - self._lane_top(0)) / self._lane_height())
        return index if 0 <= index < len(self._lanes) else None

    def _layout_scrollbar(self) -> None:
        lanes_height = len(self._lanes) * self._lane_height()
        available = max(0, self.height() - self._ruler_height())
        bar = self._scrollbar
        bar.setVisible(lanes_height > available)
        width = bar.sizeHint().width()
        bar.setGeometry(self.width() - width, self._ruler_height(), width, available)
        bar.setRange(0, max(0, lanes_height - available))
        bar.setSingleStep(self._lane_height())
        bar.setPageStep(max(1, available))

    def sizeHint(self) -> QSize:
        """Room for :attr:`HINT_LANES` lanes whatever the number of tracks: the height is
        the user's to change (by the dock's splitter), never the marks'."""
        return QSize(600, self._ruler_height() + self.HINT_LANES * self.LANE_HEIGHT + 2)

    def minimumSizeHint(self) -> QSize:
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
        if (
            self._static is None
            or self._static.devicePixelRatio() != ratio
            or self._static.size() != self.size() * ratio
        ):
            self._static = self._render_static(ratio)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._static)
        if self._n_frames:
            self._paint_current(painter)
        painter.end()

    def _render_static(self, ratio: float) -> QPixmap:
        """Everything that does not move with the current frame, drawn once per change.
        Playback then repaints by copying this and drawing one line."""
        pixmap = QPixmap(self.size() * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pal = self.palette()
        pixmap.fill(pal.color(QPalette.ColorRole.Base))
        painter = QPainter(pixmap)
        ruler = self._ruler_height()
        # Title column and ruler on the window colour, lanes on the base colour.
        painter.fillRect(QRect(0, 0, self.width(), ruler), pal.color(QPalette.ColorRole.Window))
        painter.fillRect(
            QRect(0, ruler, self.TITLE_WIDTH, self.height()), pal.color(QPalette.ColorRole.Window)
        )
        if self._n_frames == 0:
            self._paint_message(painter, NO_LOOP_TEXT)
        else:
            self._paint_ruler(painter)
            if self._lanes:
                painter.save()
                painter.setClipRect(QRect(0, ruler, self.width(), self.height() - ruler))
                self._paint_lanes(painter)
                painter.restore()
            else:
                self._paint_message(painter, EMPTY_TEXT)
        # Lines as 1-px rectangles throughout: the raster engine fills those far faster
        # than it strokes (translucent) lines.
        line = pal.color(QPalette.ColorRole.Mid)
        painter.fillRect(QRect(0, ruler - 1, self.width(), 1), line)
        painter.fillRect(QRect(self.TITLE_WIDTH - 1, 0, 1, self.height()), line)
        painter.end()
        return pixmap

    def _paint_message(self, painter: QPainter, text: str) -> None:
        ruler = self._ruler_height()
        area = QRect(self.TITLE_WIDTH, ruler, self.width() - self.TITLE_WIDTH, self.height())
        area.setBottom(self.height() - 1)
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        metrics = painter.fontMetrics()
        painter.drawText(
            area,
            Qt.AlignmentFlag.AlignCenter,
            metrics.elidedText(text, Qt.TextElideMode.ElideRight, area.width() - 16),
        )

    def _ticks(self) -> tuple[list[int], int | None]:
        """The labelled frame numbers (1-based) and the minor tick step (None: none)."""
        width = self._column_width()
        label_width = self._small_metrics().horizontalAdvance(str(self._n_frames))
        step = nice_tick_step(width, max(label_width + 24, 32))
        minor = next(
            (
                m
                for m in (step // 10, step // 5, step // 2)
                if m >= 1 and step % m == 0 and m * width >= 5
            ),
            None,
        )
        # Frame numbers are 1-based on screen: ticks at 1 and at multiples of the step.
        numbers = list(range(step, self._n_frames + 1, step))
        if not numbers or (numbers[0] - 1) * width >= label_width + 12:
            numbers.insert(0, 1)
        return numbers, minor

    def _paint_ruler(self, painter: QPainter) -> None:
        pal = self.palette()
        ruler = self._ruler_height()
        font = self._small_font()
        metrics = QFontMetrics(font)
        painter.setFont(font)
        numbers, minor = self._ticks()
        text = pal.color(QPalette.ColorRole.WindowText)
        faint = QColor(text)
        faint.setAlphaF(0.45)
        left, right = self._frames_left(), self._frames_right()
        if minor:
            xs = left + (np.arange(minor, self._n_frames + 1, minor) - 0.5) * self._column_width()
            for x in np.round(xs).astype(int).tolist():
                painter.fillRect(QRect(x, ruler - 4, 1, 3), faint)
        painter.setPen(QPen(text, 1))
        for number in numbers:
            x = self.x_of_frame(number - 1)
            painter.fillRect(QRect(round(x), ruler - 7, 1, 6), text)
            label = str(number)
            w = metrics.horizontalAdvance(label)
            # Keep the label inside the ruler at both ends: shift, do not clip.
            lx = min(max(x - w / 2, left - self.LEFT_MARGIN + 2), right + self.RIGHT_MARGIN - w - 1)
            painter.drawText(QPointF(lx, metrics.ascent() + 2), label)

    def _paint_grid(self, painter: QPainter) -> None:
        """Faint lines under the labelled frames, to read a frame off a lane.

        One row of pixels tiled down the lanes: a thousandth of the spans that
        one-pixel-wide rectangles would cost the raster engine."""
        grid = QColor(self.palette().color(QPalette.ColorRole.Text))
        grid.setAlphaF(0.08)
        ratio = painter.device().devicePixelRatioF()
        row = np.zeros(max(1, round(self.width() * ratio)), dtype=np.uint32)
        xs = [round(self.x_of_frame(number - 1) * ratio) for number in self._ticks()[0]]
        row[np.clip(xs, 0, len(row) - 1)] = _argb(grid)
        image = QImage(
            row.tobytes(), len(row), 1, 4 * len(row), QImage.Format.Format_ARGB32_Premultiplied
        ).copy()
        image.setDevicePixelRatio(ratio)
        top = self._ruler_height()
        bottom = min(self.height(), self._lane_top(len(self._lanes)))
        painter.fillRect(QRect(0, top, self.width(), bottom - top), QBrush(image))

    def _paint_lanes(self, painter: QPainter) -> None:
        pal = self.palette()
        lane_h = self._lane_height()
        font = QFont(self.font())
        if painter.fontMetrics().height() > lane_h - 2:
            font.setPixelSize(max(8, lane_h - 4))
        bold = QFont(font)
        bold.setBold(True)
        highlight = QColor(pal.color(QPalette.ColorRole.Highlight))
        tint = QColor(highlight)
        tint.setAlphaF(0.28)
        text_colour = pal.color(QPalette.ColorRole.WindowText)
        separator = QColor(pal.color(QPalette.ColorRole.Mid))
        separator.setAlphaF(0.35)
        dark = pal.color(QPalette.ColorRole.Base).lightness() < 128
        self._paint_grid(painter)
        visible = [
            (i, lane)
            for i, lane in enumerate(self._lanes)
            if self._lane_top(i) + lane_h >= self._ruler_height()
            and self._lane_top(i) <= self.height()
        ]
        for i, lane in visible:
            top = self._lane_top(i)
            selected = lane.lane.object_id == self._selected
            if selected:
                painter.fillRect(QRect(0, top, self.width(), lane_h), tint)
                painter.fillRect(QRect(0, top, 3, lane_h), highlight)
            painter.fillRect(QRect(0, top + lane_h - 1, self.width(), 1), separator)
            # Title: swatch and elided name.
            painter.setPen(QPen(lane.colour.darker(160), 1))
            painter.setBrush(lane.colour)
            painter.drawRoundedRect(QRectF(8, top + (lane_h - 10) / 2, 10, 10), 2, 2)
            painter.setFont(bold if selected else font)
            painter.setPen(text_colour)
            title_rect = QRect(24, top, self.TITLE_WIDTH - 30, lane_h)
            painter.drawText(
                title_rect,
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                painter.fontMetrics().elidedText(
                    lane.lane.title, Qt.TextElideMode.ElideRight, title_rect.width()
                ),
            )
        self._paint_bars(painter, visible, lane_h, dark)
        for i, lane in visible:
            self._paint_keyframes(painter, lane, self._lane_top(i) + lane_h / 2, lane_h, dark)

    def _paint_bars(
        self, painter: QPainter, visible: list[tuple[int, _Lane]], lane_h: int, dark: bool
    ) -> None:
        """Where each track exists, a bar: keyframes in its colour, interpolated frames
        lighter, tracked ones (not confirmed yet) another tone, hatched and edged.

        Each lane's bar is built as pixels with numpy (device pixel -> frame -> colour)
        and drawn in one call: a 600-frame lane costs the same whatever its keyframes,
        interpolation and tracking look like, and runs of frames need no rectangles.
        """
        ratio = painter.device().devicePixelRatioF()
        left = self._frames_left()
        x0 = round(left * ratio)
        width_px = round(self._n_frames * self._column_width() * ratio)
        if width_px <= 0:
            return
        bar_h = max(6, lane_h - 8)
        height_px = max(1, round(bar_h * ratio))
        # The frame under each device pixel's centre.
        centres = (x0 + np.arange(width_px) + 0.5) / ratio
        frame_of_px = np.clip(
            ((centres - left) / self._column_width()).astype(np.int64), 0, self._n_frames - 1
        )
        # Tracked frames: diagonal hatch lines ("/"), anchored to the widget so lanes
        # hatch in step; edged top and bottom.
        spacing = max(4, round(6 * ratio))
        rows = np.arange(height_px)[:, None]
        hatch_mask = (x0 + np.arange(width_px)[None, :] + rows) % spacing == 0
        edge_rows = np.zeros((height_px, 1), dtype=bool)
        edge_rows[0] = edge_rows[-1] = True
        for i, lane in visible:
            codes = lane.codes_per_frame(self._n_frames)
            if not codes.any():
                continue
            colour = lane.colour
            interpolated = QColor(colour)
            interpolated.setAlphaF(0.45)
            tone = QColor(colour).darker(170) if dark else QColor(colour)
            tone.setAlphaF(0.75 if dark else 0.22)
            table = np.array([0, _argb(colour), _argb(interpolated), _argb(tone)], dtype=np.uint32)
            px_codes = codes[frame_of_px]
            pixels = np.repeat(table[px_codes][None, :], height_px, axis=0)
            tracked = px_codes == _CODES[FrameSource.TRACKED]
            if tracked.any():
                line = _argb(colour if dark else colour.darker(150))
                edge = _argb(colour if dark else colour.darker(120))
                pixels[hatch_mask & tracked[None, :]] = line
                pixels[edge_rows & tracked[None, :]] = edge
            image = QImage(
                pixels.tobytes(),
                width_px,
                height_px,
                4 * width_px,
                QImage.Format.Format_ARGB32_Premultiplied,
            ).copy()  # own the pixels: the bytes object is temporary
            image.setDevicePixelRatio(ratio)
            top = self._lane_top(i) + (lane_h - bar_h) // 2
            painter.drawImage(QPointF(x0 / ratio, top), image)

    def _paint_keyframes(
        self, painter: QPainter, lane: _Lane, cy: float, lane_h: int, dark: bool
    ) -> None:
        """Keyframes as diamonds on the bar. Diamonds closer than half their width (narrow
        columns) merge into one stretched diamond: it looks like the overlapping diamonds
        would, and costs one polygon, not hundreds."""
        keys = lane.keyframes[lane.keyframes < self._n_frames]
        if not len(keys):
            return
        bar_h = max(6, lane_h - 8)
        half = min(lane_h / 2 - 1.5, bar_h / 2 + 2.0)
        xs = self._frames_left() + (keys + 0.5) * self._column_width()
        starts = np.flatnonzero(np.diff(xs, prepend=-np.inf) >= half)
        ends = np.append(starts[1:], len(xs)) - 1
        pen = QPen(QColor(20, 20, 20) if dark else lane.colour.darker(230), 1)
        sprite = self._sprite(lane.colour, pen, half, painter.device().devicePixelRatioF())
        offset = sprite.width() / sprite.devicePixelRatio() / 2
        painter.setPen(pen)
        painter.setBrush(lane.colour)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            if start == end:  # the common case: a stamp, cheaper than a polygon
                painter.drawPixmap(QPointF(xs[start] - offset, cy - offset), sprite)
            else:
                painter.drawPolygon(_diamond(float(xs[start]), float(xs[end]), cy, half))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _sprite(self, colour: QColor, pen: QPen, half: float, ratio: float) -> QPixmap:
        key = (colour.rgba(), pen.color().rgba(), half, ratio)
        sprite = self._sprites.get(key)
        if sprite is None:
            if len(self._sprites) > 64:
                self._sprites.clear()
            sprite = self._sprites[key] = _diamond_sprite(colour, pen, half, ratio)
        return sprite

    def _paint_current(self, painter: QPainter) -> None:
        frame = min(max(self._current, 0), self._n_frames - 1)
        x = self.x_of_frame(frame)
        width = self._column_width()
        ruler = self._ruler_height()
        if width >= 4:  # the whole frame's column, faintly
            column = QColor(255, 214, 0, 40)
            painter.fillRect(QRectF(x - width / 2, ruler, width, self.height() - ruler), column)
        outline = QColor(20, 20, 20, 220)
        playhead = QColor(255, 214, 0)
        xi = round(x)
        painter.fillRect(QRect(xi - 1, ruler - 6, 3, self.height() - ruler + 6), outline)
        painter.fillRect(QRect(xi, ruler - 5, 1, self.height() - ruler + 5), playhead)
        # Ruler marker: a downward triangle at the frame.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(outline, 1))
        painter.setBrush(playhead)
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(x - 5.5, ruler - 11),
                    QPointF(x + 5.5, ruler - 11),
                    QPointF(x, ruler - 4),
                ]
            )
        )
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        # Corner readout: the current frame (1-based) and its time.
        corner = QRect(0, 0, self.TITLE_WIDTH - 1, ruler - 1)
        painter.fillRect(corner, self.palette().color(QPalette.ColorRole.Window))
        painter.setFont(self._small_font())
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        time = _format_time(frame, self._frame_time_ms)
        painter.drawText(
            corner.adjusted(8, 0, -4, 0),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            f"Frame {frame + 1} / {self._n_frames}" + (f"  {time}" if time else ""),
        )

    # ----------------------------------------------------------------- the mouse

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._n_frames == 0:
            super().mousePressEvent(event)
            return
        pos = event.position()
        lane = self._lane_at(pos.y())
        if lane is not None:
            self.trackSelected.emit(self._lanes[lane].lane.object_id)
        if pos.x() >= self.TITLE_WIDTH:
            self._scrubbing = True
            self._last_requested = self.frame_at(pos.x())
            self.frameRequested.emit(self._last_requested)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._scrubbing and event.buttons() & Qt.MouseButton.LeftButton:
            frame = self.frame_at(pos.x())
            if frame != self._last_requested:
                self._last_requested = frame
                self.frameRequested.emit(frame)
            event.accept()
            return
        interactive = self._n_frames > 0 and (
            pos.x() >= self.TITLE_WIDTH or self._lane_at(pos.y()) is not None
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
            self._scrollbar.setValue(
                self._scrollbar.value() - round(event.angleDelta().y() / 120 * self._lane_height())
            )
            event.accept()
        else:
            event.ignore()

    # ----------------------------------------------------------------- tooltips

    def tooltip_at(self, pos: QPoint | QPointF) -> str:
        """The tooltip for widget position ``pos`` (empty: none)."""
        if self._n_frames == 0:
            return ""
        x, y = pos.x(), pos.y()
        lane_index = self._lane_at(y)
        if x < self.TITLE_WIDTH:
            if lane_index is None:
                return ""
            lane = self._lanes[lane_index]
            counts = {s: 0 for s in FRAME_SOURCES}
            for source in lane.lane.frame_sources.values():
                counts[str(source)] += 1
            parts = [f"{n} {s}" for s, n in counts.items() if n]
            return f"{lane.lane.title}: {', '.join(parts) or 'no frames'}. Click to select."
        frame = self.frame_at(x)
        where = _frame_and_time(frame, self._frame_time_ms)
        if lane_index is None:
            return where[0].upper() + where[1:] if y < self._ruler_height() else ""
        lane = self._lanes[lane_index].lane
        source = lane.frame_sources.get(frame)
        return f"{lane.title} — {where}: {source if source is not None else 'not marked'}"

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self, self._tip_rect(event.pos()))
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def _tip_rect(self, pos: QPoint) -> QRect:
        """The cell a tooltip belongs to: it is hidden once the mouse leaves it."""
        lane = self._lane_at(pos.y())
        top, height = (
            (0, self._ruler_height())
            if lane is None
            else (self._lane_top(lane), self._lane_height())
        )
        if pos.x() < self.TITLE_WIDTH:
            return QRect(0, top, self.TITLE_WIDTH, height)
        frame = self.frame_at(pos.x())
        width = self._column_width()
        x0 = math.floor(self._frames_left() + frame * width)
        return QRect(x0, top, max(1, math.ceil(width)), height)


def _diamond(x0: float, x1: float, cy: float, half: float) -> QPolygonF:
    """A keyframe diamond centred on ``(x0, cy)``; stretched to ``x1`` when ``x1 > x0``."""
    return QPolygonF(
        [
            QPointF(x0 - half, cy),
            QPointF(x0, cy - half),
            QPointF(x1, cy - half),
            QPointF(x1 + half, cy),
            QPointF(x1, cy + half),
            QPointF(x0, cy + half),
        ]
    )


def _diamond_sprite(colour: QColor, pen: QPen, half: float, ratio: float) -> QPixmap:
    """One keyframe diamond, drawn once per lane and stamped at each keyframe."""
    side = math.ceil(2 * half) + 2
    pixmap = QPixmap(round(side * ratio), round(side * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(pen)
    painter.setBrush(colour)
    painter.drawPolygon(_diamond(side / 2, side / 2, side / 2, half))
    painter.end()
    return pixmap


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
            time = _format_time(frame, frame_time_ms)
            text = f"Frame {frame + 1}" + (f"  {time}" if time else "") + f"  ·  {counts}"
            first = next((lane for lane, s in entries if s == FrameSource.KEYFRAME), entries[0][0])
            key = (first.colour, keys == 0)
            if key not in icons:
                icons[key] = _frame_icon(QColor(first.colour), keys == 0)
            item = QListWidgetItem(icons[key], text)
            item.setData(Qt.ItemDataRole.UserRole, frame)
            item.setToolTip(
                f"{_frame_and_time(frame, frame_time_ms).capitalize()}:\n"
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
