"""Docked panels for marking: the label set (pick, show / hide, add) and measurements."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations import LabelSet, Row
from usannotate.annotations.measurements import MEASUREMENT_TITLES


def _swatch(colour: str, border: QColor) -> QIcon:
    """A label's colour as a square with a ``border`` (the list's text colour, softened):
    without it the needle's white vanished on a light dock, black on a dark one."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    painter = QPainter(pixmap)
    edge = QColor(border)
    edge.setAlpha(170)
    painter.setPen(QPen(edge, 1))
    painter.drawRect(0, 0, 13, 13)
    painter.end()
    return QIcon(pixmap)


class LabelPanel(QWidget):
    """The loop's labels: click (or press its number) to mark with it; untick to hide.

    Signals
    -------
    labelChosen(str)
        The label the next mark gets.
    visibilityChanged(str, bool)
        A label's marks shown or hidden (display only).
    addRequested()
        The user wants a new label (e.g. a named fascial plane).
    """

    labelChosen = Signal(str)
    visibilityChanged = Signal(str, bool)
    addRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip(
            "Click a label (or press its number) to mark with it; untick to hide its marks"
        )
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_item_changed)
        self.add_button = add = QPushButton("Add label…")
        add.setToolTip("Add a label to this loop's label set (e.g. a named fascial plane)")
        add.clicked.connect(self.addRequested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(add)
        layout.addLayout(row)
        self._filling = False

    def set_label_set(self, label_set: LabelSet | None, hidden: set[str] | None = None) -> None:
        self._filling = True
        current = self.current_label()
        self.list.clear()
        border = self.list.palette().color(QPalette.ColorRole.Text)
        for label in label_set or []:
            key = f"[{label.shortcut}] " if label.shortcut else ""
            item = QListWidgetItem(
                _swatch(label.colour, border), f"{key}{label.name}  ·  {label.kind.value}"
            )
            item.setData(Qt.ItemDataRole.UserRole, label.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            visible = not hidden or label.id not in hidden
            item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
            item.setToolTip(label.description or label.name)
            self.list.addItem(item)
            if label.id == current:
                self.list.setCurrentItem(item)
        self._filling = False

    def set_visible(self, label_id: str, visible: bool) -> None:
        """Tick or untick a label (emits visibilityChanged like a click would)."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == label_id:
                item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def current_label(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def choose(self, label_id: str) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == label_id:
                self.list.setCurrentItem(item)
                return

    def _on_current(self, item: QListWidgetItem | None) -> None:
        if item is not None and not self._filling:
            self.labelChosen.emit(item.data(Qt.ItemDataRole.UserRole))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if not self._filling:
            visible = item.checkState() == Qt.CheckState.Checked
            self.visibilityChanged.emit(item.data(Qt.ItemDataRole.UserRole), visible)


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
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
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
        self.table.setRowCount(len(ordered))
        why_px: dict[str, str] = {}
        for i, row in enumerate(ordered):
            mark = (names or {}).get(row.object_id) or row.label_name
            name = mark
            if row.source not in ("keyframe", "caliper"):  # a value nobody placed: say so
                mark += f" ({row.source})"
            in_px = row.unit in ("px", "px2")
            if in_px and row.unit_reason:
                why_px.setdefault(name, row.unit_reason)
            cells = (
                mark,
                MEASUREMENT_TITLES.get(row.measurement, row.measurement),
                _format_value(row.value, row.unit),
                row.unit,
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
        units = {row.unit for row in rows}
        source = "the manual calibration" if calibration == "manual" else "the DICOM calibration"
        if not rows:
            self.note.setText("No marks on this frame")
        elif why_px and len(why_px) > 1 and len(set(why_px.values())) == 1:
            self.note.setText(f"In px: {next(iter(why_px.values()))}")
        elif why_px:
            lines = [f"{name} in px: {reason}" for name, reason in why_px.items()]
            self.note.setText("\n".join(lines))
        elif units & {"px", "px2"}:
            self.note.setText("No calibration: shown in px")
        else:
            self.note.setText(f"From {source}")


def _format_value(value: float, unit: str) -> str:
    if unit == "deg":
        return f"{value:.1f}"
    if unit in ("mm", "mm2"):
        return f"{value:.2f}"
    return f"{value:.1f}"
