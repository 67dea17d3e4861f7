"""The Measure menu's tools on the image: the caliper and the manual calibration line.

Neither is a mark. The caliper is a quick distance, shown on the image and in the
Measurements dock, never saved. The calibration line is drawn along a scale burned into
the image; its known length becomes the loop's manual calibration, an undoable edit the
window pushes (:class:`~usannotate.annotations.edits.SetManualCalibration`) and the
sidecar keeps. While a manual calibration is set its line is shown with the region
outlines (View > Show Calibration Regions).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QPointF, Signal

from usannotate.annotations import Row
from usannotate.annotations.measurements import polyline_length
from usannotate.cine.calibration import Calibration, ManualCalibration
from usannotate.ui.viewer.line_tool import LINE_COLOURS, LineItem, LinePurpose, LineTool
from usannotate.ui.viewer.view import CineView

__all__ = ["CALIPER_ID", "MeasureTools", "length_text"]

#: The caliper's row in the Measurements dock (not a mark: never saved).
CALIPER_ID = "caliper"

CalibrationFor = Callable[[np.ndarray], Calibration]


def length_text(value: float, unit: str) -> str:
    """A length as the caliper's caption shows it: ``12.34 mm`` or ``136.0 px``."""
    return f"{value:.2f} mm" if unit == "mm" else f"{value:.1f} px"


class MeasureTools(QObject):
    """The caliper and the calibration line on ``view``.

    Signals
    -------
    caliperChanged()
        The caliper was drawn or cleared (refresh the Measurements dock).
    calibrationLineDrawn(object, object)
        A calibration line was drawn: its two ``(x, y)`` ends, image px; the window
        asks for its length and pushes the calibration.
    statusMessage(str)
    """

    caliperChanged = Signal()
    calibrationLineDrawn = Signal(object, object)
    statusMessage = Signal(str)

    def __init__(self, view: CineView) -> None:
        super().__init__(view)
        # Installed after the marking tools, so it sees the mouse first while active.
        self.line_tool = LineTool(view)
        self.line_tool.lineFinished.connect(self._on_line_finished)
        self.line_tool.statusMessage.connect(self.statusMessage)
        self.caliper_points: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.caliper_item = LineItem(LINE_COLOURS[LinePurpose.CALIPER])
        self.calibration_item = LineItem(LINE_COLOURS[LinePurpose.CALIBRATE])
        for item in (self.caliper_item, self.calibration_item):
            item.setVisible(False)
            view.scene().addItem(item)
        self._calibration_shown = True
        self._manual: ManualCalibration | None = None

    # ---------------------------------------------------------------- caliper
    def start_caliper(self) -> None:
        self.line_tool.start(LinePurpose.CALIPER)

    def clear_caliper(self) -> None:
        """Hide the caliper (and stop drawing one)."""
        if self.line_tool.active:
            self.line_tool.cancel()
        had = self.caliper_points is not None
        self.caliper_points = None
        self.caliper_item.setVisible(False)
        if had:
            self.caliperChanged.emit()

    def caliper_row(self, frame: int, calibration_for: CalibrationFor) -> Row | None:
        """The caliper's length as a Measurements row, measured by ``calibration_for``
        (mm when one calibration holds both ends); None without a caliper."""
        if self.caliper_points is None:
            return None
        points = np.array(self.caliper_points, dtype=np.float64)
        calibration = calibration_for(points)
        measured = polyline_length(points, calibration)
        return Row(
            frame,
            CALIPER_ID,
            "",
            "Caliper",
            "caliper",
            "length",
            measured.value,
            measured.unit,
            source="caliper",
            unit_reason="" if calibration.is_mm else calibration.reason,
        )

    def update_caliper(self, calibration_for: CalibrationFor) -> None:
        """Caption the caliper with its length (after it is drawn or the calibration
        changed)."""
        row = self.caliper_row(0, calibration_for)
        if row is None or self.caliper_points is None:
            return
        start, end = self.caliper_points
        self.caliper_item.set_line(QPointF(*start), QPointF(*end), length_text(row.value, row.unit))
        self.caliper_item.setVisible(True)

    # ------------------------------------------------------------ calibration
    def start_calibration(self) -> None:
        self.line_tool.start(LinePurpose.CALIBRATE)

    def show_calibration(self, manual: ManualCalibration | None) -> None:
        """Draw the manual calibration's line (with its known length), or nothing."""
        self._manual = manual
        if manual is not None:
            (x0, y0), (x1, y1) = manual.line
            self.calibration_item.set_line(
                QPointF(x0, y0), QPointF(x1, y1), f"{manual.length_mm:g} mm (manual calibration)"
            )
        self.calibration_item.setVisible(manual is not None and self._calibration_shown)

    def set_calibration_visible(self, visible: bool) -> None:
        """Follow View > Show Calibration Regions."""
        self._calibration_shown = visible
        self.calibration_item.setVisible(visible and self._manual is not None)

    def reset(self) -> None:
        """A loop closed or switched: no caliper, no line, nothing being drawn."""
        if self.line_tool.active:
            self.line_tool.cancel()
        self.caliper_points = None
        self.caliper_item.setVisible(False)
        self.calibration_item.setVisible(False)
        self._manual = None

    # ------------------------------------------------------------------ lines
    def _on_line_finished(self, purpose: str, start: tuple, end: tuple) -> None:
        if purpose == LinePurpose.CALIPER:
            self.caliper_points = (tuple(start), tuple(end))
            self.caliperChanged.emit()
        elif purpose == LinePurpose.CALIBRATE:
            self.calibrationLineDrawn.emit(tuple(start), tuple(end))
