"""The viewer window opens loops, steps, plays, and shows errors as dialogs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

import usannotate
from usannotate.ui.app import MainWindow

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicoms" / "hydrodissection_linear_a.dcm"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Keep the user's real settings untouched."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def dialogs(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append(text)
    )
    return shown


def _shown_pixels(window: MainWindow) -> np.ndarray:
    """The pixels the view holds now, as an RGB array (copied out of the QImage)."""
    image = window.view._pixmap_item.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_opens_the_bundled_sample_and_steps_with_keys(window, qtbot):
    assert window.open_path(str(SAMPLE))
    assert window.index == 0
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.index == 2
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.index == 12
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.index == window.loop.n_frames - 1
    assert f"frame {window.loop.n_frames} / {window.loop.n_frames}" in window.windowTitle()
    with usannotate.open_cine(SAMPLE) as loop:
        assert np.array_equal(_shown_pixels(window), loop.frame(loop.n_frames - 1))


def test_slider_scrubs_frames(window):
    window.open_path(get_testdata_file("examples_ybr_color.dcm"))
    window.slider.setValue(17)
    assert window.index == 17
    assert "Frame 18 / 30" in window.position_label.text()


def test_playback_follows_the_clock(window, qtbot):
    window.open_path(get_testdata_file("examples_ybr_color.dcm"))  # 33.333 ms per frame
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.wait(400)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    # About 12 frames are due after 400 ms; never more than the clock allows.
    assert 3 <= window.index <= 16


def test_broken_file_shows_a_dialog_and_keeps_the_window_usable(window, tmp_path, dialogs):
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not a dicom file at all" * 10)
    assert not window.open_path(str(broken))
    assert dialogs
    assert "broken.dcm" in dialogs[0]
    assert "not a DICOM file" in dialogs[0]
    assert window.open_path(str(SAMPLE))


def test_folder_opens_its_first_loop(window, tmp_path):
    (tmp_path / "b.dcm").write_bytes(SAMPLE.read_bytes())
    assert window.open_path(str(tmp_path))
    assert Path(window.loop.path).name == "b.dcm"
