"""One panel of the Curves plot, built of pyqtgraph items: title, legend, curves, playhead.

Its title, its legend of current values, the plot box with its curves (solid, dashed, gaps) and
markers, and the playhead.

What is ours is what the plot means: the style of a stretch by where its values come from,
which markers show, and the read-outs at the playhead; pyqtgraph draws and lays it out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QGraphicsWidget,
    QSizePolicy,
)

from usannotate.ui.docks._pg import pg
from usannotate.ui.docks.curve_data import CurvePanel, CurveSample, pretty_unit
from usannotate.ui.docks.palette import ChartInk


@dataclass(frozen=True)
class ChartFonts:
    """The chart's fonts: a smaller one for ticks and tabs, and the size labels take."""

    small: QFont
    pt: str  # the widget font's size, as pyqtgraph's labels take it


class CurveView(Protocol):
    """What the items need of the view they are drawn in
    (:class:`usannotate.ui.docks._curve_view.CurveView`), as a protocol: the view imports
    this module, so this one does not import it back."""

    ink: ChartInk
    fonts: ChartFonts

    def font(self) -> QFont: ...
    def x_of_frames(self, frames: Sequence[int] | np.ndarray) -> np.ndarray: ...


KEY_SIZE = 8.4  # keyframe disc diameter, px
TRACK_SIZE = 6.0  # tracked square side, px
_DASHES = [2.5, 2.0]  # interpolated stretches, in pen widths


def format_value(value: float) -> str:
    """About three significant digits: 0.84, 12.6, 215."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def scatter(**options) -> pg.ScatterPlotItem:
    return pg.ScatterPlotItem(antialias=True, **options)


def pen(colour: QColor, width: float, dashed: bool = False) -> QPen:
    drawn = pg.mkPen(colour, width=width)
    if dashed:
        drawn.setDashPattern(_DASHES)
        drawn.setCapStyle(Qt.PenCapStyle.FlatCap)
    return drawn


@dataclass
class Series:
    """One curve ready to draw: its samples inside the loop, as arrays by frame."""

    name: str
    colour: QColor
    samples: list[CurveSample]
    frames: np.ndarray  # int, ascending
    values: np.ndarray
    by_frame: dict[int, CurveSample]


_Entry = tuple[QGraphicsLineItem, QGraphicsSimpleTextItem, QGraphicsSimpleTextItem]


class _Legend:
    """Each curve's colour, name and value at the playhead, right-aligned over a header.

    Plain Qt text items, not a pyqtgraph label: a value changes every frame of playback,
    and a label in the layout lays the whole plot out again each time (~3 ms a panel).
    Live items (see CurveView): in the scene itself, placed over the header.
    """

    def __init__(self, header: QGraphicsWidget, series: list[Series], ink: ChartInk, font: QFont):
        self.header = header
        self.fm = QFontMetricsF(font)
        self.entries: list[_Entry] = []
        self.with_names = True
        self.top = 0.0  # of the text, below the header's top
        for s in series:
            swatch = QGraphicsLineItem(0, 0, 14, 0)
            line = QPen(s.colour, 2.4)
            line.setCapStyle(Qt.PenCapStyle.RoundCap)
            swatch.setPen(line)
            name = QGraphicsSimpleTextItem(s.name)
            name.setBrush(ink.muted)
            value = QGraphicsSimpleTextItem("–")
            value.setBrush(ink.text)
            for text in (name, value):
                text.setFont(font)
            self.entries.append((swatch, name, value))
        header.geometryChanged.connect(self.place)

    def set_values(self, values: list[str], with_names: bool) -> None:
        changed = with_names != self.with_names
        self.with_names = with_names
        for (_, name, value), text in zip(self.entries, values, strict=True):
            name.setVisible(with_names)
            if value.text() != text:
                value.setText(text)
                changed = True
        if changed:
            self.place()

    def place(self) -> None:
        box = self.header.sceneBoundingRect()
        x, top = box.right(), box.top() + self.top
        mid = top + self.fm.ascent() * 0.62
        for swatch, name, value in reversed(self.entries):
            x -= self.fm.horizontalAdvance(value.text())
            value.setPos(x, top)
            if self.with_names:
                x -= self.fm.horizontalAdvance(name.text() + " ")
                name.setPos(x, top)
            x -= 18
            swatch.setPos(x, mid)
            x -= 12

    def text(self) -> str:
        entries = []
        for _, name, value in self.entries:
            named = f"{name.text()} " if self.with_names else ""
            entries.append(f"━━ {named}{value.text()}")
        return "   ".join(entries)

    def items(self) -> list[QGraphicsItem]:
        return [item for entry in self.entries for item in entry]


class Tab:
    """The playhead's time on the time axis, in a highlighted tab (over the tick label it
    would crowd). A live item (see CurveView), in scene coordinates."""

    def __init__(self, ink: ChartInk, font: QFont):
        self.fm = QFontMetricsF(font)
        self.box = QGraphicsPathItem()
        self.box.setBrush(ink.highlight)
        self.box.setPen(pg.mkPen(None))
        self.box.setZValue(30)
        self.label = QGraphicsSimpleTextItem(self.box)
        self.label.setBrush(ink.highlighted_text)
        self.label.setFont(font)
        self.box.hide()

    def show_at(self, x: float, top: float, text: str, left: float, right: float) -> None:
        """Centred on ``x``, its top at ``top``, kept whole between ``left`` and ``right``."""
        if text != self.label.text():
            self.label.setText(text)
            width, height = self.label.boundingRect().width() + 8, self.fm.height() + 2
            path = QPainterPath()
            path.addRoundedRect(QRectF(0, 0, width, height), 3, 3)
            self.box.setPath(path)
            self.label.setPos(4, 1)
        width = self.box.path().boundingRect().width()
        self.box.setPos(min(max(x - width / 2, left), max(left, right - width)), top)
        self.box.show()

    def hide(self) -> None:
        self.box.hide()

    def text(self) -> str:
        return self.label.text() if self.box.isVisible() else ""


class Panel:
    """The items of one panel: its header (title, legend) and its plot."""

    def __init__(self, view: CurveView, spec: CurvePanel, series: list[Series], last: bool):
        ink, fonts = view.ink, view.fonts
        self.spec, self.series, self.unit = spec, series, pretty_unit(spec.unit)
        self.has_values = any(len(s.samples) for s in series)
        self.header = pg.GraphicsLayout()
        self.header.setContentsMargins(0, 6, 0, 0)
        self.header.layout.setContentsMargins(0, 0, 0, 0)
        self.header.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        title = f"{spec.title} ({self.unit})" if self.unit else spec.title
        self.title = pg.LabelItem(title, justify="left", color=ink.text, size=fonts.pt, bold=True)
        self.header.addItem(self.title, 0, 0)
        self.legend = _Legend(self.header, series if self.has_values else [], ink, view.font())
        self.with_names = True

        self.plot = plot = pg.PlotItem()
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
        if not self.has_values:  # nothing to read off a value axis: the empty text says so
            plot.getAxis("left").setStyle(showValues=False, tickLength=0)
            plot.showGrid(x=True, y=False, alpha=0.35)
        bottom = plot.getAxis("bottom")
        if last:
            bottom.setStyle(tickTextOffset=3)
        else:
            bottom.setStyle(showValues=False, tickLength=0)
            bottom.setHeight(0)

        self.tracked: list[tuple[pg.ScatterPlotItem, Series]] = []
        # Per series, the items _add_series put in the plot (None: the series had no values).
        self._data_items: list[tuple[QGraphicsItem, ...] | None] = []
        for s in series:
            self._add_series(view, s, ink)
        self.empty = None
        if not self.has_values and spec.empty_text:
            self.empty = pg.TextItem(spec.empty_text, color=ink.muted, anchor=(0.5, 0.5))
            self.empty.setFont(QFont(view.font()))
            plot.addItem(self.empty, ignoreBounds=True)

        # A ring where each curve crosses the playhead: one fixed-size item per curve,
        # moved (cheaper per frame than giving a scatter plot new data). Live items (see
        # CurveView), in scene coordinates.
        self.rings = []
        for s in series:
            r = (KEY_SIZE + 0.4) / 2
            ring = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
            ring.setPen(pg.mkPen(s.colour, width=1.6))
            ring.setBrush(ink.base)
            ring.setZValue(21)
            ring.hide()
            self.rings.append(ring)

    @staticmethod
    def _series_data(view: CurveView, s: Series) -> dict[str, dict]:
        """What the items of one series draw (``setData`` keyword arguments per item)."""
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
        lone = ~np.append(False, joined) & ~np.append(joined, False)
        keys = [k for k in s.samples if k.source == "keyframe"]
        dots = [k for k in s.samples if k.source == "interpolated" and lone[k.frame - first]]
        return {
            "solid": {"x": x, "y": solid_y, "connect": "finite"},
            # Interpolated stretches, dashed: an estimate, not a measurement. One path, so
            # the dash pattern flows across frames.
            "dashed": {"x": x, "y": y, "connect": np.append(dashed_step, False)},
            "keys": {
                "x": view.x_of_frames([k.frame for k in keys]),
                "y": [k.value for k in keys],
            },
            "dots": {
                "x": view.x_of_frames([k.frame for k in dots]),
                "y": [k.value for k in dots],
            },
        }

    def _add_series(self, view: CurveView, s: Series, ink: ChartInk) -> None:
        if not len(s.frames):
            self._data_items.append(None)
            return
        data = self._series_data(view, s)
        solid = pg.PlotCurveItem(pen=pen(s.colour, 2.0), antialias=True, **data["solid"])
        dashed = pg.PlotCurveItem(
            pen=pen(s.colour, 2.0, dashed=True), antialias=True, **data["dashed"]
        )
        for item in (dashed, solid):
            item.setZValue(5)
            self.plot.addItem(item)
        key_items = scatter(
            symbol="o",
            size=KEY_SIZE,
            brush=s.colour,
            pen=pg.mkPen(ink.base, width=1.2),  # a thin halo sets the disc off the line
            **data["keys"],
        )
        dot_items = scatter(symbol="o", size=3, brush=s.colour, pen=None, **data["dots"])
        # Hollow squares, crisp (not antialiased): an outline on whole pixels reads better.
        tracked = pg.ScatterPlotItem(
            symbol="s",
            size=TRACK_SIZE,
            brush=ink.base,
            pen=pg.mkPen(s.colour, width=1.4),
            antialias=False,
            useCache=False,  # the symbol cache draws antialiased whatever the option says
        )
        for item in (dot_items, tracked, key_items):
            item.setZValue(10)
            self.plot.addItem(item)
        self.tracked.append((tracked, s))
        self._data_items.append((solid, dashed, key_items, dot_items, tracked))

    def replace_series(self, view: CurveView, spec: CurvePanel, series: list[Series]) -> None:
        """New values for the same curves (an edit moved a mark): the lines and markers
        get new data; the panel and its items stay (a pyqtgraph plot costs ~25 ms to build,
        a curve's items a few ms)."""
        self.spec, self.series = spec, series
        self.tracked = []
        for index, s in enumerate(series):
            items = self._data_items[index]
            if items is None or not len(s.frames):
                if items is not None:
                    for item in items:
                        self.plot.removeItem(item)
                    self._data_items[index] = None
                if len(s.frames):  # a curve that had no values gets its items
                    position = len(self._data_items)
                    self._add_series(view, s, view.ink)
                    self._data_items[index] = self._data_items.pop(position)
                continue
            solid, dashed, key_items, dot_items, tracked = items
            data = self._series_data(view, s)
            solid.setData(**data["solid"])
            dashed.setData(**data["dashed"])
            key_items.setData(**data["keys"])
            dot_items.setData(**data["dots"])
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
                if lone or x - last_x >= TRACK_SIZE + 3:
                    shown.append(k)
                    last_x = x
            item.setData(x=view.x_of_frames([k.frame for k in shown]), y=[k.value for k in shown])

    def fit_legend(self, fm: QFontMetricsF, width: float) -> None:
        """Names in the legend only while they fit beside the title in a header ``width``
        px wide (the values always show; a tooltip names the curves)."""
        room = width - self.title.minimumWidth() - 12
        widest = [f"━━ {s.name} 888.8 {self.unit}" for s in self.series]
        needed = sum(fm.horizontalAdvance(text) for text in widest) + 18 * len(widest)
        self.with_names = needed <= room
        margin = self.title.item.document().documentMargin()
        self.legend.top = self.title.geometry().top() + margin
        self.legend.with_names = self.with_names
        self.legend.place()

    def live_items(self) -> list[QGraphicsItem]:
        """What moves with the playhead (drawn every frame)."""
        return [*self.rings, *self.legend.items()]

    def set_current(self, frame: int, x: float) -> None:
        """Move the rings and the legend to ``frame`` at ``x`` (-1: none)."""
        shown = frame >= 0
        values = []
        for s, ring in zip(self.series, self.rings, strict=True):
            sample = s.by_frame.get(frame) if shown else None
            if sample is not None:
                ring.setPos(self.vb.mapViewToScene(QPointF(x, sample.value)))
            ring.setVisible(sample is not None)
            values.append(f"{format_value(sample.value)} {self.unit}".strip() if sample else "–")
        if self.has_values:
            self.legend.set_values(values, self.with_names)
