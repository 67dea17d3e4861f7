"""Editors for detail fields: the Case dock's form and the selected mark's attributes.

Each field gets one keyboard-friendly editor (a combo box for a choice or yes/no, a line
edit for a number or text); a value is handed on when the editor is left or a choice is
picked, as ``(field id, value)``; a value the field refuses is shown beside the form and
changes nothing. The widgets hold no state of their own: :meth:`show_values` puts the
model's values back (signals blocked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations.details import DetailError, FieldDef, FieldType

__all__ = ["FieldForm"]


def _shown(value: str) -> str:
    return value.replace("_", " ")


class FieldForm(QWidget):
    """A form of :class:`FieldDef` editors; ``valueEdited(field_id, value)`` when the
    user changes one (value None: cleared)."""

    valueEdited = Signal(str, object)

    def __init__(self, empty_text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: list[FieldDef] = []
        self._editors: dict[str, QWidget] = {}
        self._form = QFormLayout()
        self._form.setContentsMargins(0, 0, 0, 0)
        # Fields as wide as the dock allows (a narrow dock: each under its title).
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        self.error.hide()
        self.empty = QLabel(empty_text)
        self.empty.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.empty)
        layout.addLayout(self._form)
        layout.addWidget(self.error)
        layout.addStretch(1)

    # ------------------------------------------------------------ building
    def set_fields(self, fields: Sequence[FieldDef]) -> None:
        """Editors for ``fields`` (the old ones removed), in order (Tab goes down)."""
        if list(fields) == self._fields:
            return
        while self._form.rowCount():
            self._form.removeRow(0)
        self._fields = list(fields)
        self._editors = {}
        for f in self._fields:
            editor = self._editor(f)
            editor.setObjectName(f"field_{f.id}")
            editor.setToolTip(f"{f.title}: {f.allowed()}")
            self._editors[f.id] = editor
            title = f.title + (f" ({f.unit})" if f.unit and f.type is FieldType.NUMBER else "")
            self._form.addRow(title, editor)
        self.empty.setVisible(not self._fields)
        self.error.hide()

    def _editor(self, f: FieldDef) -> QWidget:
        if f.type in (FieldType.CHOICE, FieldType.YES_NO):
            combo = QComboBox()
            # Not as wide as its longest choice: the dock must not narrow the image.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(6)
            combo.addItem("", None)
            choices = ("yes", "no") if f.type is FieldType.YES_NO else f.choices
            for choice in choices:
                combo.addItem(_shown(choice), choice)
            if f.free_text:
                combo.setEditable(True)
                combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
                combo.lineEdit().editingFinished.connect(lambda f=f, c=combo: self._typed(f, c))
            combo.activated.connect(lambda index, f=f, c=combo: self._picked(f, c, index))
            return combo
        line = QLineEdit()
        if f.type is FieldType.NUMBER:
            line.setPlaceholderText(f.allowed())
        line.editingFinished.connect(lambda f=f, e=line: self._edited(f, e.text()))
        return line

    # ------------------------------------------------------------ values
    def editor(self, field_id: str) -> QWidget:
        """The editor of ``field_id`` (tests and focus)."""
        return self._editors[field_id]

    def first_editor(self) -> QWidget | None:
        return self._editors[self._fields[0].id] if self._fields else None

    def show_values(self, values: Mapping[str, Any]) -> None:
        """Show the model's ``values`` (editors not emitting meanwhile)."""
        for f in self._fields:
            editor = self._editors[f.id]
            value = values.get(f.id)
            with QSignalBlocker(editor):
                if isinstance(editor, QComboBox):
                    data = ("yes" if value else "no") if isinstance(value, bool) else value
                    index = editor.findData(data) if data is not None else 0
                    if index >= 0:
                        editor.setCurrentIndex(index)
                    elif editor.isEditable():
                        editor.setEditText(str(data))
                else:
                    text = "" if value is None else _number_or_text(value)
                    if editor.text() != text:
                        editor.setText(text)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def _picked(self, f: FieldDef, combo: QComboBox, index: int) -> None:
        value = combo.itemData(index)
        if f.type is FieldType.YES_NO and value is not None:
            value = value == "yes"
        self._emit(f, value)

    def _typed(self, f: FieldDef, combo: QComboBox) -> None:
        text = combo.currentText().strip()
        match = next((c for c in f.choices if _shown(c) == text or c == text), None)
        self._emit(f, match if match is not None else (text or None))

    def _edited(self, f: FieldDef, text: str) -> None:
        self._emit(f, text.strip() or None)

    def _emit(self, f: FieldDef, value: object) -> None:
        try:
            checked = f.check(value)
        except DetailError as exc:
            self.show_error(str(exc))
            return
        self.show_error("")
        self.valueEdited.emit(f.id, checked)


def _number_or_text(value: object) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)
