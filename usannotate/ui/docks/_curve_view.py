"""The Curves plot drawn by pyqtgraph: stacked panels on one linked time axis, and a playhead.

The panels, the time axis and the marker key under them, and the playhead (seeking and
hover: :mod:`._curve_pointer`).

Playback moves only the playhead, its rings, its tab and the legends' values; everything
else is drawn once into a pixmap, painted as the view's background, and left out of the
live drawing (opacity 0) until the data, the size or the palette change: pyqtgraph
repainting its items under a moving line would cost several ms a frame.
"""

from __future__ import annotations

import bisect
import math
import time

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QSizePolicy,
    QWidget,
)

from usannotate.ui.docks._curve_items import (
    KEY_SIZE,
    TRACK_SIZE,
    ChartFonts,
    Panel,
    Series,
    Tab,
    pen,
    scatter,
)
from usannotate.ui.docks._curve_pointer import CurvePointer
from usannotate.ui.docks._pg import pg
from usannotate.ui.docks.curve_data import CurvePanel
from usannotate.ui.docks.palette import ChartInk


def _inset(lo: float, hi: float, size_px: float, inset_px: float) -> tuple[float, float]:
    """``lo`` .. ``hi`` widened so that they sit ``inset_px`` inside an axis ``size_px`` long."""
    inner = max(size_px - 2 * inset_px, 1.0)
    pad = (hi - lo) * inset_px / inner
    return lo - pad, hi + pad


def _layout_of(panel: CurvePanel) -> tuple:
    """What a panel's plot is built from, values aside: panels alike in this are updated
    in place (see :meth:`CurveView.set_data`)."""
    has_values = any(math.isfinite(s.value) for c in panel.curves for s in c.samples)
    curves = tuple((c.name, c.colour) for c in panel.curves)
    return (panel.title, panel.unit, panel.invert_y, panel.empty_text, curves, has_values)


#: Seconds between updates of the rings and legend values while the loop plays.
LIVE_VALUES_EVERY_S = 0.05


class CurveView(CurvePointer, pg.GraphicsLayoutWidget):
    """The panels, the time axis under the last one and the marker key (see
    :class:`usannotate.ui.docks.curves.CurvePlot`, which owns it)."""

    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for widget in (self, self.viewport()):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the main window
        self.viewport().setMouseTracking(True)
        # The background is the plot drawn once (see _static_layer): no second cache of it.
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        # A few dozen items, some moving every frame: no index to keep up to date (a stale
        # one loses the playhead line, whose bounds change after it is added).
        self.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        # What changes per frame is small (a line, rings, a tab, values) over a pixmap:
        # one rectangle around it all repaints faster than each piece on its own.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.ci.setContentsMargins(8, 4, 8, 4)
        self.ci.layout.setVerticalSpacing(0)
        self.times: list[float] = []
        self.n_frames = 0
        self._specs: list[CurvePanel] = []
        self._panels: list[Panel] = []
        self._current = -1
        self.playing = False  # the values follow at most every LIVE_VALUES_EVERY_S
        self._values_due = 0.0
        self._tab: Tab | None = None
        self._playheads: list[pg.InfiniteLine] = []  # one down each plot box
        self._static: QPixmap | None = None  # everything but the playhead, drawn once
        self._footer: pg.GraphicsLayout | None = None
        self.ink = ChartInk.of(self.palette())
        self.fonts = self._fonts()

    # ----------------------------------------------------------------- data
    def set_data(self, times: list[float], panels: list[CurvePanel]) -> None:
        times, panels = list(times), list(panels)
        same_plots = (
            self._panels
            and times == self.times
            and [_layout_of(p) for p in panels] == [_layout_of(p) for p in self._specs]
        )
        self.times = times
        self._specs = panels
        if not same_plots:
            self._rebuild()
            return
        # The same panels and curves with other values (an edit, an undo): the plots
        # stay, their lines and markers are drawn again.
        for panel, spec in zip(self._panels, panels, strict=True):
            panel.replace_series(self, spec, [self._series(curve) for curve in spec.curves])
        self._invalidate()
        self._resized()

    def set_events(self, events: list[tuple[int, str]]) -> None:
        """Events ``(frame, title)``: a dashed line down each panel, titled on the top one."""
        self._events = list(events)
        self._draw_events()
        self._invalidate()

    def _draw_events(self) -> None:
        for plot, line in getattr(self, "_event_lines", []):
            plot.removeItem(line)
        self._event_lines: list[tuple[object, object]] = []
        for k, panel in enumerate(self._panels):
            for j, (frame, title) in enumerate(getattr(self, "_events", [])):
                if not 0 <= frame < max(1, self.n_frames):
                    continue
                line = pg.InfiniteLine(
                    pos=self.x_of_frame_value(frame),
                    angle=90,
                    movable=False,
                    pen=pg.mkPen(self.ink.event, width=1.0, style=Qt.PenStyle.DashDotLine),
                    label=title if k == 0 else None,
                    # Staggered: the titles of events close together do not run together.
                    labelOpts={"position": 0.92 - 0.14 * (j % 3), "color": self.ink.event},
                )
                line.setZValue(10)
                panel.plot.addItem(line)
                self._event_lines.append((panel.plot, line))

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

    def x_of_frame_value(self, frame: int) -> float:
        """The x of one frame inside the loop (what the playhead asks 60 times a second)."""
        return self.times[frame] if self.times else frame + 1.0

    def _fonts(self) -> ChartFonts:
        small = QFont(self.font())
        size = small.pointSizeF()
        if size > 0:
            small.setPointSizeF(max(7.0, size * 0.9))
        return ChartFonts(small, f"{size if size > 0 else 9:g}pt")

    def _rebuild(self) -> None:
        """Lay the panels out again and draw every curve (once per change of the data)."""
        self.n_frames = self._count_frames()
        self.ink = ChartInk.of(self.palette())
        self.fonts = self._fonts()
        self.setBackground(self.ink.window)
        for item in self._live_items():
            self.scene().removeItem(item)
        self.ci.clear()
        self._panels = []
        self._tab = None
        self._invalidate()
        if not self._specs:
            self.ci.addLabel("Nothing to plot", color=self.ink.muted, size=self.fonts.pt)
            return
        for i, spec in enumerate(self._specs):
            series = [self._series(curve) for curve in spec.curves]
            panel = Panel(self, spec, series, last=i == len(self._specs) - 1)
            self.ci.addItem(panel.header, row=2 * i, col=0)
            self.ci.addItem(panel.plot, row=2 * i + 1, col=0)
            self.ci.layout.setRowStretchFactor(2 * i + 1, 1)
            if self._panels:
                panel.plot.setXLink(self._panels[0].plot)
            self._panels.append(panel)
        self._footer = self._add_key(row=2 * len(self._specs))
        last = self._panels[-1]
        self._tab = Tab(self.ink, self.fonts.small)
        self._playheads = []
        for _ in self._panels:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen(self.ink.highlight, 2.0))
            line.setZValue(20)
            line.hide()
            self._playheads.append(line)
        for item in self._live_items():
            self.scene().addItem(item)
        self._event_lines = []  # the old plots were cleared with their lines
        self._draw_events()
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
        if getattr(self, "_specs", None) is not None:
            self._invalidate()

    # ----------------------------------------------------------------- drawn once
    def _invalidate(self) -> None:
        """The plot changed (data, size, palette): draw it again at the next paint."""
        self._static = None
        self.viewport().update()

    def _live_items(self) -> list[QGraphicsItem]:
        """What moves with the playhead: top-level scene items (in viewport coordinates),
        outside the plot's items, whose opacity is 0 between two drawings of them."""
        items = [item for panel in self._panels for item in panel.live_items()]
        if self._tab is not None:
            items += [self._tab.box, *self._playheads]
        return items

    def _static_layer(self) -> QPixmap:
        """Everything but the live items, as the view shows it (drawn on demand)."""
        ratio = self.devicePixelRatioF()
        if self._static is None or self._static.devicePixelRatioF() != ratio:
            self._settle()
            size = self.viewport().size()
            pixmap = QPixmap(size * ratio)
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(self.ink.window)
            live = [(item, item.isVisible()) for item in self._live_items()]
            for item, _ in live:
                item.hide()
            self.ci.setOpacity(1.0)
            painter = QPainter(pixmap)
            try:
                painter.setRenderHints(self.renderHints())
                self.scene().render(
                    painter, QRectF(0, 0, size.width(), size.height()), self.sceneRect()
                )
            finally:
                painter.end()
            # Live, only the items that move are drawn.
            self.ci.setOpacity(0.0)
            for item, visible in live:
                item.setVisible(visible)
            self._static = pixmap
        return self._static

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawBackground(painter, rect)
        if getattr(self, "_specs", None) is not None:
            painter.drawPixmap(self.sceneRect().topLeft(), self._static_layer())

    def _series(self, curve) -> Series:
        n = self.n_frames
        samples = sorted(
            (s for s in curve.samples if 0 <= s.frame < n and math.isfinite(s.value)),
            key=lambda s: s.frame,
        )
        return Series(
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
            scatter(symbol="o", size=KEY_SIZE, brush=muted, pen=pg.mkPen(ink.window, width=1.2)),
            "keyframe",
        )
        key.addItem(
            scatter(symbol="s", size=TRACK_SIZE, brush=ink.window, pen=pg.mkPen(muted, width=1.4)),
            "tracked",
        )
        key.addItem(pg.PlotDataItem(pen=pen(muted, 1.6, dashed=True)), "interpolated")
        footer = pg.GraphicsLayout()
        footer.layout.setContentsMargins(0, 2, 0, 0)
        footer.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        footer.addItem(key, 0, 0)
        # From the injection start when the curves are timed from it (see ui/details.py).
        relative = bool(self.times) and self.times[0] < 0
        axis_title = ("From injection (s)" if relative else "Time (s)") if self.times else "Frame"
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

    def _value_range(self, panel: Panel) -> tuple[float, float]:
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
            if not panel.has_values:
                continue  # no value labels
            axis = panel.plot.getAxis("left")
            lo, hi = panel.vb.viewRange()[1]
            size = max(panel.vb.height(), 40.0)
            for spacing, values in axis.tickValues(lo, hi, size):
                for text in axis.tickStrings(values, axis.autoSIPrefixScale, spacing):
                    widest = max(widest, fm.horizontalAdvance(text))
        for panel in self._panels:
            panel.plot.getAxis("left").setWidth(widest + 10 if widest else 1)
        self._set_ranges()
        legend = QFontMetricsF(self.font())
        left, _, right, _ = self.ci.layout.getContentsMargins()
        for panel in self._panels:
            panel.thin_tracked(self)
            panel.fit_legend(legend, self.viewport().width() - left - right)
        # Each line down its plot box: its span is a fraction of the view's height.
        height = max(1.0, float(self.viewport().height()))
        for index, line in enumerate(self._playheads):
            box = self.panel_rect(index)
            line.setSpan(box.top() / height, box.bottom() / height)
        self.set_current_frame(self._current, force=True)
        self._invalidate()

    # ----------------------------------------------------------------- playhead
    def set_current_frame(self, frame: int, force: bool = False) -> None:
        if frame == self._current and not force:
            return
        self._current = frame
        shown = 0 <= frame < self.n_frames
        x_data = self.x_of_frame_value(frame) if shown else 0.0
        now = time.monotonic()
        if force or not self.playing or now >= self._values_due:
            self._values_due = now + LIVE_VALUES_EVERY_S
            for panel in self._panels:
                panel.set_current(frame if shown else -1, x_data)
        if self._tab is None:
            return
        for line in self._playheads:
            line.setVisible(shown)
        if not shown:
            self._tab.hide()
            return
        x = self._scene_point(x_data).x()
        for line in self._playheads:
            line.setValue(x)
        label = f"{self.times[frame]:.2f} s" if self.times else f"frame {frame + 1}"
        axis = self._panels[-1].plot.getAxis("bottom")
        top = axis.mapToScene(QPointF(0.0, 0.0)).y()  # its own top, not its grid's
        self._tab.show_at(x, top + 2.0, label, 2.0, self.width() - 2.0)

    def set_playing(self, playing: bool) -> None:
        """While playing, values no one reads at 60 a second (a ring and a legend value a
        curve: 1.4 ms a frame with 25 curves) follow at 20 a second; once stopped, exact."""
        self.playing = playing
        self._values_due = 0.0  # the first frame played reads out
        if not playing and self._current >= 0:
            self.set_current_frame(self._current, force=True)

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
        return self._panels[index].legend.text()

    def playhead_text(self) -> str:
        """The playhead's time tab ("1.50 s"; "" when hidden)."""
        return self._tab.text() if self._tab is not None else ""

    def panel_rect(self, index: int) -> QRectF:
        self._settle()
        if not 0 <= index < len(self._panels):
            return QRectF()
        vb = self._panels[index].vb
        return self.viewportTransform().mapRect(vb.sceneBoundingRect())

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if getattr(self, "_specs", None) is not None and event.type() in (
            QEvent.Type.PaletteChange,
            QEvent.Type.FontChange,
        ):
            self._rebuild()  # themed from the palette: light and dark
