"""The main window driven like a sonographer would: open, step, scrub, play, browse."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

import usannotate
from tests.ui.paths import SAMPLE_A, SAMPLE_B
from usannotate.ui.main_window import MainWindow

YBR_CINE = get_testdata_file("examples_ybr_color.dcm")


def shown_pixels(window: MainWindow) -> np.ndarray:
    return window.view.frame_item.pixels.copy()


def painted(window: MainWindow, qtbot) -> QImage:
    """Grab what the viewport really shows."""
    QApplication.processEvents()
    return window.view.viewport().grab().toImage()


def test_empty_window_shows_a_welcome_hint(window):
    assert window.loop is None
    assert window.windowTitle() == "usannotate"
    assert "Open an ultrasound DICOM loop" in window.view.hint
    assert window.transport.position_label.text() == "No loop open"


def test_opens_sample_and_steps_with_keys(window, qtbot):
    assert window.open_path(str(SAMPLE_A))
    assert window.index == 0
    for key, expected in (
        (Qt.Key.Key_Right, 1),
        (Qt.Key.Key_F, 2),
        (Qt.Key.Key_D, 1),
        (Qt.Key.Key_Left, 0),
        (Qt.Key.Key_Left, 0),  # clamped at the first frame
    ):
        qtbot.keyClick(window, key)
        assert window.index == expected
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.index == 10
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert window.index == 0
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.index == 59
    assert window.windowTitle().startswith("hydrodissection_linear_a.dcm — frame 60 / 60")
    with usannotate.open_cine(SAMPLE_A) as loop:
        assert np.array_equal(shown_pixels(window), loop.frame(59))
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.index == 0


def test_slider_drag_scrubs_live(window, qtbot):
    window.open_path(YBR_CINE)
    slider = window.transport.slider
    seen: list[int] = []
    window.view.frame_item.paint_count = 0
    handle = QPoint(4, slider.height() // 2)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=handle)
    for x in range(10, slider.width() - 4, max(1, slider.width() // 12)):
        qtbot.mouseMove(slider, QPoint(x, slider.height() // 2))
        seen.append(window.index)
    qtbot.mouseRelease(
        slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() - 4, slider.height() // 2)
    )
    assert len(set(seen)) >= 6  # the frame followed the drag, not only the release
    assert seen == sorted(seen)
    assert window.index >= 25
    assert f"Frame {window.index + 1} / 30" in window.transport.position_label.text()
    assert "ms" in window.transport.position_label.text()


def test_play_follows_the_clock(window, qtbot):
    window.open_path(YBR_CINE)  # 33.333 ms per frame, 30 frames
    started = time.perf_counter()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.playback.is_playing
    qtbot.wait(500)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert not window.playback.is_playing
    due = int(elapsed_ms // 33.333)
    # The frame shown is the one the clock says (a tick late at most), never ahead of it.
    assert due - 3 <= window.index <= due
    assert window.playback.frames_shown + window.playback.frames_missed == window.index


def test_speed_and_loop_controls(window, qtbot):
    window.open_path(YBR_CINE)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert window.playback.speed == 2.0
    assert window.transport.speed_box.currentText() == "2x"
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)
    assert window.playback.speed == 0.5
    qtbot.keyClick(window, Qt.Key.Key_L)
    assert not window.playback.looping
    assert not window.transport.loop_box.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_End)
    window.playback.speed = 4.0
    qtbot.keyClick(window, Qt.Key.Key_Space)  # at the end without looping: restarts at 0
    qtbot.waitUntil(lambda: not window.playback.is_playing, timeout=5000)
    assert window.index == 29


def test_zoom_keys_and_overlay_toggles(window, qtbot):
    window.open_path(str(SAMPLE_A))
    fitted = window.view.zoom
    qtbot.keyClick(window, Qt.Key.Key_Plus)
    assert window.view.zoom == pytest.approx(fitted * 1.25)
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.view.zoom == pytest.approx(1.0)
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.view.zoom == pytest.approx(fitted, rel=0.01)
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert not window.view.regions_visible
    assert not window.regions_action.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert not window.view.ruler_visible


def test_cursor_position_in_px_and_mm(window, qtbot):
    window.open_path(str(SAMPLE_A))
    with usannotate.open_cine(SAMPLE_A) as loop:
        region = loop.regions[0]
    x0, y0, _, _ = region.bounds
    ref_x, ref_y = region.reference_pixel
    point = QPointF(x0 + ref_x + 100.0, y0 + ref_y + 200.0)
    window.view.cursorMoved.emit(point)
    text = window.cursor_label.text()
    assert f"{point.x():.1f}" in text
    assert f"{100 * region.mm_per_px_x:+.1f} mm lateral" in text
    assert f"{200 * region.mm_per_px_y:.1f} mm deep" in text
    assert window.pixel_label.text().startswith(("grey", "RGB"))
    window.view.cursorMoved.emit(QPointF(5.0, 5.0))  # in the banner: px only
    assert "mm" not in window.cursor_label.text()


def test_brightness_contrast_reset(window, qtbot):
    window.open_path(str(SAMPLE_A))
    before = shown_pixels(window)
    window.display_toolbar.brightness.setValue(50)
    assert not np.array_equal(shown_pixels(window), before)
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.display_toolbar.brightness.value() == 0
    assert np.array_equal(shown_pixels(window), before)


def test_broken_file_shows_a_dialog_and_keeps_the_window_usable(window, tmp_path, dialogs):
    window.open_path(str(SAMPLE_A))
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not a dicom file at all" * 10)
    assert not window.open_path(str(broken))
    assert len(dialogs) == 1
    assert "broken.dcm" in dialogs[0]
    assert "not a DICOM file" in dialogs[0]
    assert Path(window.loop.path).name == "hydrodissection_linear_a.dcm"
    assert window.open_path(str(SAMPLE_B))


def test_folder_lists_loops_and_pages_through_them(window, qtbot, tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(SAMPLE_B, folder / "a_first.dcm")
    (folder / "b_broken.dcm").write_bytes(b"junk" * 100)
    shutil.copy(SAMPLE_A, folder / "c_third.dcm")
    assert window.open_path(str(folder))
    assert Path(window.loop.path).name == "a_first.dcm"
    assert window.loop_dock.isVisible()
    qtbot.waitUntil(
        lambda: window.loop_list.next_path(str(folder / "a_first.dcm")) is not None, timeout=10000
    )
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert Path(window.loop.path).name == "c_third.dcm"  # the broken one is skipped
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert Path(window.loop.path).name == "a_first.dcm"


def test_recent_files_menu(window):
    window.open_path(str(SAMPLE_A))
    window.open_path(str(SAMPLE_B))
    names = [a.text() for a in window.recent_menu.actions()]
    assert names[:2] == ["hydrodissection_linear_b.dcm", "hydrodissection_linear_a.dcm"]
    window.recent_menu.actions()[1].trigger()
    assert Path(window.loop.path).name == "hydrodissection_linear_a.dcm"


def test_metadata_panel_hides_patient_details(window):
    window.open_path(str(SAMPLE_A))
    texts = " ".join(
        label.text() for label in window.metadata.findChildren(type(window.cursor_label))
    )
    assert "SYNTHETIC^DEMO" not in texts
    assert "60" in texts


def test_palette_and_grey_loops_display(window):
    assert window.open_path(get_testdata_file("examples_palette.dcm"))
    assert window.view.frame_item.pixels.shape == (350, 800, 3)
    assert window.open_path(get_testdata_file("MR_small.dcm"))
    assert not window.view.calibrated


def test_the_title_follows_the_frame_once_playback_stops(window):
    assert window.open_path(str(SAMPLE_A))
    window.state.set_playing(True)
    window.jump(20)
    assert "frame 1 / 60" in window.windowTitle()  # not rewritten on every frame played
    window.state.set_playing(False)
    assert "frame 21 / 60" in window.windowTitle()
    window.jump(30)
    assert "frame 31 / 60" in window.windowTitle()  # a still frame: at once
