"""Keyboard focus back on the viewer after a modal dialog closes."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget


class FocusAfterDialogs(QObject):
    """When a modal dialog of ``window`` closes, the keyboard goes to ``target``.

    Qt gives focus back to whatever had it before the dialog: often the button that
    opened it ("Add label…") or a dock's list, which then takes Space, the arrows and
    PgDn away from the viewer until the user clicks the image (and where no window
    manager re-activates the window, nothing has the keyboard at all).

    Every dialog parented to the window is watched (message boxes, file and input
    dialogs, those yet to come), from the moment Qt polishes it: a filter on the window
    and on its dialogs only, not on the whole application, where a Python filter would
    run for every event of the program.
    """

    def __init__(self, window: QWidget, target: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._target = target
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ChildPolished and watched is self._window:
            child = event.child()
            if isinstance(child, QDialog):
                child.installEventFilter(self)
        elif kind == QEvent.Type.Hide and isinstance(watched, QDialog) and watched.isModal():
            QTimer.singleShot(0, self._give_focus)
        return False

    def _give_focus(self) -> None:
        if QApplication.activeModalWidget() is not None or not self._target.isVisible():
            return  # another dialog is up (it has the keyboard), or no viewer to give it to
        if not self._window.isActiveWindow():
            self._window.activateWindow()
        self._target.setFocus(Qt.FocusReason.OtherFocusReason)
