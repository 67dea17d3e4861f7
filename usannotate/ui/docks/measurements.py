"""The Measurements dock: this frame's measurements, in mm when calibrated, and why not."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations import Row, measure_frame
from usannotate.annotations.hydro import HYDRO_TITLES, frame_hydro_rows
from usannotate.annotations.measurements import MEASUREMENT_TITLES
from usannotate.annotations.rates import frame_rate_rows
from usannotate.ui.docks.curve_data import pretty_unit
from usannotate.ui.state import ViewerState
from usannotate.ui.viewer.marking_tools import ToolController
from usannotate.ui.viewer.measure_tools import MeasureTools


class MeasurementPanel(QWidget):
    """This frame's measurements (the selected mark's first), in mm when calibrated."""

    COLUMNS = ("Mark", "Measurement", "Value", "Unit")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):  # sized to their contents by show_rows
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        self.note = QLabel("No marks on this frame")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)

    def show_rows(
        self,
        rows: list[Row],
        selected: str | None = None,
        names: dict[str, str] | None = None,
        *,
        calibration: str = "dicom",
    ) -> None:
        """Show ``rows`` (one frame's), the selected object's first and highlighted.

        ``calibration`` is where mm come from (``"dicom"`` or ``"manual"``). A mark
        measured in px says why, beside the table and on its rows' tooltips (the
        rows' ``unit_reason``, e.g. "point 1 of 8 is outside region 1").
        """
        ordered = sorted(rows, key=lambda r: (r.object_id != selected, r.label_name, r.object_id))
        why_px = self._fill(ordered, selected, names)
        # Sized to their contents once, after the fill (ResizeToContents sized them on
        # every cell: a frame with 50 marks, hundreds of cells, took ~0.4 s to show).
        for column in (1, 2, 3):
            self.table.resizeColumnToContents(column)
        self._explain(rows, why_px, calibration)

    def _fill(
        self, ordered: list[Row], selected: str | None, names: dict[str, str] | None
    ) -> dict[str, str]:
        """Put ``ordered`` in the table; returns, per mark measured in px, why."""
        self.table.setRowCount(len(ordered))
        why_px: dict[str, str] = {}
        for i, row in enumerate(ordered):
            mark = (names or {}).get(row.object_id) or row.label_name
            name = mark
            if row.source not in ("keyframe", "caliper"):  # a value nobody placed: say so
                mark += f" ({row.source})"
            in_px = row.unit.startswith("px")  # px, px2, px/s, px2/s
            if in_px and row.unit_reason:
                why_px.setdefault(name, row.unit_reason)
            cells = (
                mark,
                MEASUREMENT_TITLES.get(row.measurement)
                or HYDRO_TITLES.get(row.measurement, row.measurement),
                _format_value(row.value, row.unit),
                pretty_unit(row.unit),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if row.object_id == selected:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if in_px and row.unit_reason:
                    item.setToolTip(f"In px: {row.unit_reason}")
                self.table.setItem(i, column, item)
        return why_px

    def _explain(self, rows: list[Row], why_px: dict[str, str], calibration: str) -> None:
        """The note under the table: where mm come from, or why some marks are in px."""
        units = {row.unit for row in rows}
        source = "the manual calibration" if calibration == "manual" else "the DICOM calibration"
        if not rows:
            self.note.setText("No marks on this frame")
        elif why_px and len(why_px) > 1 and len(set(why_px.values())) == 1:
            self.note.setText(f"In px: {next(iter(why_px.values()))}")
        elif why_px:
            lines = [f"{name} in px: {reason}" for name, reason in why_px.items()]
            self.note.setText("\n".join(lines))
        elif any(u.startswith("px") for u in units):
            self.note.setText("No calibration: shown in px")
        else:
            self.note.setText(f"From {source}")


def _format_value(value: float, unit: str) -> str:
    if unit == "deg":
        return f"{value:.1f}"
    if unit in ("mm", "mm2", "mm/s", "mm2/s"):
        return f"{value:.2f}"
    return f"{value:.1f}"


class MeasurementsView(QObject):
    """Keeps ``panel`` showing the frame's measurements (and the caliper's) as the state
    changes; skipped while playing, refreshed when playback stops."""

    def __init__(
        self,
        state: ViewerState,
        panel: MeasurementPanel,
        measure: MeasureTools,
        tools: ToolController | None = None,
    ) -> None:
        super().__init__(state)
        self._state = state
        self._panel = panel
        self._measure = measure
        # A drag in progress (object id, frame, points): measured as it would be.
        self._preview: tuple[str, int, np.ndarray] | None = None
        if tools is not None:
            tools.previewChanged.connect(self._on_preview)
        for signal in (
            state.frameChanged,
            state.marksChanged,
            state.selectionChanged,
            state.sessionChanged,
            state.loopChanged,
            measure.caliperChanged,
        ):
            signal.connect(self.refresh)
        state.playingChanged.connect(lambda playing: None if playing else self.refresh())

    def refresh(self, *_args: object) -> None:
        state = self._state
        if state.loop is None or state.frame < 0:
            self._panel.show_rows([])
            return
        if state.playing:
            return
        annotations = state.annotations
        preview = self._preview
        if annotations is not None and preview is not None and preview[1] == state.frame:
            annotations = annotations.with_points(*preview)
        calibration_for = state.calibration_for()
        rows = measure_frame(annotations, state.frame, calibration_for) if annotations else []
        if annotations:  # plane separation, fluid thickness, insertion depth
            rows += frame_hydro_rows(annotations, state.frame, calibration_for)
            # Spread, area and advance per second, from the frames either side.
            times_s = [float(t) / 1000.0 for t in state.loop.frame_start_times_ms()]
            rows += frame_rate_rows(annotations, state.frame, calibration_for, times_s, rows)
        names = {obj.id: obj.name for obj in annotations.objects if obj.name} if annotations else {}
        caliper = self._measure.caliper_row(state.frame, calibration_for)
        manual = annotations.manual_calibration if annotations is not None else None
        self._panel.show_rows(
            [caliper, *rows] if caliper else rows,
            state.selected,
            names,
            calibration="manual" if manual is not None else "dicom",
        )

    def _on_preview(self, object_id: object, frame: int, points: object) -> None:
        if object_id is None or points is None:
            self._preview = None
        else:
            self._preview = (str(object_id), frame, np.asarray(points))
        self.refresh()
