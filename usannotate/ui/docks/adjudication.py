"""The Adjudication dock: the raters' tracks, a frame range, and what to take for it.

Thin: it lists :class:`usannotate.team.adjudication.TrackGroup`s and says what the user
asked for (accept a rater's version, average, edit the result); the controller
(:mod:`usannotate.ui.adjudication`) makes the edits.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations import Annotations, ShapeKind
from usannotate.annotations.details import Comment
from usannotate.team.adjudication import ADJUDICATION_KEY, TrackGroup

__all__ = ["AdjudicationPanel"]


def _origin_text(entries: object) -> str:
    """``accepted alice 1–20; averaged 21–30`` (frames 1-based, as the window shows them)."""
    if not isinstance(entries, list) or not entries:
        return "—"
    parts = []
    for e in entries:
        if not isinstance(e, dict):
            continue
        who = "+".join(e.get("raters", [])) or "adjudicator"
        parts.append(
            f"{e.get('how')} {who} {e.get('first_frame', 0) + 1}–{e.get('last_frame', 0) + 1}"
        )
    return "; ".join(parts)


class AdjudicationPanel(QWidget):
    """The groups of tracks, the frame range and the actions.

    Signals
    -------
    acceptRequested(str)
        Accept this rater's version of the chosen track on the range.
    averageRequested()
        Average the raters' versions on the range.
    editRequested()
        Select the result's track to edit it with the usual tools.
    groupChosen()
        Another track was chosen (the range follows it).
    frameRequested(int)
        A rater's comment on a frame was clicked: go there (0-based).
    """

    acceptRequested = Signal(str)
    averageRequested = Signal()
    editRequested = Signal()
    groupChosen = Signal()
    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.groups: list[TrackGroup] = []
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Track", "Raters", "Result"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self.groupChosen)
        self.first = QSpinBox(self)
        self.last = QSpinBox(self)
        for box in (self.first, self.last):
            box.setMinimum(1)
        frames = QHBoxLayout()
        frames.addWidget(QLabel("Frames", self))
        frames.addWidget(self.first)
        frames.addWidget(QLabel("to", self))
        frames.addWidget(self.last)
        frames.addStretch(1)
        self.buttons = QGridLayout()
        self.accept_buttons: dict[str, QPushButton] = {}
        self.average_button = QPushButton("Average", self)
        self.average_button.setToolTip(
            "The raters' mean on every frame of the range (needles, points)"
        )
        self.average_button.clicked.connect(self.averageRequested)
        self.edit_button = QPushButton("Edit result", self)
        self.edit_button.setToolTip("Select the result's track to change it with the usual tools")
        self.edit_button.clicked.connect(self.editRequested)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        # What the raters wrote on the chosen track, its frames and the loop.
        self.comments = QListWidget(self)
        self.comments.setToolTip(
            "The raters' comments on this track, on frames and on the loop: click one on a "
            "frame to go there. Accepting a rater's version carries their comments on it."
        )
        self.comments.setWordWrap(True)
        self.comments.itemActivated.connect(self._comment_chosen)
        self.comments.itemClicked.connect(self._comment_chosen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel("Raters' comments", self))
        layout.addWidget(self.comments, 1)
        layout.addLayout(frames)
        layout.addLayout(self.buttons)
        layout.addWidget(self.note)

    def set_raters(self, raters: list[str]) -> None:
        """One Accept button per rater, then Average and Edit result."""
        for button in self.accept_buttons.values():
            self.buttons.removeWidget(button)
            button.deleteLater()
        self.accept_buttons = {}
        for i, rater in enumerate(raters):
            button = QPushButton(f"Accept {rater}", self)
            button.setToolTip(f"Take {rater}'s version of this track on the frames chosen")
            button.clicked.connect(lambda _checked=False, r=rater: self.acceptRequested.emit(r))
            self.accept_buttons[rater] = button
            self.buttons.addWidget(button, i // 2, i % 2)
        row = (len(raters) + 1) // 2
        self.buttons.addWidget(self.average_button, row, 0)
        self.buttons.addWidget(self.edit_button, row, 1)

    def set_groups(
        self, groups: list[TrackGroup], result: Annotations | None, n_frames: int
    ) -> None:
        """List ``groups`` (what each rater has, where the result came from), keeping the
        chosen row."""
        chosen = self.table.currentRow()
        self.groups = list(groups)
        self.table.blockSignals(True)
        self.table.setRowCount(len(groups))
        for row, group in enumerate(groups):
            obj = result.get(group.result_id) if result is not None else None
            origin = _origin_text(obj.extra.get(ADJUDICATION_KEY)) if obj is not None else "—"
            cells = [
                QTableWidgetItem(group.key),
                QTableWidgetItem(", ".join(group.members)),
                QTableWidgetItem(origin),
            ]
            cells[2].setToolTip(origin)
            for column, cell in enumerate(cells):
                self.table.setItem(row, column, cell)
        self.table.blockSignals(False)
        for box in (self.first, self.last):
            box.setMaximum(max(n_frames, 1))
        if groups:
            self.table.selectRow(min(max(chosen, 0), len(groups) - 1))

    def set_comments(self, comments: list[tuple[str, Comment]]) -> None:
        """List ``(rater, comment)`` as "rater · frame N: text" (frames 1-based)."""
        self.comments.clear()
        for rater, comment in comments:
            where = "loop" if comment.frame is None else f"frame {comment.frame + 1}"
            item = QListWidgetItem(f"{rater} · {where}: {comment.text}")
            item.setData(Qt.ItemDataRole.UserRole, comment.frame)
            item.setToolTip(f"{comment.author or rater}, {comment.time}")
            self.comments.addItem(item)
        if not comments:
            empty = QListWidgetItem("No comment from the raters here")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.comments.addItem(empty)

    @Slot(QListWidgetItem)
    def _comment_chosen(self, item: QListWidgetItem) -> None:
        frame = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(frame, int):
            self.frameRequested.emit(frame)

    def current_group(self) -> TrackGroup | None:
        """The track chosen (None when there is none)."""
        row = self.table.currentRow()
        return self.groups[row] if 0 <= row < len(self.groups) else None

    def frame_range(self) -> tuple[int, int]:
        """The range chosen, 0-based, first and last included."""
        return self.first.value() - 1, self.last.value() - 1

    def set_frame_range(self, first: int, last: int) -> None:
        """Show the 0-based range ``first..last``."""
        self.first.setValue(first + 1)
        self.last.setValue(last + 1)

    @Slot()
    def update_buttons(self) -> None:
        """Accept only for raters with the chosen track; Average only for needles and points."""
        group = self.current_group()
        for rater, button in self.accept_buttons.items():
            button.setEnabled(group is not None and rater in group.members)
        averaged = group is not None and group.kind in (ShapeKind.NEEDLE, ShapeKind.POINT)
        self.average_button.setEnabled(averaged and len(group.members) >= 2)
        self.edit_button.setEnabled(group is not None)
