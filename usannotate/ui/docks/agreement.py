"""The Agreement dock: two raters' figures for the open loop, worst frames first.

Thin: the figures are :func:`usannotate.team.agreement.compare`'s (the numbers of
``usannotate agreement``), ranked by :func:`usannotate.team.agreement_rank.worst_frames`;
the panel lists them and says which frame the user asked for.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from usannotate.team.agreement import AgreementReport
from usannotate.team.agreement_rank import KEY_MEASUREMENTS, worst_frames

__all__ = ["AgreementPanel"]

_SHORT = {
    "tip_error": "tip",
    "tip_error_lateral": "lateral",
    "tip_error_axial": "axial",
    "angle_difference": "angle",
    "mean_distance": "mean dist.",
    "hausdorff_95": "HD95",
    "dice": "Dice",
    "iou": "IoU",
    "distance": "distance",
}
#: Rows listed at most (the worst ones; a long loop has thousands).
MAX_ROWS = 500
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _figure(measurement: str, value: float, unit: str) -> str:
    if unit in ("", "ratio"):
        return f"{_SHORT.get(measurement, measurement)} {value:.2f}"
    return f"{_SHORT.get(measurement, measurement)} {value:.2f} {unit}"


class AgreementPanel(QWidget):
    """Whom to compare (two rater lists), a summary line and the frames, worst first.

    Signals
    -------
    frameRequested(int)
        The user clicked a row: show that frame (0-based).
    pairChanged()
        Another rater was chosen in either list.
    """

    frameRequested = Signal(int)
    pairChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rater_a = QComboBox(self)
        self.rater_b = QComboBox(self)
        for combo in (self.rater_a, self.rater_b):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(lambda _i: self.pairChanged.emit())
        pick = QHBoxLayout()
        pick.addWidget(self.rater_a)
        pick.addWidget(QLabel("vs", self))
        pick.addWidget(self.rater_b)
        pick.addStretch(1)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Frame", "Track", "Apart", "Also"])
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)  # cut with "…"; the whole text in the tooltip
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.cellClicked.connect(self._on_clicked)
        self.table.cellActivated.connect(self._on_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(pick)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.show_report(None, "Open a loop with another rater's sidecar to compare.")

    # ------------------------------------------------------------- raters
    def set_raters(self, first: list[tuple[str, str]], second: list[tuple[str, str]]) -> None:
        """The two lists' choices as ``(text, rater)``, keeping each list's choice (the
        second list starts on a rater other than the first's)."""
        for combo, items in ((self.rater_a, first), (self.rater_b, second)):
            chosen = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for text, rater in items:
                combo.addItem(text, rater)
            index = combo.findData(chosen)
            taken = self.rater_a.currentData() if combo is self.rater_b else None
            if index < 0 or (taken is not None and chosen == taken):
                index = next((i for i, (_t, r) in enumerate(items) if r != taken), 0)
            combo.setCurrentIndex(index)
            combo.blockSignals(False)

    def pair(self) -> tuple[str | None, str | None]:
        """The two raters chosen (None where a list is empty)."""
        return self.rater_a.currentData(), self.rater_b.currentData()

    # ------------------------------------------------------------- figures
    def show_report(self, report: AgreementReport | None, note: str = "") -> None:
        """List ``report``'s frames, worst first (``note`` instead when None)."""
        self.table.setRowCount(0)
        if report is None:
            self.summary.setText(note)
            return
        frames = worst_frames(report)
        lines = []
        for entry in report.summary:  # the key figure of each pair of tracks, and Dice
            if entry.mean is None or entry.measurement is None:
                continue
            if entry.measurement not in (*KEY_MEASUREMENTS, "dice"):
                continue
            line = (
                f"{entry.label_id}: {_figure(entry.measurement, entry.mean, entry.unit or '')}"
                f" mean, max {entry.max:.2f}"
            )
            only = entry.frames_only_a + entry.frames_only_b
            if only and entry.measurement in KEY_MEASUREMENTS:
                line += f" ({only} frame{'s' if only != 1 else ''} one rater only)"
            lines.append(line)
        text = "\n".join(lines) or "No track both raters marked on a common frame."
        if report.unit_reason:
            text += f"\nLengths in {report.length_unit}: {report.unit_reason}"
        self.summary.setText(text)
        shown = frames[:MAX_ROWS]
        self.table.setRowCount(len(shown))
        for row, entry in enumerate(shown):
            frame = QTableWidgetItem(str(entry.frame + 1))
            frame.setData(Qt.ItemDataRole.UserRole, entry.frame)
            frame.setTextAlignment(_RIGHT)
            also = ", ".join(_figure(m, v, u) for m, (v, u) in entry.others.items())
            cells = [
                frame,
                QTableWidgetItem(entry.label_id),
                QTableWidgetItem(_figure(entry.measurement, entry.value, entry.unit)),
                QTableWidgetItem(also),
            ]
            cells[3].setToolTip(also)
            for column, cell in enumerate(cells):
                self.table.setItem(row, column, cell)

    def listed_frames(self) -> list[int]:
        """The frames in the table, top to bottom (0-based)."""
        return [
            self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
            for row in range(self.table.rowCount())
        ]

    @Slot(int, int)
    def _on_clicked(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.frameRequested.emit(int(item.data(Qt.ItemDataRole.UserRole)))
