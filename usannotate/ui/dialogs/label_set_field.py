"""The label-set choice of Preferences and the welcome: a file, or the built-in set."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from usannotate.annotations import LabelSetError, load_label_set


class LabelSetField(QWidget):
    """A read-only path with Choose… and Built-in; :attr:`problem` (placed by the dialog,
    hidden until needed) says why a chosen file was refused, and the old choice stays."""

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLineEdit(path)
        self.line.setReadOnly(True)
        self.line.setPlaceholderText("Built-in: hydrodissection and trigger points")
        self.line.setToolTip(
            "The labels new sidecars start with. A labels.usannotate.json in the loop's "
            "folder (or one of its two parents) still wins for that project."
        )
        choose = QPushButton("Choose…")
        choose.setToolTip("Use a label-set file of your own")
        choose.clicked.connect(self._choose)
        built_in = QPushButton("Built-in")
        built_in.setToolTip("Use the bundled hydrodissection label set")
        built_in.clicked.connect(lambda: self.line.setText(""))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.line, 1)
        row.addWidget(choose)
        row.addWidget(built_in)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020")
        self.problem.hide()

    @property
    def path(self) -> str:
        """The chosen file ("" for the built-in set)."""
        return self.line.text()

    def _choose(self) -> None:
        start = self.line.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a label set", start, "Label sets (*.json);;All files (*)"
        )
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> bool:
        """Use the label-set file ``path`` if it is valid; else say why and keep the old."""
        try:
            load_label_set(path)
        except LabelSetError as exc:
            self.problem.setText(f"Not a usable label set: {exc}")
            self.problem.show()
            return False
        self.problem.hide()
        self.line.setText(path)
        return True
