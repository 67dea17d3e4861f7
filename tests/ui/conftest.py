"""GUI test fixtures: isolated settings, the main window, captured dialogs, an image view."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path):
    """Never read or write the user's real settings (recent files, last folder)."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )
    QSettings().clear()
    # Saving asks once who annotates; the tests that check that question clear this.
    QSettings().setValue("preferences/annotator", "Test Rater")
    QSettings().setValue("preferences/annotator_asked", True)


@pytest.fixture
def dialogs(monkeypatch):
    """Capture warning dialogs instead of blocking on them."""
    shown: list[str] = []

    def capture(parent, title, text, *args, **kwargs):
        shown.append(f"{title}: {text}")
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", capture)
    # A question nobody answers would block the test run: discard unless a test scripts it.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    return shown


@pytest.fixture
def window(qtbot, dialogs):
    from usannotate.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


@pytest.fixture
def opened(window, tmp_path):
    """The window on a copy of sample loop A (its sidecar and lock land in tmp_path)."""
    from tests.ui.paths import SAMPLE_A

    path = tmp_path / "case.dcm"
    shutil.copy(SAMPLE_A, path)
    assert window.open_path(str(path))
    return window


@pytest.fixture
def cine_view(qtbot):
    """An image view on its own, 800 x 600, shown and exposed, with no frame yet."""
    from usannotate.ui.viewer.view import CineView

    widget = CineView()
    widget.resize(800, 600)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
