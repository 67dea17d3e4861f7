"""The window's size, position and docks kept between sessions (QSettings).

Saved when the window closes, restored when the app starts (not for every MainWindow
made, so tests and scripts start from the built-in layout). A layout saved by a version
whose docks differ is ignored rather than restored half-way: :data:`LAYOUT_VERSION` is
bumped whenever docks or toolbars are added, removed or renamed.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

#: Bump when the window's docks or toolbars change (a saved layout then is not used).
LAYOUT_VERSION = 1
_GEOMETRY, _STATE = "window/geometry", "window/state"


def save_layout(window: QMainWindow, settings: QSettings | None = None) -> None:
    """Keep ``window``'s geometry and dock / toolbar arrangement."""
    settings = settings or QSettings()
    settings.setValue(_GEOMETRY, window.saveGeometry())
    settings.setValue(_STATE, window.saveState(LAYOUT_VERSION))
    settings.sync()


def restore_layout(window: QMainWindow, settings: QSettings | None = None) -> bool:
    """Give ``window`` the layout it had when it was last closed; False (the built-in
    layout stays) when there is none or it is unusable."""
    settings = settings or QSettings()
    geometry, state = settings.value(_GEOMETRY), settings.value(_STATE)
    if not isinstance(geometry, QByteArray) or not isinstance(state, QByteArray):
        return False
    if not window.restoreGeometry(geometry):
        return False
    return window.restoreState(state, LAYOUT_VERSION)
