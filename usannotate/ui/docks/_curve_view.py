"""The Curves plot drawn by pyqtgraph: stacked panels on one linked time axis, markers by
source, gaps, a playhead line with its time tab, legends that read out the current values,
hover and seeking.

pyqtgraph draws and lays out (axes, ticks, grid, legends, lines, markers); what is ours is
what the plot means: the style of a stretch by where its values come from, the y range of
sizes starting at 0, seeking by frame, and the tooltip naming a sample.
"""

from __future__ import annotations

import bisect
import html
import math
import os
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QMouseEvent, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QSizePolicy,
    QToolTip,
    QWidget,
)

from usannotate.ui.docks.curves import CurvePanel, CurveSample, pretty_unit
from usannotate.ui.docks.palette import ChartInk

# pyqtgraph picks the first Qt binding it finds imported; ours is PySide6, whatever else
# is installed or named in the environment.
os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"
import pyqtgraph as pg

if pg.Qt.QT_LIB != "PySide6":  # pragma: no cover - another binding imported first
    raise ImportError(f"pyqtgraph uses {pg.Qt.QT_LIB}; the Curves dock needs PySide6")

_KEY_SIZE = 8.4  # keyframe disc diameter, px
_TRACK_SIZE = 6.0  # tracked square side, px
_HOVER_REACH = 14.0  # a tooltip names a sample at most this far from the mouse, px
_DASHES = [2.5, 2.0]  # interpolated stretches, in pen widths


def _format_value(value: float) -> str:
    """About three significant digits: 0.84, 12.6, 215."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _inset(lo: float, hi: float, size_px: float, inset_px: float) -> tuple[float, float]:
    """``lo`` .. ``hi`` widened so that they sit ``inset_px`` inside an axis ``size_px`` long."""
    inner = max(size_px - 2 * inset_px, 1.0)
    pad = (hi - lo) * inset_px / inner
    return lo - pad, hi + pad


def _scatter(**options) -> pg.ScatterPlotItem:
    return pg.ScatterPlotItem(antialias=True, **options)


def _pen(colour: QColor, width: float, dashed: bool = False) -> QPen:
    pen = pg.mkPen(colour, width=width)
    if dashed:
        pen.setDashPattern(_DASHES)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    return pen


@dataclass
class _Series:
    """One curve ready to draw: its samples inside the loop, as arrays by frame."""

    name: str
    colour: QColor
    samples: list[CurveSample]
    frames: np.ndarray  # int, ascending
    values: np.ndarray
    by_frame: dict[int, CurveSample]


class _Panel:
    """The items of one panel: its header (title, legend with values) and its plot."""

    def __init__(self, view: CurveView, spec: CurvePanel, series: list[_Series], last: bool):
        ink, fonts = view.ink, view.fonts
        self.spec, self.series, self.unit = spec, series, pretty_unit(spec.unit)
        self.header = pg.GraphicsLayout()
        self.header.setContentsMargins(0, 6, 0, 0)
        self.header.layout.setContentsMargins(0, 0, 0, 0)
        self.header.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        title = f"{spec.title} ({self.unit})" if self.unit else spec.title
        self.title = pg.LabelItem(title, justify="left", color=ink.text, size=fonts.pt, bold=True)
        self.header.addItem(self.title, 0, 0)
        # The legend: each curve's colour, name and value at the playhead.
        self.legend = pg.LabelItem("", justify="right", color=ink.text, size=fonts.pt)
        self.header.addItem(self.legend, 0, 1)
        self.has_values = any(len(s.samples) for s in series)
        self.with_names = True
        self.readout: str | None = ""
        self.header.layout.setColumnStretchFactor(0, 1)

        self.plot = pg.PlotItem()
        plot = self.plot
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        for side in ("top", "right"):
            plot.hideAxis(side)
        plot.showGrid(x=True, y=True, alpha=0.35)
        self.vb = plot.getViewBox()
        self.vb.setBorder(pg.mkPen(ink.frame, width=1))
        self.vb.invertY(spec.invert_y)
        # The grid under the curves: the axes (which draw it) go below the view box, whose
        # own background would then hide it, so the box is filled from behind the axes.
        self.fill = QGraphicsRectItem()
        self.fill.setParentItem(plot)
        self.fill.setZValue(-1000)
        self.fill.setFlag(QGraphicsItem.GraphicsItemFlag.ItemNegativeZStacksBehindParent)
        self.fill.setPen(pg.mkPen(None))
        self.fill.setBrush(ink.base)
        self.vb.sigResized.connect(lambda: self.fill.setRect(self.vb.geometry()))
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setZValue(-500)
            axis.setPen(pg.mkPen(ink.frame))
            axis.setTextPen(pg.mkPen(ink.muted))
            axis.setTickFont(fonts.small)
            axis.setStyle(tickLength=-4, maxTickLevel=0)  # grid lines at the labelled ticks
        # A label every ~40 px, as many as the hand-drawn axes had.
        plot.getAxis("left").setTickDensity(1.6)
        bottom = plot.getAxis("bottom")
        if last:
            bottom.setStyle(tickTextOffset=3)
        else:
            bottom.setStyle(showValues=False, tickLength=0)
            bottom.setHeight(0)

        self.lines: list[pg.PlotCurveItem] = []
        self.markers: list[pg.ScatterPlotItem] = []
        self.tracked: list[tuple[pg.ScatterPlotItem, _Series]] = []
        for s in series:
            self._add_series(view, s, ink)
        self.empty = None
        if not any(len(s.samples) for s in series) and spec.empty_text:
            self.empty = pg.TextItem(spec.empty_text, color=ink.muted, anchor=(0.5, 0.5))
            self.empty.setFont(QFont(view.font()))
            plot.addItem(self.empty, ignoreBounds=True)

        self.playhead = pg.InfiniteLine(angle=90, movable=False, pen=_pen(ink.highlight, 2.0))
        self.playhead.setZValue(20)
        self.playhead.hide()
        plot.addItem(self.playhead, ignoreBounds=True)
        # A ring where each curve crosses the playhead.
        self.rings = _scatter(symbol="o", size=_KEY_SIZE + 0.4, brush=ink.base)
        self.rings.setZValue(21)
        plot.addItem(self.rings, ignoreBounds=True)

    def _add_series(self, view: CurveView, s: _Series, ink: ChartInk) -> None:
        if not len(s.frames):
            return
        first, last = int(s.frames[0]), int(s.frames[-1])
        grid = np.arange(first, last + 1)
        x = view.x_of_frames(grid)
        y = np.full(len(grid), np.nan)
        y[s.frames - first] = s.values
        interpolated = np.zeros(len(grid), dtype=bool)
        for sample in s.samples:
            interpolated[sample.frame - first] = sample.source == "interpolated"
        present = np.isfinite(y)
        joined = present[:-1] & present[1:]
        dashed_step = joined & (interpolated[:-1] | interpolated[1:])
        solid_step = joined & ~dashed_step
        # Measured stretches: only the points of a solid step, NaN elsewhere, so
        # connect="finite" leaves every gap and every estimated stretch undrawn.
        solid_y = np.full(len(grid), np.nan)
        ends = np.zeros(len(grid), dtype=bool)
        ends[:-1] |= solid_step
        ends[1:] |= solid_step
        solid_y[ends] = y[ends]
        solid = pg.PlotCurveItem(
            x, solid_y, pen=_pen(s.colour, 2.0), connect="finite", antialias=True
        )
        # Interpolated stretches, dashed: an estimate, not a measurement. One path, so the
        # dash pattern flows across frames.
        connect = np.append(dashed_step, False)
        dashed = pg.PlotCurveItem(
            x, y, pen=_pen(s.colour, 2.0, dashed=True), connect=connect, antialias=True
        )
        for item in (dashed, solid):
            item.setZValue(5)
            self.plot.addItem(item)
            self.lines.append(item)
        lone = ~np.append(False, joined) & ~np.append(joined, False)
        keys = [k for k in s.samples if k.source == "keyframe"]
        dots = [k for k in s.samples if k.source == "interpolated" and lone[k.frame - first]]
        key_items = _scatter(
            x=view.x_of_frames([k.frame for k in keys]),
            y=[k.value for k in keys],
            symbol="o",
            size=_KEY_SIZE,
            brush=s.colour,
            pen=pg.mkPen(ink.base, width=1.2),  # a thin halo sets the disc off the line
        )
        dot_items = _scatter(
            x=view.x_of_frames([k.frame for k in dots]),
            y=[k.value for k in dots],
            symbol="o",
            size=3,
            brush=s.colour,
            pen=None,
        )
        # Hollow squares, crisp (not antialiased): an outline on whole pixels reads better.
        tracked = pg.ScatterPlotItem(
            symbol="s",
            size=_TRACK_SIZE,
            brush=ink.base,
            pen=pg.mkPen(s.colour, width=1.4),
            antialias=False,
            useCache=False,  # the symbol cache draws antialiased whatever the option says
        )
        for item in (dot_items, tracked, key_items):
            item.setZValue(10)
            self.plot.addItem(item)
            self.markers.append(item)
        self.tracked.append((tracked, s))

    def thin_tracked(self, view: CurveView) -> None:
        """Tracked samples come every frame: their squares are thinned so they never
        overlap (a lone one is always shown, a line would not show it)."""
        x_range = self.vb.viewRange()[0]
        px_per_s = self.vb.width() / max(x_range[1] - x_range[0], 1e-12)
        for item, s in self.tracked:
            shown, last_x = [], -math.inf
            for k in s.samples:
                if k.source != "tracked":
                    continue
                x = view.x_of_frames([k.frame])[0] * px_per_s
                lone = k.frame - 1 not in s.by_frame and k.frame + 1 not in s.by_frame
                if lone or x - last_x >= _TRACK_SIZE + 3:
                    shown.append(k)
                    last_x = x
            item.setData(x=view.x_of_frames([k.frame for k in shown]), y=[k.value for k in shown])

    def _readout(self, frame: int, ink: ChartInk) -> str:
        """The legend's text: "━ Injected fluid 12.6 mm²" per curve (HTML)."""
        if not self.has_values:
            return ""  # the empty text says it all
        entries = []
        for s in self.series:
            sample = s.by_frame.get(frame)
            value = f"{_format_value(sample.value)} {self.unit}".strip() if sample else "–"
            name = (
                f"<span style='color:{ink.muted.name()}'>{html.escape(s.name)}</span>&nbsp;"
                if self.with_names
                else ""
            )
            entries.append(f"<span style='color:{s.colour.name()}'>━━</span>&nbsp;{name}{value}")
        return "&nbsp;&nbsp;&nbsp;".join(entries)

    def fit_legend(self, fm: QFontMetrics, width: float) -> None:
        """Names in the legend only while they fit beside the title in a header ``width``
        px wide (the values always show; a tooltip names the curves)."""
        room = width - self.title.minimumWidth() - 12
        widest = [f"━━ {s.name} 888.8 {self.unit}" for s in self.series]
        needed = sum(fm.horizontalAdvance(text) for text in widest) + 18 * len(widest)
        with_names = needed <= room
        if with_names != self.with_names:
            self.with_names = with_names
            self.readout = None  # written again at the next playhead move

    def set_current(self, view: CurveView, frame: int) -> bool:
        """Move the playhead and the legend to ``frame`` (-1: none); whether the legend changed."""
        if frame < 0:
            self.playhead.hide()
            self.rings.clear()
            return self._set_readout(self._readout(-1, view.ink))
        x = view.x_of_frames([frame])[0]
        self.playhead.setValue(x)
        self.playhead.show()
        xs, ys, pens = [], [], []
        for s in self.series:
            sample = s.by_frame.get(frame)
            if sample is not None:
                xs.append(x)
                ys.append(sample.value)
                pens.append(pg.mkPen(s.colour, width=1.6))
        self.rings.setData(x=xs, y=ys, pen=pens)
        return self._set_readout(self._readout(frame, view.ink))

    def _set_readout(self, text: str) -> bool:
        if text == self.readout:
            return False  # only a changed text is laid out again
        self.readout = text
        self.legend.setText(text)
        return True


@dataclass(frozen=True)
class _Fonts:
    small: QFont
    pt: str  # the widget font's size, as pyqtgraph's labels take it


class CurveView(pg.GraphicsLayoutWidget):
    """The panels, the time axis under the last one and the marker key (see
    :class:`usannotate.ui.docks.curves.CurvePlot`, which owns it)."""

    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for widget in (self, self.viewport()):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the main window
        self.viewport().setMouseTracking(True)
        self.ci.setContentsMargins(8, 4, 8, 4)
        self.ci.layout.setVerticalSpacing(0)
        self.times: list[float] = []
        self.n_frames = 0
        self._specs: list[CurvePanel] = []
        self._panels: list[_Panel] = []
        self._current = -1
        self._dragging = False
        self._last_requested = -1
        self._tab: pg.TextItem | None = None
        self._footer: pg.GraphicsLayout | None = None
        self.ink = ChartInk.of(self.palette())
        self.fonts = self._fonts()

    # ----------------------------------------------------------------- data
    def set_data(self, times: list[float], panels: list[CurvePanel]) -> None:
        self.times = list(times)
        self._specs = list(panels)
        self._rebuild()

    def _count_frames(self) -> int:
        if self.times:
            return len(self.times)
        # No timing yet: place samples by frame number (the axis then reads "Frame").
        last = [s.frame for p in self._specs for c in p.curves for s in c.samples]
        return max(last) + 1 if last else 0

    def x_of_frames(self, frames) -> np.ndarray:
        """The x (s, or the 1-based frame number without timing) of each frame."""
        index = np.clip(np.asarray(frames, dtype=int), 0, max(0, self.n_frames - 1))
        if self.times:
            return np.asarray(self.times, dtype=float)[index]
        return index.astype(float) + 1.0

    def _fonts(self) -> _Fonts:
        small = QFont(self.font())
        size = small.pointSizeF()
        if size > 0:
            small.setPointSizeF(max(7.0, size * 0.9))
        return _Fonts(small, f"{size if size > 0 else 9:g}pt")

    def _rebuild(self) -> None:
        """Lay the panels out again and draw every curve (once per change of the data)."""
        self.n_frames = self._count_frames()
        self.ink = ChartInk.of(self.palette())
        self.fonts = self._fonts()
        self.setBackground(self.ink.window)
        self.ci.clear()
        self._panels = []
        self._tab = None
        if not self._specs:
            self.ci.addLabel("Nothing to plot", color=self.ink.muted, size=self.fonts.pt)
            return
        for i, spec in enumerate(self._specs):
            series = [self._series(curve) for curve in spec.curves]
            panel = _Panel(self, spec, series, last=i == len(self._specs) - 1)
            self.ci.addItem(panel.header, row=2 * i, col=0)
            self.ci.addItem(panel.plot, row=2 * i + 1, col=0)
            self.ci.layout.setRowStretchFactor(2 * i + 1, 1)
            if self._panels:
                panel.plot.setXLink(self._panels[0].plot)
            self._panels.append(panel)
        self._footer = self._add_key(row=2 * len(self._specs))
        last = self._panels[-1]
        self._tab = pg.TextItem(
            "", color=self.ink.highlighted_text, fill=self.ink.highlight, anchor=(0.5, 0)
        )
        self._tab.setFont(self.fonts.small)
        self._tab.setParentItem(last.plot.getAxis("bottom"))
        self._tab.setZValue(30)
        self._tab.hide()
        last.vb.sigResized.connect(self._resized)
        self._share_heights()
        self._settle()
        self._resized()

    def _share_heights(self) -> None:
        """Every panel's plot box equally tall (the last panel's row also holds the time
        axis): the grid would give the taller row more."""
        layout = self.ci.layout
        for row in range(layout.rowCount()):
            layout.setRowMinimumHeight(row, 0)
            layout.setRowMaximumHeight(row, 1e9)
        if not self._panels:
            return
        preferred = Qt.SizeHint.PreferredSize
        _, top, _, bottom = layout.getContentsMargins()
        fixed = top + bottom + self._footer.effectiveSizeHint(preferred).height()
        fixed += sum(p.header.effectiveSizeHint(preferred).height() for p in self._panels)
        axis = self._panels[-1].plot.getAxis("bottom").minimumHeight()
        height = max(12.0, (self.viewport().height() - fixed - axis) / len(self._panels))
        for i, _panel in enumerate(self._panels):
            last = i == len(self._panels) - 1
            layout.setRowFixedHeight(2 * i + 1, height + (axis if last else 0.0))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "_panels", None):
            self._share_heights()

    def _series(self, curve) -> _Series:
        n = self.n_frames
        samples = sorted(
            (s for s in curve.samples if 0 <= s.frame < n and math.isfinite(s.value)),
            key=lambda s: s.frame,
        )
        return _Series(
            curve.name,
            QColor(curve.colour),
            samples,
            np.array([s.frame for s in samples], dtype=int),
            np.array([s.value for s in samples], dtype=float),
            {s.frame: s for s in samples},
        )

    def _add_key(self, row: int) -> pg.GraphicsLayout:
        """The marker key on the left of the bottom line, the axis title on its right."""
        ink = self.ink
        key = pg.LegendItem(labelTextColor=ink.muted, labelTextSize=self.fonts.pt, frame=False)
        key.layout.setContentsMargins(0, 0, 0, 0)
        key.setColumnCount(3)
        muted = ink.muted
        key.addItem(
            _scatter(symbol="o", size=_KEY_SIZE, brush=muted, pen=pg.mkPen(ink.window, width=1.2)),
            "keyframe",
        )
        key.addItem(
            _scatter(
                symbol="s", size=_TRACK_SIZE, brush=ink.window, pen=pg.mkPen(muted, width=1.4)
            ),
            "tracked",
        )
        key.addItem(pg.PlotDataItem(pen=_pen(muted, 1.6, dashed=True)), "interpolated")
        footer = pg.GraphicsLayout()
        footer.layout.setContentsMargins(0, 2, 0, 0)
        footer.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        footer.addItem(key, 0, 0)
        axis_title = "Time (s)" if self.times else "Frame"
        footer.addItem(
            pg.LabelItem(axis_title, justify="right", color=ink.text, size=self.fonts.pt), 0, 1
        )
        footer.layout.setColumnStretchFactor(1, 1)
        self.ci.addItem(footer, row=row, col=0)
        return footer

    def _set_ranges(self) -> None:
        """Time and value ranges for the plots' sizes: the first and last frames and the
        end ticks a few pixels inside the box, so nothing sits on its frame."""
        inset = QFontMetrics(self.fonts.small).height() / 2 + 2
        n = self.n_frames
        t0, t1 = self.x_of_frames([0, n - 1]) if n else (0.0, 1.0)
        if t1 <= t0:
            t0, t1 = t0 - 0.5, t1 + 0.5
        first = self._panels[0]
        first.plot.setXRange(*_inset(t0, t1, first.vb.width(), inset), padding=0)
        for panel in self._panels:
            lo, hi = self._value_range(panel)
            # Ends on round ticks, spaced as pyqtgraph spaces them for this height (and
            # kept: the inset would otherwise change its mind near a step's boundary).
            height = max(panel.vb.height(), 2 * inset + 10)
            axis = panel.plot.getAxis("left")
            axis.setTickSpacing()  # pyqtgraph's own choice again
            levels = axis.tickSpacing(lo, hi, height - 2 * inset)
            if levels:
                step = levels[0][0]
                lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
                axis.setTickSpacing(major=step, minor=step)
            panel.plot.setYRange(*_inset(lo, hi, height, inset), padding=0)
            if panel.empty is not None:
                panel.empty.setPos((t0 + t1) / 2, (lo + hi) / 2)

    def _value_range(self, panel: _Panel) -> tuple[float, float]:
        values = [v for s in panel.series for v in s.values.tolist()]
        if not values:
            return 0.0, 1.0
        lo, hi = min(values), max(values)
        unit = panel.spec.unit
        is_area = "²" in unit or unit.endswith("2")
        # Areas and depths are sizes: start at 0 unless the data sit far above it.
        if lo >= 0 and (is_area or lo <= 0.5 * hi):
            lo = 0.0
        # Flat (or flat but for rounding, like an interpolated plane's length): an axis
        # around the value, not one magnifying noise in the 7th digit.
        if hi - lo <= 1e-3 * max(abs(lo), abs(hi)) or hi - lo < 1e-12:
            pad = abs(hi) * 0.1 or 1.0
            lo, hi = (0.0, hi + pad) if lo == 0 else (lo - pad, hi + pad)
        return lo, hi

    def _resized(self) -> None:
        """The value axes as wide as the widest one, so the panels' time axes line up."""
        if not self._panels:
            return
        fm = QFontMetrics(self.fonts.small)
        widest = 0
        for panel in self._panels:
            axis = panel.plot.getAxis("left")
            lo, hi = panel.vb.viewRange()[1]
            size = max(panel.vb.height(), 40.0)
            for spacing, values in axis.tickValues(lo, hi, size):
                for text in axis.tickStrings(values, axis.autoSIPrefixScale, spacing):
                    widest = max(widest, fm.horizontalAdvance(text))
        for panel in self._panels:
            panel.plot.getAxis("left").setWidth(widest + 10)
        self._set_ranges()
        legend = QFontMetrics(self.font())
        left, _, right, _ = self.ci.layout.getContentsMargins()
        for panel in self._panels:
            panel.thin_tracked(self)
            panel.fit_legend(legend, self.viewport().width() - left - right)
        self.set_current_frame(self._current, force=True)

    # ----------------------------------------------------------------- playhead
    def set_current_frame(self, frame: int, force: bool = False) -> None:
        if frame == self._current and not force:
            return
        self._current = frame
        shown = 0 <= frame < self.n_frames
        changed = [panel.set_current(self, frame if shown else -1) for panel in self._panels]
        if any(changed):
            self._settle()  # the legends' new widths, before the next paint
        if self._tab is None:
            return
        if not shown:
            self._tab.hide()
            return
        label = f"{self.times[frame]:.2f} s" if self.times else f"frame {frame + 1}"
        self._tab.setText(label)
        axis = self._panels[-1].plot.getAxis("bottom")
        x = axis.mapFromScene(self._scene_point(self.x_of_frames([frame])[0])).x()
        # Kept whole inside the widget, like the old tab.
        half = self._tab.boundingRect().width() / 2
        left = axis.mapFromScene(QPointF(2.0, 0)).x() + half
        right = axis.mapFromScene(QPointF(self.width() - 2.0, 0)).x() - half
        self._tab.setPos(min(max(x, left), max(left, right)), 1.0)
        self._tab.show()

    # ----------------------------------------------------------------- coordinates
    def _scene_point(self, x: float) -> QPointF:
        vb = self._panels[-1].vb
        return vb.mapViewToScene(QPointF(x, vb.viewRange()[1][0]))

    def _settle(self) -> None:
        """Apply a pending layout now, so positions asked for are the ones drawn."""
        # Adding a fixed-height row shrinks the layout to it (Qt bounds a top-level
        # graphics widget by its maximum size): it fills the view again here.
        self.ci.setGeometry(QRectF(self.viewport().rect()))
        self.ci.layout.activate()

    def x_of_frame(self, frame: int) -> float:
        self._settle()
        if not self._panels or self.n_frames == 0:
            return 0.0
        scene = self._scene_point(self.x_of_frames([frame])[0])
        return self.viewportTransform().map(scene).x()

    def frame_at(self, x: float) -> int:
        self._settle()
        n = self.n_frames
        if n == 0 or not self._panels:
            return -1
        vb = self._panels[-1].vb
        scene = self.viewportTransform().inverted()[0].map(QPointF(x, 0.0))
        t = vb.mapSceneToView(scene).x()
        if not self.times:
            return min(n - 1, max(0, round(t - 1.0)))
        i = bisect.bisect_left(self.times, t)
        if i <= 0:
            return 0
        if i >= n:
            return n - 1
        return i if self.times[i] - t < t - self.times[i - 1] else i - 1

    def legend_text(self, index: int) -> str:
        """What panel ``index``'s legend reads, as plain text ("" without such a panel)."""
        if not 0 <= index < len(self._panels):
            return ""
        return self._panels[index].legend.item.toPlainText().replace("\xa0", " ")

    def playhead_text(self) -> str:
        """The playhead's time tab ("1.50 s"; "" when hidden)."""
        if self._tab is None or not self._tab.isVisible():
            return ""
        return self._tab.textItem.toPlainText()

    def panel_rect(self, index: int) -> QRectF:
        self._settle()
        if not 0 <= index < len(self._panels):
            return QRectF()
        vb = self._panels[index].vb
        return self.viewportTransform().mapRect(vb.sceneBoundingRect())

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

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if getattr(self, "_specs", None) is not None and event.type() in (
            QEvent.Type.PaletteChange,
            QEvent.Type.FontChange,
        ):
            self._rebuild()  # themed from the palette: light and dark

    def hover_text(self, pos: QPointF) -> str:
        """The sample nearest ``pos``, e.g. "Needle · frame 41 · 1.33 s · 12.56 mm (tracked)"."""
        to_view = self.viewportTransform()
        for index, panel in enumerate(self._panels):
            if not self.panel_rect(index).adjusted(-4, -4, 4, 4).contains(pos):
                continue
            frame = self.frame_at(pos.x())
            best: tuple[float, _Series, CurveSample] | None = None
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
