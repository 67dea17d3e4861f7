"""File > Export Marks and the media exports: opening their dialogs on the window's loop."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QStatusBar

from usannotate.cine import CineLoop
from usannotate.ui.session import AnnotationSession
from usannotate.ui.state import ViewerState

__all__ = ["export_marks", "export_media"]


class _Window(Protocol):
    """What of the main window the dialogs need (not the class: no import circle)."""

    session: AnnotationSession | None
    loop: CineLoop | None
    state: ViewerState

    def statusBar(self) -> QStatusBar: ...

    def save(self) -> bool: ...


def export_marks(window: _Window) -> QDialog | None:
    """The marks' export dialog (non-blocking), or None without a loop (said in the status
    bar). Unsaved marks are saved first."""
    from usannotate.ui.dialogs.export import ExportDialog

    session = window.session
    if window.loop is None or session is None:
        window.statusBar().showMessage("Open a loop with marks first", 4000)
        return None
    dialog = ExportDialog(
        window.loop.path,
        session.path,
        save_first=lambda: not session.is_modified or window.save(),
        parent=window,  # type: ignore[arg-type]  # the main window, a QWidget
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def export_media(window: _Window, kind: str) -> QDialog | None:
    """The teaching case / video / frames dialog (modeless, so the user can watch it
    work), or None without a loop."""
    from usannotate.ui.dialogs.export_media import ExportMediaDialog

    state = window.state
    if state.loop is None:
        state.say("Open a loop first", 4000)
        return None
    history = state.history
    dialog = ExportMediaDialog(
        kind,
        state.loop.path,
        state.annotations,
        unsaved=bool(history is not None and history.is_modified),
        document=state.session.document if state.session is not None else None,
        parent=window,  # type: ignore[arg-type]  # the main window, a QWidget
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
