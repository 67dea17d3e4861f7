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
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from usannotate.annotations import Row
from usannotate.annotations.edits import SetManualCalibration
from usannotate.annotations.measurements import polyline_length
from usannotate.cine.calibration import Calibration, ManualCalibration
from usannotate.ui.state import ViewerState
from usannotate.ui.viewer.line_tool import LINE_COLOURS, LineItem, LinePurpose, LineTool
from usannotate.ui.viewer.view import CineView

__all__ = ["CALIPER_ID", "MeasureController", "MeasureTools", "length_text"]

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


class MeasureController(QObject):
    """The Measure menu's flows on the viewer state: the caliper's caption and status
    text, Calibrate… (ask the drawn line's length, push the calibration) and Remove Manual
    Calibration, and the view's calibration note following the loop's calibration.

    ``parent`` is the widget dialogs open over.
    """

    def __init__(
        self, state: ViewerState, tools: MeasureTools, view: CineView, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self._state = state
        self.tools = tools
        self._view = view
        self._parent = parent
        #: Follows whether the loop has a manual calibration (the window's menu action).
        self.remove_action: QAction | None = None
        tools.caliperChanged.connect(self._on_caliper_changed)
        tools.calibrationLineDrawn.connect(self.calibrate_with_line)
        tools.statusMessage.connect(lambda text: state.say(text, 8000))
        state.loopChanged.connect(lambda _loop: tools.reset())
        state.marksChanged.connect(self.show_calibration_state)
        state.sessionChanged.connect(lambda _session: self.show_calibration_state())

    def _on_caliper_changed(self) -> None:
        if self._state.loop is None:
            return
        calibration_for = self._state.calibration_for()
        self.tools.update_caliper(calibration_for)
        row = self.tools.caliper_row(self._state.frame, calibration_for)
        if row is not None:
            self._state.say(
                f"Caliper: {length_text(row.value, row.unit)} (Ctrl+M measures again, "
                "Ctrl+Shift+M clears)",
                8000,
            )

    def start_calibration(self) -> None:
        """Measure > Calibrate: draw the line; its length is asked when it is drawn."""
        if not self._state.editable or self._state.loop is None:
            self._state.say("Open a loop that can be marked to calibrate it", 4000)
            return
        self.tools.start_calibration()

    def calibrate_with_line(self, start: tuple, end: tuple) -> None:
        """Ask the drawn line's length in mm and set the manual calibration (undoable)."""
        state = self._state
        loop, history = state.loop, state.history
        if not state.editable or loop is None or history is None:
            return
        line_px = float(np.hypot(end[0] - start[0], end[1] - start[1]))
        current = loop.calibration_for_points([start, end])
        note = (
            f"\n\nThis file has its own calibration ({current.mm_per_px_x:.4f} mm/px); "
            "the manual one replaces it for every measurement of this loop."
            if current.is_mm
            else ""
        )
        length_mm, ok = QInputDialog.getDouble(
            self._parent,
            "Calibrate",
            f"The line is {line_px:.1f} px long. How long is it on the scale, in mm?{note}",
            10.0,
            0.01,
            10_000.0,
            2,
        )
        if not ok:
            state.say("Calibration cancelled", 4000)
            return
        try:
            manual = ManualCalibration.from_line((start, end), length_mm)
        except ValueError as exc:
            QMessageBox.warning(self._parent, "Not calibrated", str(exc))
            return
        history.push(SetManualCalibration(manual))
        state.say(
            f"Calibrated: {manual.mm_per_px:.4f} mm/px from a {length_mm:g} mm line "
            "(Ctrl+Z undoes it)",
            8000,
        )

    def remove_calibration(self) -> None:
        """Back to the DICOM calibration (undoable)."""
        state = self._state
        if not state.editable or state.history is None or state.annotations is None:
            return
        if state.annotations.manual_calibration is None:
            state.say("This loop has no manual calibration", 4000)
            return
        state.history.push(SetManualCalibration(None))
        state.say("Manual calibration removed (Ctrl+Z puts it back)", 6000)

    def show_calibration_state(self) -> None:
        """The view, the caliper and the menu follow the manual calibration."""
        annotations = self._state.annotations
        manual = annotations.manual_calibration if annotations is not None else None
        self._view.set_manual_calibration(manual.mm_per_px if manual is not None else None)
        self.tools.show_calibration(manual)
        if self.remove_action is not None:
            self.remove_action.setEnabled(manual is not None)
        if self._state.loop is not None:
            self.tools.update_caliper(self._state.calibration_for())
