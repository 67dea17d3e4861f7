"""Plot dock: fluid area and needle depth against time over the loop, synced to the playhead."""

from __future__ import annotations

import bisect
import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QToolTip, QWidget

from usannotate.annotations import FrameSource

SOURCES = tuple(FrameSource)  # a sample's source, as the strings the model uses

# Layout, in device-independent pixels.
_MARGIN = 8
_INSET = 7  # the first and last frames and the end ticks sit this far inside the plot box
_PANEL_GAP = 10
_KEY_RADIUS = 4.2
_TRACK_HALF = 3.0
_HOVER_REACH = 14.0  # a tooltip names a sample at most this far from the mouse
_DASHES = [2.5, 2.0]  # interpolated stretches, in pen widths


@dataclass(frozen=True)
class CurveSample:
    """One value of a curve on one frame (0-based).

    ``source`` says where it comes from: "keyframe" (placed by the user), "interpolated"
    or "tracked".
    """

    frame: int
    value: float
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(
                f"CurveSample source must be one of {', '.join(SOURCES)}, not {self.source!r}"
            )


@dataclass(frozen=True)
class Curve:
    """One line of a panel. ``samples`` sorted by frame; a missing frame is a gap in the line."""

    name: str
    colour: str
    samples: Sequence[CurveSample]


@dataclass(frozen=True)
class CurvePanel:
    """One plot of the stack, sharing the time axis with the others.

    ``unit`` is shown as given ("mm", "mm²", "px²"; "mm2" / "px2" are shown as mm² / px²).
    ``invert_y`` makes values grow downward, like depth in the image.
    ``empty_text`` is shown in the panel while none of its curves has a sample.
    """

    title: str
    unit: str
    curves: Sequence[Curve]
    invert_y: bool = False
    empty_text: str = ""


def nice_step(span: float, max_ticks: int) -> float:
    """The smallest 1, 2 or 5 x 10^k step that divides ``span`` into at most ``max_ticks - 1``."""
    max_ticks = max(2, max_ticks)
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / (max_ticks - 1)
    exponent = math.floor(math.log10(raw))
    for k in (exponent, exponent + 1):
        for mantissa in (1.0, 2.0, 5.0):
            step = mantissa * 10.0**k
            if step >= raw * (1 - 1e-9):
                return step
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def nice_ticks(lo: float, hi: float, max_ticks: int = 6, *, loose: bool = True) -> list[float]:
    """Round tick values (1, 2 or 5 x 10^k apart) for the range ``lo`` .. ``hi``.

    Parameters
    ----------
    lo, hi
        The data range (any order).
    max_ticks
        At most this many ticks (at least 2; at least 3 when ``loose``, since a range
        across 0 needs a tick below, at and above it).
    loose
        True: the ticks enclose the range (the first <= lo, the last >= hi), so the axis can
        end on a tick; ``nice_ticks(0, 38.2)`` is ``[0, 10, 20, 30, 40]``.
        False: only the ticks inside the range (for an axis whose ends are fixed).

    Returns
    -------
    list[float]
        Ascending tick values; exactly representable decimals (``0.1 * 3`` is 0.3).
    """
    lo, hi = min(lo, hi), max(lo, hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi - lo <= 0:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    max_ticks = max(3 if loose else 2, max_ticks)
    step = nice_step(hi - lo, max_ticks)
    for _ in range(8):  # a step or two up is always enough; bounded all the same
        if loose:
            first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        else:
            first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 <= max_ticks:
            break
        step = nice_step(step * 1.5 * (max_ticks - 1), max_ticks)  # the next nice step up
    decimals = _decimals(step)
    return [round(i * step, decimals + 1) + 0.0 for i in range(first, last + 1)]


def _decimals(step: float) -> int:
    """Decimals that show every tick of ``step`` exactly (0.5 -> 1, 20 -> 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _pretty_unit(unit: str) -> str:
    return {"mm2": "mm²", "px2": "px²", "cm2": "cm²"}.get(unit, unit)


def _format_value(value: float) -> str:
    """About three significant digits: 0.84, 12.6, 215."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


@dataclass(frozen=True)
class _Ink:
    """The plot's colours, from the palette so light and dark themes both read well."""

    window: QColor
    base: QColor
    text: QColor
    muted: QColor
    grid: QColor
    frame: QColor
    highlight: QColor
    highlighted_text: QColor

    @classmethod
    def of(cls, palette: QPalette) -> _Ink:
        window = palette.color(QPalette.ColorRole.Window)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.WindowText)
        return cls(
            window=window,
            base=base,
            text=text,
            muted=_blend(text, window, 0.35),
            grid=_blend(text, base, 0.88),
            frame=_blend(text, base, 0.6),
            highlight=palette.color(QPalette.ColorRole.Highlight),
            highlighted_text=palette.color(QPalette.ColorRole.HighlightedText),
        )


@dataclass
class _Run:
    """Consecutive samples drawn with one pen: solid (measured) or dashed (interpolated)."""

    start: int  # index into the curve's samples
    stop: int  # exclusive
    dashed: bool


@dataclass
class _CurveData:
    """A curve prepared once per ``set_panels``: placeable samples, runs, frame lookup."""

    curve: Curve
    colour: QColor
    samples: list[CurveSample]
    frames: list[int]
    runs: list[_Run]
    by_frame: dict[int, CurveSample]


@dataclass
class _PanelGeometry:
    header: QRectF
    plot: QRectF
    y_lo: float  # the value at the axis' bottom end (top end if inverted)
    y_hi: float
    ticks: list[float]
    tick_decimals: int
    # Mapped to widget pixels once per layout: (polyline, dashed, colour) and marker boxes.
    lines: list[tuple[QPolygonF, bool, QColor]] = field(default_factory=list)
    keyframes: list[tuple[list[QRectF], QColor]] = field(default_factory=list)
    tracked: list[tuple[list[QRectF], QColor]] = field(default_factory=list)
    dots: list[tuple[list[QRectF], QColor]] = field(default_factory=list)  # lone interpolated

    def y_of(self, value: float, invert: bool) -> float:
        # The end ticks sit inside the box too: a value on them is not lost in the frame.
        span = self.y_hi - self.y_lo or 1.0
        t = (value - self.y_lo) / span
        height = self.plot.height() - 2 * _INSET
        if invert:
            return self.plot.top() + _INSET + t * height
        return self.plot.bottom() - _INSET - t * height


class CurvePlot(QWidget):
    """Measurements against time, one panel per quantity, stacked on a shared time axis.

    The plot shows what it is told (``set_frame_times``, ``set_panels``,
    ``set_current_frame``) and asks for a frame when the user clicks or drags in it.

    Signals
    -------
    frameRequested(int)
        A click or drag in the plots or on the time axis: the 0-based frame whose time is
        nearest to the mouse. While dragging, emitted each time that frame changes.
    """

    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the main window
        self.setMouseTracking(True)  # the cross cursor over the plots
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Click or drag to go to a frame; hover over a curve for its value")
        self._times: list[float] = []
        self._panels: list[CurvePanel] = []
        self._data: list[list[_CurveData]] = []
        self._frame_count = 0
        self._current = -1
        self._dragging = False
        self._last_requested = -1
        self._geometry: list[_PanelGeometry] | None = None
        self._static: QPixmap | None = None
        self._geometry_size = QSize()
        self._x_left = 0.0  # pixel x of the first frame's time
        self._x_right = 1.0  # pixel x of the last frame's time
        self._axis_rect = QRectF()  # the tick labels under the last panel
        self._legend_y = 0.0
        self._time_tick_values: list[float] = []
        self._title_font, self._small_font = self._fonts()

    # ----------------------------------------------------------------- what it is told
    def set_frame_times(self, times_s: Sequence[float]) -> None:
        """Time (s) of each frame from the loop start, ascending (may be uneven): the x axis."""
        self._times = [float(t) for t in times_s]
        self._prepare()

    def set_panels(self, panels: Sequence[CurvePanel]) -> None:
        """Replace the panels, drawn top to bottom, sharing the time axis."""
        self._panels = list(panels)
        self._prepare()

    def set_current_frame(self, frame: int) -> None:
        """Move the playhead to ``frame`` (0-based); the panel headers read out its values."""
        if frame != self._current:
            self._current = frame
            self.update()

    def current_frame(self) -> int:
        """The frame the playhead is on (-1 before the first ``set_current_frame``)."""
        return self._current

    # ----------------------------------------------------------------- coordinates
    def frame_at(self, x: float) -> int:
        """The frame whose time is nearest to widget x ``x`` (clamped); -1 without frames."""
        n = self._n_frames()
        if n == 0:
            return -1
        self._ensure_geometry()
        t0, t1 = self._time_of(0), self._time_of(n - 1)
        width = self._x_right - self._x_left
        if width <= 0 or t1 <= t0:
            return 0
        t = t0 + (x - self._x_left) / width * (t1 - t0)
        times = self._times if self._times else None
        if times is None:
            return min(n - 1, max(0, round(t)))
        i = bisect.bisect_left(times, t)
        if i <= 0:
            return 0
        if i >= n:
            return n - 1
        return i if times[i] - t < t - times[i - 1] else i - 1

    def x_of_frame(self, frame: int) -> float:
        """Widget x of ``frame``'s time (the frame is clamped into the loop)."""
        n = self._n_frames()
        self._ensure_geometry()
        if n == 0:
            return self._x_left
        frame = min(n - 1, max(0, frame))
        return self._x_of_time(self._time_of(frame))

    def panel_rect(self, index: int) -> QRectF:
        """The plot box of panel ``index`` in widget coordinates (empty if there is none)."""
        geometry = self._ensure_geometry()
        return QRectF(geometry[index].plot) if 0 <= index < len(geometry) else QRectF()

    # ----------------------------------------------------------------- export
    def export_csv(self) -> str:
        """The plotted samples as CSV: time_s, frame (0-based), panel, curve, value, unit, source.

        ``time_s`` is empty for a frame beyond the known frame times.
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("time_s", "frame", "panel", "curve", "value", "unit", "source"))
        for panel in self._panels:
            for curve in panel.curves:
                for sample in curve.samples:
                    known = 0 <= sample.frame < len(self._times)
                    time = f"{self._times[sample.frame]:.6f}" if known else ""
                    value = f"{round(sample.value, 6):.10g}"
                    row = (time, sample.frame, panel.title, curve.name, value, panel.unit)
                    writer.writerow((*row, sample.source))
        return out.getvalue()

    # ----------------------------------------------------------------- Qt
    def sizeHint(self) -> QSize:
        return QSize(420, 320)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 120)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange):
            self._geometry = None
            self.update()
        super().changeEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            text = self._hover_text(QPointF(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            elif self._in_seek_area(QPointF(event.pos())):
                QToolTip.showText(event.globalPos(), self.toolTip(), self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if event.button() == Qt.MouseButton.LeftButton and self._in_seek_area(pos):
            self._dragging = True
            self._request(self.frame_at(pos.x()), force=True)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._dragging and event.buttons() & Qt.MouseButton.LeftButton:
            self._request(self.frame_at(pos.x()))
            event.accept()
            return
        cross = self._in_seek_area(pos)
        self.setCursor(Qt.CursorShape.CrossCursor if cross else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._dragging:
            self._dragging = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _request(self, frame: int, force: bool = False) -> None:
        if frame >= 0 and (force or frame != self._last_requested):
            self._last_requested = frame
            self.frameRequested.emit(frame)

    # ----------------------------------------------------------------- preparation
    def _n_frames(self) -> int:
        return self._frame_count

    def _count_frames(self) -> int:
        if self._times:
            return len(self._times)
        # No timing yet: place samples by frame index (the axis then reads "Frame").
        last = [s.frame for p in self._panels for c in p.curves for s in c.samples]
        return max(last) + 1 if last else 0

    def _time_of(self, frame: int) -> float:
        return self._times[frame] if self._times else float(frame)

    def _prepare(self) -> None:
        """Sort out runs, gaps and lookups once, so painting only maps and draws."""
        self._frame_count = n = self._count_frames()
        self._data = []
        for panel in self._panels:
            prepared = []
            for curve in panel.curves:
                samples = sorted(
                    (s for s in curve.samples if 0 <= s.frame < n and math.isfinite(s.value)),
                    key=lambda s: s.frame,
                )
                prepared.append(
                    _CurveData(
                        curve=curve,
                        colour=QColor(curve.colour),
                        samples=samples,
                        frames=[s.frame for s in samples],
                        runs=_runs(samples),
                        by_frame={s.frame: s for s in samples},
                    )
                )
            self._data.append(prepared)
        self._geometry = None
        self.update()

    def _fonts(self) -> tuple[QFont, QFont]:
        """The panel titles' font (bold) and the tick labels' (a little smaller)."""
        title = QFont(self.font())
        title.setBold(True)
        small = QFont(self.font())
        size = small.pointSizeF()
        if size > 0:
            small.setPointSizeF(max(7.0, size * 0.9))
        return title, small

    def _ensure_geometry(self) -> list[_PanelGeometry]:
        # Mapped once per data, size or font change, so a repaint only draws.
        if self._geometry is None or self._geometry_size != self.size():
            self._geometry_size = self.size()
            self._geometry = self._layout()
            self._static = None  # the drawing of the plots themselves is out of date
        return self._geometry

    def _layout(self) -> list[_PanelGeometry]:
        """Place headers, plot boxes and axes for the current size, and map every curve."""
        self._title_font, self._small_font = title_font, small_font = self._fonts()
        fm = QFontMetrics(self.font())
        small = QFontMetrics(small_font)
        w, h = float(self.width()), float(self.height())
        header_h = float(QFontMetrics(title_font).height() + 8)
        axis_h = float(small.height() + 6)
        legend_h = float(fm.height() + 2)
        n_panels = len(self._panels)
        top = float(_MARGIN)
        bottom = h - _MARGIN - legend_h - axis_h
        available = bottom - top - n_panels * header_h - max(0, n_panels - 1) * _PANEL_GAP
        plot_h = max(12.0, available / n_panels) if n_panels else 0.0
        max_ticks = max(3, min(7, int((plot_h - 2 * _INSET) // (small.height() + 12)) + 1))

        ranges = [self._value_range(i, max_ticks) for i in range(n_panels)]
        label_w = 0
        for ticks, decimals, empty in ranges:
            if not empty:
                for tick in ticks:
                    label_w = max(label_w, small.horizontalAdvance(f"{tick:.{decimals}f}"))
        # Room for half the last time label to overhang the plot's right edge.
        right_pad = small.horizontalAdvance("00.00") / 2
        left = _MARGIN + label_w + (6 if label_w else 0)
        right = w - _MARGIN - right_pad
        self._x_left, self._x_right = left + _INSET, right - _INSET

        geometry: list[_PanelGeometry] = []
        y = top
        for i, (ticks, decimals, empty) in enumerate(ranges):
            header = QRectF(_MARGIN, y, w - 2 * _MARGIN, header_h)
            plot = QRectF(left, y + header_h, max(1.0, right - left), plot_h)
            lo, hi = (ticks[0], ticks[-1]) if ticks else (0.0, 1.0)
            panel = _PanelGeometry(header, plot, lo, hi, [] if empty else ticks, decimals)
            self._map_curves(i, panel)
            geometry.append(panel)
            y = plot.bottom() + _PANEL_GAP
        last_bottom = geometry[-1].plot.bottom() if geometry else bottom
        self._axis_rect = QRectF(left, last_bottom, max(1.0, right - left), axis_h)
        self._legend_y = last_bottom + axis_h
        self._time_tick_values = self._time_ticks(small)
        return geometry

    def _value_range(self, index: int, max_ticks: int) -> tuple[list[float], int, bool]:
        """Ticks (whose ends are the axis ends), their decimals, and whether the panel is empty."""
        values = [s.value for c in self._data[index] for s in c.samples]
        if not values:
            return [0.0, 1.0], 0, True
        lo, hi = min(values), max(values)
        unit = self._panels[index].unit
        is_area = "²" in unit or unit.endswith("2")
        # Areas and depths are sizes: start at 0 unless the data sit far above it.
        if lo >= 0 and (is_area or lo <= 0.5 * hi):
            lo = 0.0
        if hi - lo < 1e-12:
            pad = abs(hi) * 0.1 or 1.0
            lo, hi = (0.0, hi + pad) if lo == 0 else (lo - pad, hi + pad)
        ticks = nice_ticks(lo, hi, max_ticks)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        return ticks, _decimals(step), False

    def _x_of_time(self, t: float) -> float:
        n = self._n_frames()
        t0, t1 = (self._time_of(0), self._time_of(n - 1)) if n else (0.0, 1.0)
        if t1 <= t0:
            return (self._x_left + self._x_right) / 2
        return self._x_left + (t - t0) / (t1 - t0) * (self._x_right - self._x_left)

    def _map_curves(self, index: int, panel: _PanelGeometry) -> None:
        invert = self._panels[index].invert_y
        frame_dx = (self._x_right - self._x_left) / max(1, self._n_frames() - 1)
        # Tracked samples come every frame: thin their markers so they never overlap.
        track_every = max(1, math.ceil((2 * _TRACK_HALF + 3) / max(frame_dx, 1e-6)))
        for data in self._data[index]:
            points = [
                QPointF(self._x_of_time(self._time_of(s.frame)), panel.y_of(s.value, invert))
                for s in data.samples
            ]
            colour = data.colour
            for run in data.runs:
                if run.stop - run.start >= 2:
                    line = QPolygonF(_thinned(points[run.start : run.stop]))
                    panel.lines.append((line, run.dashed, colour))
            keys, tracked, dots = [], [], []
            for k, (sample, point) in enumerate(zip(data.samples, points, strict=True)):
                if sample.source == "keyframe":
                    r = _KEY_RADIUS
                    keys.append(QRectF(point.x() - r, point.y() - r, 2 * r, 2 * r))
                elif sample.source == "tracked":
                    if sample.frame % track_every == 0 or _lone(data.frames, k):
                        r = _TRACK_HALF
                        tracked.append(QRectF(point.x() - r, point.y() - r, 2 * r, 2 * r))
                elif _lone(data.frames, k):
                    dots.append(QRectF(point.x() - 1.5, point.y() - 1.5, 3, 3))
            panel.keyframes.append((keys, colour))
            panel.tracked.append((tracked, colour))
            panel.dots.append((dots, colour))

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        geometry = self._ensure_geometry()
        ink = _Ink.of(self.palette())
        painter = QPainter(self)
        # An exception with the painter still active would take Qt down with it.
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            if not self._panels:
                painter.fillRect(self.rect(), ink.window)
                painter.setPen(ink.muted)
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Nothing to plot")
                return
            # Playback moves only the playhead: the plots are drawn once into a pixmap.
            ratio = self.devicePixelRatioF()
            if self._static is None or self._static.devicePixelRatioF() != ratio:
                self._static = self._paint_static(geometry, ink, ratio)
            painter.drawPixmap(0, 0, self._static)
            self._paint_time_axis(painter, ink, labels=True)
            self._paint_playhead(painter, geometry, ink)
            for index, panel in enumerate(geometry):
                self._paint_header(painter, index, panel, ink)
            self._paint_legend(painter, ink)
        finally:
            painter.end()

    def _paint_static(self, geometry: list[_PanelGeometry], ink: _Ink, ratio: float) -> QPixmap:
        """Panels, curves and the time axis: everything but the playhead and readouts."""
        pixmap = QPixmap(self.size() * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(ink.window)
        painter = QPainter(pixmap)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            painter.setFont(self.font())
            for index, panel in enumerate(geometry):
                self._paint_panel(painter, index, panel, ink)
            self._paint_time_axis(painter, ink, labels=False)
        finally:
            painter.end()
        return pixmap

    def _paint_panel(self, painter: QPainter, index: int, panel: _PanelGeometry, ink: _Ink) -> None:
        plot = panel.plot
        invert = self._panels[index].invert_y
        painter.fillRect(plot, ink.base)
        # Grid: horizontal lines at the value ticks, vertical ones at the time ticks.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(QPen(ink.grid, 1))
        for tick in panel.ticks:
            y = round(panel.y_of(tick, invert))
            painter.drawLine(round(plot.left()), y, round(plot.right()), y)
        for tick in self._time_tick_values:
            x = round(self._x_of_time(tick))
            painter.drawLine(x, round(plot.top()), x, round(plot.bottom()))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        # Value labels, right-aligned against the box.
        painter.setFont(self._small_font)
        fm = painter.fontMetrics()
        painter.setPen(ink.muted)
        for tick in panel.ticks:
            y = panel.y_of(tick, invert)
            box = QRectF(0, y - fm.height() / 2, plot.left() - 5, fm.height())
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(box, align, f"{tick:.{panel.tick_decimals}f}")

        if any(d.samples for d in self._data[index]):
            painter.save()
            reach = _KEY_RADIUS + 1.5  # a marker on the box edge is drawn whole
            painter.setClipRect(plot.adjusted(-reach, -reach, reach, reach))
            self._paint_curves(painter, panel, ink)
            painter.restore()
        elif self._panels[index].empty_text:
            painter.setFont(self.font())
            flags = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
            area = plot.adjusted(8, 4, -8, -4)
            text = self._panels[index].empty_text
            bounds = painter.boundingRect(area, flags, text).adjusted(-6, -2, 6, 2)
            painter.fillRect(bounds.intersected(plot.adjusted(1, 1, -1, -1)), ink.base)
            painter.setPen(ink.muted)
            painter.drawText(area, flags, text)

        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(ink.frame, 1))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.drawRect(plot.adjusted(0, 0, -1, -1).toRect())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def _paint_curves(self, painter: QPainter, panel: _PanelGeometry, ink: _Ink) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for line, dashed, colour in panel.lines:
            pen = QPen(colour, 1.6 if dashed else 2.0)
            pen.setCapStyle(Qt.PenCapStyle.FlatCap if dashed else Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.BevelJoin)  # looks round at 2 px, strokes faster
            if dashed:
                pen.setDashPattern(_DASHES)
            painter.setPen(pen)
            painter.drawPolyline(line)
        painter.setPen(Qt.PenStyle.NoPen)
        for dots, colour in panel.dots:
            painter.setBrush(colour)
            for dot in dots:
                painter.drawEllipse(dot)
        painter.setBrush(ink.base)  # hollow: the line does not show through
        for rects, colour in panel.tracked:
            painter.setPen(QPen(colour, 1.4))
            painter.drawRects(rects)
        painter.setPen(QPen(ink.base, 1.2))  # a thin halo sets the disc off the line
        for rects, colour in panel.keyframes:
            painter.setBrush(colour)
            for rect in rects:
                painter.drawEllipse(rect)

    def _time_ticks(self, small: QFontMetrics) -> list[float]:
        n = self._n_frames()
        if n == 0:
            return []
        t0, t1 = self._time_of(0), self._time_of(n - 1)
        label_w = small.horizontalAdvance("00.00") + 18
        max_ticks = max(2, int((self._x_right - self._x_left) // label_w) + 1)
        if t1 <= t0:
            return [t0]
        if not self._times:  # frame numbers, 1-based on screen like the rest of the window
            return [t - 1 for t in nice_ticks(1, n, max_ticks, loose=False) if t == int(t)]
        return nice_ticks(t0, t1, max_ticks, loose=False)

    def _paint_time_axis(self, painter: QPainter, ink: _Ink, *, labels: bool) -> None:
        """The time axis' tick marks (``labels`` False: static, drawn once) or its tick
        labels (True: drawn with the playhead, whose time tab may hide one)."""
        ticks = self._time_tick_values
        if not ticks:
            return
        decimals = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 2
        axis = self._axis_rect
        painter.setFont(self._small_font)
        fm = painter.fontMetrics()
        tab, _ = self._playhead_tab(fm)
        tab = tab.adjusted(-3, 0, 3, 0)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for tick in ticks:
            x = self._x_of_time(tick)
            if not labels:
                painter.setPen(QPen(ink.frame, 1))
                painter.drawLine(round(x), round(axis.top()), round(x), round(axis.top()) + 3)
                continue
            label = f"{tick:.{decimals}f}" if self._times else f"{tick + 1:.0f}"
            width = fm.horizontalAdvance(label)
            box = QRectF(x - width / 2 - 2, axis.top() + 4, width + 4, fm.height())
            if not tab.isNull() and box.intersects(tab):
                continue  # the playhead's own time label reads better than half a tick label
            painter.setPen(ink.muted)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def _paint_playhead(self, painter: QPainter, geometry: list[_PanelGeometry], ink: _Ink) -> None:
        if not geometry or not 0 <= self._current < self._n_frames():
            return
        x = self.x_of_frame(self._current)
        top, bottom = geometry[0].plot.top(), geometry[-1].plot.bottom()
        painter.setPen(QPen(ink.highlight, 1.5))
        painter.drawLine(QPointF(x, top), QPointF(x, bottom))
        # A ring where each curve crosses the playhead.
        painter.setBrush(ink.base)
        for index, panel in enumerate(geometry):
            invert = self._panels[index].invert_y
            for data in self._data[index]:
                sample = data.by_frame.get(self._current)
                if sample is not None:
                    painter.setPen(QPen(data.colour, 1.6))
                    painter.drawEllipse(QPointF(x, panel.y_of(sample.value, invert)), 4.2, 4.2)
        # The time, in a tab on the time axis.
        painter.setFont(self._small_font)
        tab, label = self._playhead_tab(painter.fontMetrics())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(ink.highlight)
        painter.drawRoundedRect(tab, 3, 3)
        painter.setPen(ink.highlighted_text)
        painter.drawText(tab, Qt.AlignmentFlag.AlignCenter, label)

    def _playhead_tab(self, fm: QFontMetrics) -> tuple[QRectF, str]:
        """Where the playhead's time label goes on the time axis, and its text."""
        if not 0 <= self._current < self._n_frames():
            return QRectF(), ""
        if self._times:
            label = f"{self._time_of(self._current):.2f} s"
        else:
            label = f"frame {self._current + 1}"
        width = fm.horizontalAdvance(label) + 8
        x = self.x_of_frame(self._current)
        tab = QRectF(x - width / 2, self._axis_rect.top() + 2, width, fm.height() + 2)
        left_limit = self._axis_rect.left() - 4
        right_limit = self.width() - 2.0
        tab.moveLeft(min(max(tab.left(), left_limit), right_limit - tab.width()))
        return tab, label

    def _paint_header(
        self, painter: QPainter, index: int, panel: _PanelGeometry, ink: _Ink
    ) -> None:
        """The title on the left; on the right each curve's value at the current frame."""
        spec = self._panels[index]
        unit = _pretty_unit(spec.unit)
        title = f"{spec.title} ({unit})" if unit else spec.title
        header = panel.header
        painter.setFont(self._title_font)
        title_fm = painter.fontMetrics()
        painter.setPen(ink.text)
        title_w = title_fm.horizontalAdvance(title)
        baseline = header.bottom() - 8 - title_fm.descent()  # clear of the top value label
        painter.drawText(QPointF(header.left(), baseline), title)

        # "— Injected fluid 12.6 mm²" per curve; names dropped first when room runs out.
        painter.setFont(self.font())
        fm = painter.fontMetrics()
        entries = []
        for data in self._data[index]:
            sample = data.by_frame.get(self._current)
            value = f"{_format_value(sample.value)} {unit}".strip() if sample else "–"
            entries.append((data.colour, data.curve.name, value))
        if not any(d.samples for d in self._data[index]):
            return  # the empty text says it all
        room = header.right() - (header.left() + title_w + 12)
        swatch, gap = 14.0, 10.0

        def width_of(with_names: bool) -> float:
            total = 0.0
            for _, name, value in entries:
                shown = f"{name} {value}" if with_names else value
                total += swatch + 4 + fm.horizontalAdvance(shown) + gap
            return total - gap

        with_names = width_of(True) <= room
        if not with_names and width_of(False) > room:
            return  # too narrow: the playhead rings still show where the values are
        x = header.right() - width_of(with_names)
        mid = baseline - fm.ascent() / 2 + fm.descent() / 2
        for colour, name, value in entries:
            pen = QPen(colour, 2.4)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawLine(QPointF(x + 1, mid), QPointF(x + swatch - 1, mid))
            x += swatch + 4
            if with_names:
                painter.setPen(ink.muted)
                painter.drawText(QPointF(x, baseline), name + " ")
                x += fm.horizontalAdvance(name + " ")
            painter.setPen(ink.text)
            painter.drawText(QPointF(x, baseline), value)
            x += fm.horizontalAdvance(value) + gap

    def _paint_legend(self, painter: QPainter, ink: _Ink) -> None:
        """The marker key on the left of the bottom line, the axis title on its right."""
        painter.setFont(self.font())
        fm = painter.fontMetrics()
        baseline = self._legend_y + fm.ascent() + 1
        mid = baseline - fm.ascent() / 2 + fm.descent() / 2
        axis_title = "Time (s)" if self._times else "Frame"
        title_x = self._axis_rect.right() - fm.horizontalAdvance(axis_title)
        painter.setPen(ink.text)
        painter.drawText(QPointF(title_x, baseline), axis_title)

        labels = ("keyframe", "tracked", "interpolated")
        key_w = 16.0
        total = sum(key_w + 4 + fm.horizontalAdvance(label) + 12 for label in labels) - 12
        x = float(_MARGIN)
        if x + total > title_x - 12:
            return  # no room for the key: the tooltips still say where each value comes from
        for label in labels:
            centre = QPointF(x + key_w / 2, mid)
            if label == "keyframe":
                painter.setPen(QPen(ink.window, 1.2))
                painter.setBrush(ink.muted)
                painter.drawEllipse(centre, _KEY_RADIUS, _KEY_RADIUS)
            elif label == "tracked":
                painter.setPen(QPen(ink.muted, 1.4))
                painter.setBrush(ink.window)
                r = _TRACK_HALF
                painter.drawRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
            else:
                pen = QPen(ink.muted, 1.6)
                pen.setDashPattern(_DASHES)
                pen.setCapStyle(Qt.PenCapStyle.FlatCap)
                painter.setPen(pen)
                painter.drawLine(QPointF(x, mid), QPointF(x + key_w, mid))
            painter.setBrush(QBrush())
            painter.setPen(ink.muted)
            painter.drawText(QPointF(x + key_w + 4, baseline), label)
            x += key_w + 4 + fm.horizontalAdvance(label) + 12

    # ----------------------------------------------------------------- hover
    def _in_seek_area(self, pos: QPointF) -> bool:
        geometry = self._ensure_geometry()
        if not geometry or self._n_frames() == 0:
            return False
        area = QRectF(geometry[0].plot.topLeft(), self._axis_rect.bottomRight())
        return area.adjusted(-2, 0, 2, 0).contains(pos)

    def _hover_text(self, pos: QPointF) -> str:
        """The sample nearest the mouse, e.g. "Needle · frame 41 · 1.33 s · 12.56 mm (tracked)"."""
        geometry = self._ensure_geometry()
        for index, panel in enumerate(geometry):
            if not panel.plot.adjusted(-4, -4, 4, 4).contains(pos):
                continue
            invert = self._panels[index].invert_y
            frame = self.frame_at(pos.x())
            best: tuple[float, _CurveData, CurveSample] | None = None
            for data in self._data[index]:
                i = bisect.bisect_left(data.frames, frame)
                for k in (i - 1, i, i + 1):
                    if 0 <= k < len(data.samples):
                        sample = data.samples[k]
                        dx = self.x_of_frame(sample.frame) - pos.x()
                        dy = panel.y_of(sample.value, invert) - pos.y()
                        distance = math.hypot(dx, dy * 0.5)  # vertical misses matter less
                        if abs(dx) <= _HOVER_REACH and (best is None or distance < best[0]):
                            best = (distance, data, sample)
            if best is None:
                return ""
            _, data, sample = best
            unit = _pretty_unit(self._panels[index].unit)
            parts = [data.curve.name, f"frame {sample.frame + 1}"]
            if self._times:
                parts.append(f"{self._time_of(sample.frame):.2f} s")
            parts.append(f"{sample.value:.2f} {unit}".strip() + f" ({sample.source})")
            return " · ".join(parts)
        return ""


def _runs(samples: list[CurveSample]) -> list[_Run]:
    """Split a curve where frames are missing and where its line changes style.

    A segment is dashed when either end is interpolated: it is an estimate, not a
    measurement. Segments of one style share a run so a dash pattern flows across frames.
    """
    runs: list[_Run] = []
    start = 0
    dashed: bool | None = None
    for k in range(1, len(samples) + 1):
        joined = k < len(samples) and samples[k].frame == samples[k - 1].frame + 1
        if joined:
            seg_dashed = "interpolated" in (samples[k].source, samples[k - 1].source)
            if dashed is None:
                dashed = seg_dashed
            elif seg_dashed != dashed:
                runs.append(_Run(start, k, dashed))
                start, dashed = k - 1, seg_dashed
            continue
        runs.append(_Run(start, k, bool(dashed)))
        start, dashed = k, None
    return runs


def _lone(frames: list[int], k: int) -> bool:
    """Whether sample ``k`` has no neighbour on either side (a line would not show it)."""
    before = k > 0 and frames[k - 1] == frames[k] - 1
    after = k + 1 < len(frames) and frames[k + 1] == frames[k] + 1
    return not (before or after)


def _thinned(points: list[QPointF], tolerance: float = 0.6) -> list[QPointF]:
    """Drop points closer than ``tolerance`` px to the last kept one (invisible, slow to stroke).

    A long loop has more frames than the plot has pixel columns.
    """
    if len(points) <= 2:
        return points
    kept = [points[0]]
    last = points[0]
    for point in points[1:-1]:
        if abs(point.x() - last.x()) + abs(point.y() - last.y()) >= tolerance:
            kept.append(point)
            last = point
    kept.append(points[-1])
    return kept
