"""The Curves dock's contents: a picker of what is plotted ("Vessel 1 · Area"), and the plot.

Which series exist, which are shown by default and in which unit is the core's
(:mod:`usannotate.annotations.series`); the pane keeps the user's choice, per loop, for as
long as the window is open.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton, QVBoxLayout, QWidget

from usannotate.annotations.series import (
    CurveChoice,
    SeriesKey,
    SeriesOption,
    SeriesSource,
    curve_panels,
    series_options,
)
from usannotate.ui.docks.curve_data import Curve, CurvePanel, CurveSample, pretty_unit
from usannotate.ui.docks.curves import CurvePlot
from usannotate.ui.docks.palette import chart_colour


class CurvesPane(QWidget):
    """The picker above the plot; :meth:`set_series_source` is all the window calls.

    Signals
    -------
    plottedChanged()
        The user added or removed a curve.
    """

    plottedChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the main window
        self.plot = CurvePlot()
        self.picker = QToolButton()
        self.picker.setText("Add curve… ▾")
        self.picker.setToolTip(
            "Choose what is plotted: any measurement of any track (ticked ones are "
            "plotted; pick one again to remove it)"
        )
        self.picker.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.picker.setAutoRaise(True)
        self.picker.clicked.connect(self._show_menu)
        self.menu = QMenu(self)
        self.menu.setToolTipsVisible(True)

        header = QHBoxLayout()
        header.setContentsMargins(6, 2, 6, 0)
        header.addWidget(self.picker)
        header.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.plot, 1)

        self._source: SeriesSource | None = None
        self._choices: dict[str, CurveChoice] = {}  # per loop, while the window is open

    def sizeHint(self) -> QSize:
        # The plot's own: the docks around keep the sizes they had before the picker.
        return self.plot.sizeHint()

    # ----------------------------------------------------------------- the window's call
    def set_series_source(self, source: SeriesSource | None) -> None:
        """Plot the chosen series of ``source`` (None: no loop, nothing to plot)."""
        self._source = source
        self._replot()

    # ----------------------------------------------------------------- the choice
    def options(self) -> list[SeriesOption]:
        """Every series that can be plotted now, as the picker lists them."""
        return series_options(self._source.annotations) if self._source is not None else []

    def choice(self) -> CurveChoice:
        """The current loop's choice of series."""
        key = self._source.loop_key if self._source is not None else ""
        return self._choices.get(key, CurveChoice())

    def set_plotted(self, key: SeriesKey, shown: bool) -> None:
        """Plot the series ``key`` (``shown``) or take it off the plot."""
        option = next((o for o in self.options() if o.key == key), None)
        if option is None or self._source is None:
            return
        self._choices[self._source.loop_key] = self.choice().showing(option, shown)
        self._replot()
        self.plottedChanged.emit()

    def reset_plotted(self) -> None:
        """Back to the default curves (fluid area, needle tip depth)."""
        if self._source is not None:
            self._choices.pop(self._source.loop_key, None)
            self._replot()
            self.plottedChanged.emit()

    # ----------------------------------------------------------------- drawing
    def _replot(self) -> None:
        if self._source is None:
            self.plot.set_panels([])
            return
        background = self.plot.palette().color(QPalette.ColorRole.Base)
        panels = []
        for panel in curve_panels(self._source, self.choice()):
            curves = [
                Curve(
                    curve.name,
                    chart_colour(curve.colour, background),
                    [CurveSample(v.frame, v.value, v.source.value) for v in curve.values],
                )
                for curve in panel.curves
            ]
            panels.append(
                CurvePanel(
                    panel.title,
                    pretty_unit(panel.unit),
                    curves,
                    invert_y=panel.invert_y,
                    empty_text=panel.empty_text,
                )
            )
        self.plot.set_panels(panels)

    # ----------------------------------------------------------------- the picker
    def _fill_menu(self) -> None:
        menu = self.menu
        menu.clear()
        options = self.options()
        if not options:
            empty = menu.addAction("Mark something to plot its measurements")
            empty.setEnabled(False)
            return
        choice = self.choice()
        track = None
        for option in options:
            if option.track != track and track is not None:
                menu.addSeparator()
            track = option.track
            action = QAction(option.title, menu)
            action.setCheckable(True)
            action.setChecked(choice.shows(option))
            if option.default:
                action.setToolTip("Plotted by default")
            action.toggled.connect(lambda shown, key=option.key: self.set_plotted(key, shown))
            menu.addAction(action)
        menu.addSeparator()
        reset = menu.addAction("Default curves (fluid area, needle tip depth)")
        reset.setEnabled(choice != CurveChoice())
        reset.triggered.connect(self.reset_plotted)

    def _show_menu(self) -> None:
        self._fill_menu()
        # Not exec(): the window goes on (playback, the playhead) while the menu is open.
        self.menu.popup(self.picker.mapToGlobal(QPoint(0, self.picker.height())))
