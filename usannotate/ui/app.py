"""Start the viewer application."""

from __future__ import annotations

import sys
from importlib.resources import files

from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from usannotate import __version__
from usannotate.ui import help_menu, workers
from usannotate.ui.layout import restore_layout
from usannotate.ui.main_window import MainWindow

#: When the background workers' library is imported after start (ms).
PRELOAD_DELAY_MS = 1500


def run(path: str | None = None, *, smoke_test: bool = False) -> int:
    """Start the viewer (optionally on a loop file or folder) and return the exit status;
    ``smoke_test``: open ``path``, mark, save and quit (see :mod:`usannotate.ui.smoke`)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("usannotate")
    app.setOrganizationName("usannotate")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("usannotate")  # ties the windows to the menu entry's icon
    icon = files("usannotate.resources.desktop").joinpath("usannotate_256.png")
    app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow()
    restore_layout(window)  # as it was last closed (the built-in layout the first time)
    window.show()
    if smoke_test and path:
        from usannotate.ui.smoke import run_smoke_test

        QTimer.singleShot(0, lambda: run_smoke_test(window, path))
    elif path:
        QTimer.singleShot(0, lambda: window.open_path(path))
    else:  # the first start ever: what the tool does, who annotates, the sample loop
        QTimer.singleShot(0, lambda: help_menu.welcome_if_first_start(window))
    # Once the window and its first frame are on screen (kept off the start-up path).
    QTimer.singleShot(PRELOAD_DELAY_MS, workers.preload)
    # The process that draws the marks while a loop plays starts in the background too.
    QTimer.singleShot(PRELOAD_DELAY_MS, window.marks_view.playback.prepare)
    status = app.exec()
    # Delete the window (and the plot items in it) while Python is whole: left to the
    # interpreter's teardown, Qt may ask a half-destroyed pyqtgraph label for its size.
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return status
