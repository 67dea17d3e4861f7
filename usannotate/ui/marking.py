"""Choosing what to mark: label keys, the Labels dock, new labels, copied marks, undo, redo.

Label keys and the Labels dock, relabelling, new labels, copying a frame's marks, undo and redo, all
on the viewer state's session.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSignalBlocker
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QWidget,
)

from usannotate.annotations import user_label
from usannotate.annotations.edits import AddLabel, ChangeLabel, copy_frame
from usannotate.ui.docks.labels import LabelPanel
from usannotate.ui.state import ViewerState
from usannotate.ui.viewer.marking_tools import ToolController
from usannotate.ui.viewer.marks import AnnotationLayer

__all__ = ["MarkingController", "ask_new_label"]

#: The shapes a new label may be drawn as, with their names in the dialog.
SHAPE_CHOICES = (
    ("polyline", "Fascial plane (open line)"),
    ("region", "Region (closed outline)"),
    ("point", "Point"),
    ("needle", "Needle (entry to tip)"),
)


def ask_new_label(parent: QWidget) -> tuple[str, str] | None:
    """Ask for a new label's name and shape kind; None when cancelled or left empty."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Add label")
    name = QLineEdit()
    name.setPlaceholderText("e.g. Fascia of serratus anterior")
    kind = QComboBox()
    for value, text in SHAPE_CHOICES:
        kind.addItem(text, value)
    form = QFormLayout(dialog)
    form.addRow("Name", name)
    form.addRow("Drawn as", kind)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted or not name.text().strip():
        return None
    return name.text().strip(), str(kind.currentData())


class MarkingController(QObject):
    """What the label keys, the Labels dock, Copy Marks, Undo and Redo do.

    ``parent`` is the widget dialogs open over.
    """

    def __init__(
        self,
        state: ViewerState,
        tools: ToolController,
        layer: AnnotationLayer,
        labels: LabelPanel,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._tools = tools
        self._layer = layer
        self._labels = labels
        self._parent = parent
        labels.labelChosen.connect(self._on_label_chosen)
        labels.visibilityChanged.connect(self._on_label_visibility)
        labels.addRequested.connect(self.add_label)
        state.sessionChanged.connect(self._on_session_changed)

    def _on_session_changed(self, _session: object) -> None:
        annotations = self._state.annotations
        self._labels.set_label_set(
            annotations.label_set if annotations is not None else None, self._layer.hidden_labels
        )

    # ------------------------------------------------------------------ labels
    def choose_label_key(self, key: str) -> None:
        """A label's key always starts marking with it (relabelling the selected mark is
        a deliberate click in the Labels dock: a key pressed out of habit after
        correcting a mark must not turn it into another structure)."""
        annotations = self._state.annotations
        if annotations is None:
            return
        for label in annotations.label_set:
            if label.shortcut == key:
                with QSignalBlocker(self._labels):  # show the choice, do not relabel
                    self._labels.choose(label.id)
                self.start_marking(label.id)
                return

    def _on_label_chosen(self, label_id: str) -> None:
        """A label clicked in the dock: relabels the selected mark if it can, else marks."""
        if not self._relabel_selection(label_id):
            self.start_marking(label_id)

    def start_marking(self, label_id: str) -> None:
        self._state.set_label(label_id)
        if label_id in self._layer.hidden_labels:  # a mark of a hidden label could not be seen
            self._labels.set_visible(label_id, True)
        self._tools.set_label(label_id)
        self._tools.start_drawing()
        annotations = self._state.annotations
        label = annotations.label_set.get(label_id) if annotations is not None else None
        if label is not None:
            self._state.say(f"Marking: {label.name} ({label.kind.value})", 4000)

    def _relabel_selection(self, label_id: str) -> bool:
        """With a mark selected, a label of the same kind relabels it (one undo step)."""
        state = self._state
        if not state.editable or state.history is None or self._tools.mode != "select":
            return False
        annotations = state.annotations
        assert annotations is not None
        selected = self._tools.selected
        obj = annotations.get(selected) if selected else None
        label = annotations.label_set.get(label_id)
        if obj is None or label is None or label.kind != obj.kind or obj.label_id == label_id:
            return False
        state.history.push(ChangeLabel(obj.id, label_id))
        state.say(f"Relabelled as {label.name}", 4000)
        return True

    def _on_label_visibility(self, label_id: str, visible: bool) -> None:
        if visible:
            self._layer.hidden_labels.discard(label_id)
        else:
            self._layer.hidden_labels.add(label_id)
        self._state.displayChanged.emit()

    def add_label(self) -> None:
        """Ask for a name and kind, and add the label (undoable) to this loop's set."""
        state = self._state
        if not state.editable or state.history is None or state.annotations is None:
            return
        answer = ask_new_label(self._parent)
        if answer is None:
            return
        label_set = state.annotations.label_set
        label = user_label(label_set, *answer)
        state.history.push(AddLabel(label))
        self._labels.set_label_set(label_set, self._layer.hidden_labels)
        self._labels.choose(label.id)

    # ------------------------------------------------------------------- edits
    def undo(self) -> None:
        if self._state.editable and self._state.history is not None:
            self._state.history.undo()

    def redo(self) -> None:
        if self._state.editable and self._state.history is not None:
            self._state.history.redo()

    def copy_marks(self, direction: int) -> None:
        """Copy this frame's marks to the next / previous frame and go there."""
        state = self._state
        loop, annotations = state.loop, state.annotations
        if not state.editable or loop is None or annotations is None or state.history is None:
            return
        target = state.frame + direction
        if not 0 <= target < loop.n_frames:
            return
        if not annotations.on_frame(state.frame):
            state.say("No marks on this frame to copy", 3000)
            return
        state.history.push(copy_frame(annotations, state.frame, target))
        state.request_frame(target)
