"""File > Open from PACS…: opening the browser on the window and the pulled loop after it."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

__all__ = ["open_from_pacs"]


class _Window(Protocol):
    """What of the main window the browser needs (not the class: no import circle)."""

    def open_path(self, path: str) -> bool: ...


def open_from_pacs(window: _Window) -> QDialog:
    """The PACS browser (non-blocking); the series it pulls opens in ``window``."""
    from usannotate.ui.dialogs.pacs_browser import PacsBrowserDialog

    dialog = PacsBrowserDialog(parent=window)  # type: ignore[arg-type]  # a QWidget
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.pulled.connect(window.open_path)
    dialog.open()
    return dialog
