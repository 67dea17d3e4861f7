"""The first-run welcome: what the tool does, who is annotating, with which labels.

Shown once, at the first start (``welcome/shown`` in the settings), and again only from
Help > Welcome. It sets the two preferences a first save would otherwise ask for (the
annotator's name, the default label set) and offers the sample loop to try things on.
"""

from __future__ import annotations

import dataclasses
from enum import Enum

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from usannotate.ui.dialogs.about import NOT_FOR_DIAGNOSIS
from usannotate.ui.dialogs.label_set_field import LabelSetField
from usannotate.ui.dialogs.preferences import MAX_ANNOTATOR_LENGTH, Preferences

#: The settings key that says the welcome was shown (it is not shown again unasked).
SHOWN_KEY = "welcome/shown"

_INTRODUCTION = (
    "<h2>Welcome to usannotate</h2>"
    "<p>Mark ultrasound cine loops frame by frame — <b>fascial planes</b>, the <b>needle</b> "
    "(entry to tip), the <b>spread of injected fluid</b>, targets and structures to avoid — "
    "measured in millimetres from the scan's own calibration. Mark a few keyframes; the "
    "frames between are interpolated or tracked for you to review.</p>"
    "<p>Your work is saved as a small file beside each DICOM (the DICOM is never changed) "
    "and can be exported as DICOM SR, CVAT, COCO or masks, or as a de-identified teaching "
    "case with a video and a page.</p>"
    f"<p><small>{NOT_FOR_DIAGNOSIS}</small></p>"
)


class WelcomeChoice(Enum):
    """What the user asked for when the welcome closed."""

    CLOSE = "close"
    OPEN_SAMPLE = "open_sample"
    OPEN_LOOP = "open_loop"


def welcome_due(settings: QSettings | None = None) -> bool:
    """Whether this is the first start (the welcome was never shown)."""
    value = (settings or QSettings()).value(SHOWN_KEY, False)
    return str(value).lower() not in ("true", "1")


def mark_welcome_shown(settings: QSettings | None = None) -> None:
    settings = settings or QSettings()
    settings.setValue(SHOWN_KEY, True)
    settings.sync()


class WelcomeDialog(QDialog):
    """The welcome; after it closes, :attr:`preferences` holds the (possibly new)
    preferences and :attr:`choice` what to open."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to usannotate")
        self.preferences = dataclasses.replace(prefs)
        self.choice = WelcomeChoice.CLOSE

        introduction = QLabel(_INTRODUCTION)
        introduction.setWordWrap(True)
        introduction.setTextFormat(Qt.TextFormat.RichText)

        self.annotator = QLineEdit(prefs.annotator)
        self.annotator.setMaxLength(MAX_ANNOTATOR_LENGTH)
        self.annotator.setPlaceholderText("e.g. A. Sonographer or AS")
        self.annotator.setToolTip(
            "Written into every sidecar you save as its annotator (the rater); change it "
            "any time in Edit > Preferences"
        )
        self.label_set_field = LabelSetField(prefs.label_set_path)
        self.label_set = self.label_set_field.line
        self.set_label_set_path = self.label_set_field.set_path
        form = QFormLayout()
        form.addRow("Your name or initials", self.annotator)
        form.addRow("Label set", self.label_set_field)

        self.problem = self.label_set_field.problem

        buttons = QDialogButtonBox()
        self.sample_button = buttons.addButton(
            "Open the Sample Loop", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sample_button.setToolTip("A synthetic hydrodissection loop to try the tools on")
        self.sample_button.setDefault(True)
        self.open_button = buttons.addButton("Open a Loop…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.sample_button.clicked.connect(lambda: self._finish(WelcomeChoice.OPEN_SAMPLE))
        self.open_button.clicked.connect(lambda: self._finish(WelcomeChoice.OPEN_LOOP))
        self.close_button.clicked.connect(lambda: self._finish(WelcomeChoice.CLOSE))

        hint = QLabel("Help > Welcome shows this again; Help > User Guide explains the rest.")
        hint.setStyleSheet("color: palette(placeholder-text)")
        layout = QVBoxLayout(self)
        layout.addWidget(introduction)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())

    def _finish(self, choice: WelcomeChoice) -> None:
        self.choice = choice
        name = self.annotator.text().strip()[:MAX_ANNOTATOR_LENGTH]
        self.preferences = dataclasses.replace(
            self.preferences,
            annotator=name,
            # A name given here is the answer to the first save's question.
            annotator_asked=self.preferences.annotator_asked or bool(name),
            label_set_path=self.label_set.text(),
        )
        self.accept()

    def reject(self) -> None:  # Esc, the title bar's close: keep what was typed as well
        self._finish(WelcomeChoice.CLOSE)
