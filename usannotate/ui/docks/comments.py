"""The Comments dock: the loop's comments (on the loop, a frame or a track), click to go.

Thin: :meth:`CommentsPanel.show_comments` lists what the model holds; the user's wishes
go out as signals (``goTo(frame, object id)``, ``commentAdded(text, target)``,
``commentRemoved(id)``), which the details controller turns into edits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations.details import Comment

__all__ = ["CommentsPanel"]

#: What a new comment is about (the combo box's data).
TARGETS = (("frame", "This frame"), ("track", "Selected mark"), ("loop", "The loop"))


class CommentsPanel(QWidget):
    """The comments, newest last, and a line to add one (Enter adds it)."""

    goTo = Signal(object, object)  # frame or None, object id or None
    commentAdded = Signal(str, str)  # text, target ("frame", "track", "loop")
    commentRemoved = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Add a comment (Enter)")
        self.text.returnPressed.connect(self._add)
        self.target = QComboBox()
        self.target.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.target.setMinimumContentsLength(6)
        for data, title in TARGETS:
            self.target.addItem(title, data)
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Remove the chosen comment (undoable)")
        self.remove.clicked.connect(self._remove)
        row = QHBoxLayout()
        row.addWidget(self.target)
        row.addWidget(self.remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.text)
        layout.addLayout(row)

    def show_comments(self, comments: Sequence[Comment], where: Callable[[Comment], str]) -> None:
        """List ``comments``; ``where(comment)`` says what it is on ("Frame 12",
        "Needle, frame 3", "Loop")."""
        current = self.list.currentItem()
        chosen = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.list.clear()
        for comment in comments:
            author = f" — {comment.author}" if comment.author else ""
            when = comment.time.replace("T", " ").replace("Z", " UTC")
            item = QListWidgetItem(f"{where(comment)}: {comment.text}{author}, {when}")
            item.setData(Qt.ItemDataRole.UserRole, comment.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, (comment.frame, comment.object_id))
            item.setToolTip("Click to go there")
            self.list.addItem(item)
            if comment.id == chosen:
                self.list.setCurrentItem(item)
        self.remove.setEnabled(bool(comments))

    def _activated(self, item: QListWidgetItem) -> None:
        frame, object_id = item.data(Qt.ItemDataRole.UserRole + 1)
        self.goTo.emit(frame, object_id)

    def _add(self) -> None:
        text = self.text.text().strip()
        if text:
            self.commentAdded.emit(text, self.target.currentData())

    def _remove(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.commentRemoved.emit(item.data(Qt.ItemDataRole.UserRole))
