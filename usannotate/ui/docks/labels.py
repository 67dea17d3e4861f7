"""The Labels dock: the loop's label set (pick one to mark with, show / hide, add)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations import LabelSet


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
