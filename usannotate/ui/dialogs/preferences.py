"""Preferences kept between sessions (QSettings): who annotates, with which labels, how.

:class:`Preferences` is a plain dataclass read from and written to ``QSettings`` under
``preferences/``; :class:`PreferencesDialog` edits a copy and hands it back only when
the user presses OK, so a cancelled dialog changes nothing. :func:`ask_annotator` asks
for the annotator's name once (the first save), so sidecars do not carry the operating
system's account name (often ``root`` on shared workstations).
"""

from __future__ import annotations

import dataclasses
import getpass
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations import LabelSet, LabelSetError, default_label_set, load_label_set
from usannotate.ui.dialogs.label_set_field import LabelSetField

__all__ = [
    "AUTOSAVE_RANGE_S",
    "CAPTION_RANGE_PT",
    "HANDLE_RANGE_PX",
    "Preferences",
    "PreferencesDialog",
    "ask_annotator",
]

_GROUP = "preferences"
#: Bounds the dialog allows (and values read from a hand-edited settings file are kept to).
AUTOSAVE_RANGE_S = (5, 600)
CAPTION_RANGE_PT = (6.0, 24.0)
HANDLE_RANGE_PX = (4.0, 20.0)
#: Longest annotator name kept (the sidecar shows it in every file).
MAX_ANNOTATOR_LENGTH = 64


def _clamped(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


@dataclass
class Preferences:
    """What the user chose once and every loop uses.

    Attributes
    ----------
    annotator
        Name or initials written into new sidecars as the annotator ("" until asked).
    annotator_asked
        Whether the name was asked for already (asked once, even if left empty).
    label_set_path
        A label-set file (``resources/labels`` format) new sidecars start with when the
        loop's folder has no ``labels.usannotate.json``; "" for the bundled set.
    autosave_interval_s
        How often unsaved marks go to the recovery file, in seconds.
    caption_point_size
        Size of the captions beside the marks, in points.
    handle_size_px
        Side of a vertex handle of the selected mark, in screen pixels.
    annotation_folder
        Where sidecars go when a loop's folder cannot be written (a read-only archive),
        mirroring the archive's tree; "" for none (a project's ``usannotate.toml`` wins).
    """

    annotator: str = ""
    annotator_asked: bool = False
    label_set_path: str = ""
    autosave_interval_s: int = 30
    caption_point_size: float = 9.5
    handle_size_px: float = 7.0
    annotation_folder: str = ""

    @classmethod
    def load(cls, settings: QSettings | None = None) -> Preferences:
        """The saved preferences (defaults for anything missing or unreadable)."""
        settings = settings or QSettings()
        defaults = cls()
        values = {}
        for f in dataclasses.fields(cls):
            raw = settings.value(f"{_GROUP}/{f.name}", None)
            default = getattr(defaults, f.name)
            values[f.name] = _coerce(raw, default)
        prefs = cls(**values)
        prefs.autosave_interval_s = int(_clamped(prefs.autosave_interval_s, AUTOSAVE_RANGE_S))
        prefs.caption_point_size = _clamped(prefs.caption_point_size, CAPTION_RANGE_PT)
        prefs.handle_size_px = _clamped(prefs.handle_size_px, HANDLE_RANGE_PX)
        prefs.annotator = prefs.annotator.strip()[:MAX_ANNOTATOR_LENGTH]
        return prefs

    def save(self, settings: QSettings | None = None) -> None:
        settings = settings or QSettings()
        for f in dataclasses.fields(self):
            settings.setValue(f"{_GROUP}/{f.name}", getattr(self, f.name))
        settings.sync()

    def label_set(self) -> LabelSet:
        """The label set new sidecars start with (outside a project folder).

        Raises
        ------
        LabelSetError
            The chosen file is missing or not a valid label set.
        """
        if self.label_set_path:
            return load_label_set(self.label_set_path)
        return default_label_set()


def _coerce(raw: object, default: object) -> object:
    """A QSettings value (strings in INI files) as the type of ``default``."""
    if raw is None:
        return default
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
        if isinstance(default, int):
            return int(float(str(raw)))
        if isinstance(default, float):
            return float(str(raw))
    except ValueError:
        return default
    return str(raw)


def system_user() -> str:
    """The operating system's account name, offered as a first suggestion only."""
    try:
        return getpass.getuser()
    except Exception:  # no user database (containers)
        return ""


def ask_annotator(parent: QWidget | None, prefs: Preferences) -> Preferences:
    """Ask for the annotator's name once; returns the preferences with the answer saved.

    Cancelling keeps the name empty and is not asked again (it can be set any time in
    Edit > Preferences).
    """
    if prefs.annotator or prefs.annotator_asked:
        return prefs
    suggestion = system_user()
    if suggestion in ("root", "admin", "administrator", "user"):
        suggestion = ""
    name, ok = QInputDialog.getText(
        parent,
        "Who is annotating?",
        "Your name or initials, written into each sidecar you save as its annotator\n"
        "(change it any time in Edit > Preferences):",
        QLineEdit.EchoMode.Normal,
        suggestion,
    )
    prefs = dataclasses.replace(prefs, annotator_asked=True)
    if ok:
        prefs.annotator = name.strip()[:MAX_ANNOTATOR_LENGTH]
    prefs.save()
    return prefs


class PreferencesDialog(QDialog):
    """Edit a copy of the preferences; :attr:`preferences` holds the result after OK."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.preferences = dataclasses.replace(prefs)

        self.annotator = QLineEdit(prefs.annotator)
        self.annotator.setMaxLength(MAX_ANNOTATOR_LENGTH)
        self.annotator.setPlaceholderText("e.g. A. Sonographer or AS")
        self.annotator.setToolTip("Written into every sidecar you save, as its annotator")

        self.label_set_field = LabelSetField(prefs.label_set_path)
        self.label_set_path = self.label_set_field.line
        self.set_label_set_path = self.label_set_field.set_path

        self.autosave = QSpinBox()
        self.autosave.setRange(*AUTOSAVE_RANGE_S)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(prefs.autosave_interval_s)
        self.autosave.setToolTip("How often unsaved marks are kept in a recovery file")

        self.caption_size = QDoubleSpinBox()
        self.caption_size.setRange(*CAPTION_RANGE_PT)
        self.caption_size.setSingleStep(0.5)
        self.caption_size.setDecimals(1)
        self.caption_size.setSuffix(" pt")
        self.caption_size.setValue(prefs.caption_point_size)
        self.caption_size.setToolTip("Text size of the captions beside the marks")

        self.handle_size = QDoubleSpinBox()
        self.handle_size.setRange(*HANDLE_RANGE_PX)
        self.handle_size.setSingleStep(1.0)
        self.handle_size.setDecimals(0)
        self.handle_size.setSuffix(" px")
        self.handle_size.setValue(prefs.handle_size_px)
        self.handle_size.setToolTip("Size of the point handles of the selected mark")

        self.annotation_folder = QLineEdit(prefs.annotation_folder)
        self.annotation_folder.setPlaceholderText("None: read-only archives cannot be marked")
        self.annotation_folder.setToolTip(
            "Where sidecars go when a loop's folder cannot be written (a read-only archive, "
            "a disc, a PACS export), in a tree mirroring the archive's. A project's "
            "usannotate.toml may name its own."
        )
        choose_folder = QPushButton("Choose…")
        choose_folder.clicked.connect(self._choose_annotation_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.annotation_folder, 1)
        folder_row.addWidget(choose_folder)

        form = QFormLayout()
        form.addRow("Annotator", self.annotator)
        form.addRow("Default label set", self.label_set_field)
        form.addRow("Autosave every", self.autosave)
        form.addRow("Caption size", self.caption_size)
        form.addRow("Handle size", self.handle_size)
        form.addRow("Annotation folder", folder_row)
        self.problem = self.label_set_field.problem
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def _choose_annotation_folder(self) -> None:
        start = self.annotation_folder.text() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Annotation folder", start)
        if path:
            self.annotation_folder.setText(path)

    def accept(self) -> None:
        self.preferences = Preferences(
            annotator=self.annotator.text().strip(),
            annotator_asked=True,
            label_set_path=self.label_set_path.text(),
            autosave_interval_s=self.autosave.value(),
            caption_point_size=self.caption_size.value(),
            handle_size_px=self.handle_size.value(),
            annotation_folder=self.annotation_folder.text().strip(),
        )
        super().accept()


def warn_label_set(parent: QWidget | None, exc: LabelSetError) -> None:
    """Say that the preferred label set could not be read (the bundled one is used)."""
    QMessageBox.warning(
        parent,
        "Label set not used",
        f"{exc}\n\nNew sidecars start with the built-in label set until this is fixed in "
        "Edit > Preferences.",
    )
