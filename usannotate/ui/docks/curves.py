"""The Curves dock's plot: measurements against time over the loop, synced to the playhead.

pyqtgraph draws it (:mod:`usannotate.ui.docks._curve_view`). Importing pyqtgraph takes
about 0.3 s, which opening the window should not pay: it is imported just after the plot
is first painted (the window is on screen by then), or when it is asked where something is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from usannotate.ui.docks.curve_data import SOURCES, Curve, CurvePanel, CurveSample, pretty_unit

if TYPE_CHECKING:
    from usannotate.ui.docks._curve_view import CurveView

__all__ = ["SOURCES", "Curve", "CurvePanel", "CurvePlot", "CurveSample", "pretty_unit"]


class CurvePlot(QWidget):
    """Measurements against time, one panel per quantity, stacked on a shared time axis.

    The plot shows what it is told (``set_frame_times``, ``set_panels``,
    ``set_current_frame``) and asks for a frame when the user clicks or drags in it.
    Positions (``x_of_frame``, ``panel_rect``) are in the coordinates of ``viewport()``,
    the widget that receives the mouse, which covers this one exactly.

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
        self.setToolTip("Click or drag to go to a frame; hover over a curve for its value")
        self._times: list[float] = []
        self._panels: list[CurvePanel] = []
        self._current = -1
        self._playing = False
        self._view: CurveView | None = None
        self._view_due = False  # made after the first paint (see paintEvent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    # ----------------------------------------------------------------- what it is told
    def set_frame_times(self, times_s: Sequence[float]) -> None:
        """Time (s) of each frame from the loop start, ascending (may be uneven): the x axis."""
        self._times = [float(t) for t in times_s]
        if self._view is not None:
            self._view.set_data(self._times, self._panels)

    def set_events(self, events: Sequence[tuple[int, str]]) -> None:
        """The loop's events as ``(frame, title)``: a dashed line down every panel."""
        self._events = sorted(events)
        if self._view is not None:
            self._view.set_events(self._events)

    def events(self) -> list[tuple[int, str]]:
        return list(getattr(self, "_events", []))

    def set_panels(self, panels: Sequence[CurvePanel]) -> None:
        """Replace the panels, drawn top to bottom, sharing the time axis."""
        self._panels = list(panels)
        if self._view is not None:
            self._view.set_data(self._times, self._panels)

    def set_current_frame(self, frame: int) -> None:
        """Move the playhead to ``frame`` (0-based); the legends read out its values."""
        if frame != self._current:
            self._current = frame
            if self._view is not None:
                self._view.set_current_frame(frame)

    def set_playing(self, playing: bool) -> None:
        """The loop plays (the legends' values follow it 20 times a second) or stopped."""
        self._playing = playing
        if self._view is not None:
            self._view.set_playing(playing)

    def current_frame(self) -> int:
        """The frame the playhead is on (-1 before the first ``set_current_frame``)."""
        return self._current

    def panels(self) -> list[CurvePanel]:
        """The panels shown, top to bottom."""
        return list(self._panels)

    # ----------------------------------------------------------------- where things are
    def viewport(self) -> QWidget:
        """The widget that receives the mouse (pyqtgraph's view), placed over this one."""
        return self._ensure_view().viewport()

    def frame_at(self, x: float) -> int:
        """The frame whose time is nearest to x ``x`` (clamped); -1 without frames or panels."""
        return self._ensure_view().frame_at(x)

    def x_of_frame(self, frame: int) -> float:
        """The x of ``frame``'s time (the frame is clamped into the loop)."""
        return self._ensure_view().x_of_frame(frame)

    def panel_rect(self, index: int) -> QRectF:
        """The plot box of panel ``index`` (empty if there is none)."""
        return self._ensure_view().panel_rect(index)

    def legend_text(self, index: int) -> str:
        """What panel ``index``'s legend reads: each curve's name and value at the playhead
        ("━━ Injected fluid 12.6 mm²"), as plain text."""
        return self._ensure_view().legend_text(index)

    def playhead_text(self) -> str:
        """What the playhead's tab on the time axis reads ("1.50 s"; "" when hidden)."""
        return self._ensure_view().playhead_text()

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

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._view is None and not self._view_due:
            # Once the window has painted its first frame: the window shows at once, the
            # curves a moment later (showing would be too early: on X11 the first paint
            # comes after the events a zero timer waits for).
            self._view_due = True
            QTimer.singleShot(0, self, self._ensure_view)

    def _ensure_view(self) -> CurveView:
        if self._view is None:
            from usannotate.ui.docks._curve_view import CurveView

            view = CurveView(self)
            view.setToolTip(self.toolTip())
            view.frameRequested.connect(self.frameRequested)
            self.layout().addWidget(view)
            view.show()  # now, not when the layout gets round to it
            self.layout().activate()
            self._view = view
            view.set_data(self._times, self._panels)
            view.set_events(self.events())
            view.playing = self._playing
            if self._current >= 0:
                view.set_current_frame(self._current)
        return self._view
