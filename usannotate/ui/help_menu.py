"""The Help menu's guide, welcome and sample loop; what to open for a path handed over.

The desktop's "Open with" hands over a DICOM, a folder, or one of our sidecars (then its
loop opens).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from usannotate.samples.bundled import sample_loop_path
from usannotate.sidecar import SIDECAR_SUFFIX
from usannotate.ui.dialogs.guide import UserGuideDialog
from usannotate.ui.dialogs.shortcuts import shortcut_rows
from usannotate.ui.dialogs.welcome import (
    WelcomeChoice,
    WelcomeDialog,
    mark_welcome_shown,
    welcome_due,
)

# The window (a MainWindow; not imported: it imports this module).
MainWindow = Any

#: How the DICOM beside a sidecar may be named (``loop.dcm`` -> ``loop.usannotate.json``).
_DICOM_NAMES = ("{}.dcm", "{}.DCM", "{}")


def loop_for_sidecar(path: str | Path) -> Path | None:
    """The DICOM a sidecar ``path`` belongs to, found beside it by the naming rule of
    :func:`usannotate.sidecar.sidecar_path_for`; None when it is not there."""
    path = Path(path)
    if not path.name.endswith(SIDECAR_SUFFIX):
        return None
    stem = path.name[: -len(SIDECAR_SUFFIX)]
    # A rater's file of a multi-rater project, or the adjudicated one:
    # <loop>.<rater>.usannotate.json (rater names hold no dots).
    stems = [stem, stem.rsplit(".", 1)[0]] if "." in stem else [stem]
    for candidate_stem in stems:
        for pattern in _DICOM_NAMES:
            candidate = path.with_name(pattern.format(candidate_stem))
            if candidate.is_file():
                return candidate
    return None


def open_target(path: str) -> str:
    """What to open for ``path`` given on the command line or by the desktop: a sidecar
    opens its loop; anything else is opened as it is."""
    loop = loop_for_sidecar(path) if path.endswith(SIDECAR_SUFFIX) else None
    return str(loop) if loop is not None else path


def show_user_guide(window: MainWindow) -> None:
    """Help > User Guide."""
    UserGuideDialog(shortcut_rows(window), window).exec()


def open_sample(window: MainWindow) -> bool:
    """Help > Open Sample Loop (made first on an installed wheel: a few seconds)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        path = sample_loop_path()
    except OSError as exc:
        QApplication.restoreOverrideCursor()
        QMessageBox.warning(
            window, "Sample loop not available", f"The sample loop could not be made: {exc}"
        )
        return False
    QApplication.restoreOverrideCursor()
    return window.open_path(str(path))


def show_welcome(window: MainWindow) -> WelcomeChoice:
    """Help > Welcome (and the first start): the preferences it sets apply at once."""
    dialog = WelcomeDialog(window.prefs, window)
    dialog.exec()
    mark_welcome_shown()
    window.apply_preferences(dialog.preferences)
    if dialog.choice is WelcomeChoice.OPEN_SAMPLE:
        open_sample(window)
    elif dialog.choice is WelcomeChoice.OPEN_LOOP:
        window.choose_file()
    return dialog.choice


def welcome_if_first_start(window: MainWindow) -> WelcomeChoice | None:
    """The welcome at the very first start only (None: not the first)."""
    return show_welcome(window) if welcome_due() else None
