"""The dialog a save shows when someone else saved the sidecar since it was opened here.

"case_01.usannotate.json was changed by B. Rater at 14:05": Reload (their version; asks
first when that loses unsaved marks), Save as copy, Overwrite, Merge, or Cancel (keep
working, unsaved). The window does what was chosen through the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from PySide6.QtWidgets import (
    QCommandLinkButton,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLayout,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from usannotate.sidecar import SidecarConflictError
from usannotate.sidecar.merge import THEIR_VERSION_SUFFIX
from usannotate.ui.session import AnnotationSession

__all__ = [
    "ConflictChoice",
    "ConflictDialog",
    "ConflictOutcome",
    "ask_conflict",
    "changed_by_text",
    "confirm_reload",
    "resolve_conflict",
]


class ConflictChoice(StrEnum):
    """What the user chose to do about a conflicting save."""

    RELOAD = "reload"
    COPY = "copy"
    OVERWRITE = "overwrite"
    MERGE = "merge"
    CANCEL = "cancel"


def local_time_text(moment: object) -> str:
    """``moment`` (an aware datetime) in this computer's time, e.g. ``14 Mar 2025, 10:00``."""
    if not isinstance(moment, datetime):
        return "an unknown time"
    return f"{moment.astimezone():%d %b %Y, %H:%M}"


def changed_by_text(error: SidecarConflictError) -> str:
    """``"loop.usannotate.json was changed by B. Rater at 14 Mar 2025, 10:00"``."""
    who = error.saved_by or "someone else"
    return f"{error.name} was changed by {who} at {local_time_text(error.saved_at)}"


class ConflictDialog(QDialog):
    """Reload / Save as copy / Overwrite / Merge, each with what it does in one line."""

    def __init__(
        self, error: SidecarConflictError, parent: QWidget | None = None, *, unsaved: bool
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sidecar changed by someone else")
        self.choice = ConflictChoice.CANCEL
        who = error.saved_by or "someone else"
        layout = QVBoxLayout(self)
        state = "Your marks are not saved yet" if unsaved else "You have no unsaved marks"
        intro = QLabel(
            f"<p><b>{changed_by_text(error)}</b>, after you opened it here.</p>"
            f"<p>{state}; nothing was overwritten. What should happen?</p>"
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.buttons: dict[ConflictChoice, QCommandLinkButton] = {}
        options = [
            (
                ConflictChoice.MERGE,
                "Merge",
                f"Keep both: add {who}'s new tracks; a track you both changed is kept "
                f"twice, theirs named “… {THEIR_VERSION_SUFFIX}”. Then save.",
            ),
            (
                ConflictChoice.COPY,
                "Save as copy",
                "Save your marks to a new file beside it; the sidecar keeps their "
                "version. Further saves go to the copy.",
            ),
            (
                ConflictChoice.RELOAD,
                "Reload",
                f"Show {who}'s version instead"
                + (" (your unsaved marks are lost: you will be asked)." if unsaved else "."),
            ),
            (
                ConflictChoice.OVERWRITE,
                "Overwrite",
                f"Replace {who}'s version with yours: their changes are lost.",
            ),
        ]
        for choice, title, description in options:
            button = QCommandLinkButton(title, description, self)
            button.setObjectName(f"conflict_{choice.value}")
            button.clicked.connect(lambda _=False, c=choice: self._choose(c))
            layout.addWidget(button)
            self.buttons[choice] = button
        self.buttons[ConflictChoice.MERGE].setDefault(True)
        cancel = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        cancel.button(QDialogButtonBox.StandardButton.Cancel).setText("Not now (keep unsaved)")
        cancel.rejected.connect(self.reject)
        layout.addWidget(cancel)
        intro.setMinimumWidth(520)
        # The dialog takes its content's size: extra height would only stretch the buttons.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)

    def _choose(self, choice: ConflictChoice) -> None:
        self.choice = choice
        self.accept()


def ask_conflict(
    parent: QWidget | None, error: SidecarConflictError, *, unsaved: bool
) -> ConflictChoice:
    """Show the dialog (modal) and return what was chosen."""
    dialog = ConflictDialog(error, parent, unsaved=unsaved)
    dialog.exec()
    return dialog.choice


@dataclass
class ConflictOutcome:
    """What resolving a conflict did: ``saved`` (the work is on disk), ``reloaded`` (the
    session holds a new document and history: the window shows it afresh), a message."""

    choice: ConflictChoice
    saved: bool = False
    reloaded: bool = False
    message: str = ""


def confirm_reload(parent: QWidget | None, error: SidecarConflictError) -> bool:
    """Whether to drop the unsaved marks and show the other version (asked, never assumed)."""
    who = error.saved_by or "someone else"
    answer = QMessageBox.question(
        parent,
        "Reload and lose your marks?",
        f"Reloading shows {who}'s version of {error.name}: your marks that are not saved "
        "will be lost. Reload anyway?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def resolve_conflict(
    parent: QWidget | None,
    session: AnnotationSession,
    error: SidecarConflictError,
    *,
    ask=ask_conflict,
    confirm=confirm_reload,
) -> ConflictOutcome:
    """Ask what to do about ``error`` and do it through ``session``; a save that meets a
    newer version yet is asked about again.

    Raises
    ------
    SidecarError
        The chosen save failed otherwise (full disk...): the work stays unsaved.
    """
    while True:
        choice = ask(parent, error, unsaved=session.is_modified)
        try:
            if choice is ConflictChoice.RELOAD:
                if session.is_modified and not confirm(parent, error):
                    continue  # back to the choices: nothing is lost silently
                session.reload()
                return ConflictOutcome(choice, reloaded=True, message=f"Reloaded {error.name}")
            if choice is ConflictChoice.COPY:
                copy = session.save_copy()
                return ConflictOutcome(
                    choice,
                    saved=True,
                    message=f"Your marks were saved to {copy.name}; {error.name} keeps "
                    f"{error.saved_by or 'the other'} version; further saves go to the copy",
                )
            if choice is ConflictChoice.OVERWRITE:
                session.overwrite(error)
                return ConflictOutcome(choice, saved=True, message=f"Saved over {error.name}")
            if choice is ConflictChoice.MERGE:
                result = session.merge(error)
                return ConflictOutcome(choice, saved=True, message=result.summary(error.saved_by))
            return ConflictOutcome(ConflictChoice.CANCEL, message="Not saved")
        except SidecarConflictError as newer:  # yet another save meanwhile
            error = newer
