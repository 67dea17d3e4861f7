"""The window around the image while working (issue 9, items 9, 12 and 13): the image
does not move as tracks are added, the status bar's texts never run into each other, a
switch of loops clears the last loop's warning, and the keys work again after a dialog."""

from __future__ import annotations

import itertools

import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.ui.paths import SAMPLE_A, SAMPLE_B

LEFT = Qt.MouseButton.LeftButton


def click_image(window, x: float, y: float) -> None:
    """A real left click on image point ``(x, y)``."""
    view = window.view
    at = view.mapFromScene(QPointF(x, y))
    for kind, buttons in (
        (QEvent.Type.MouseButtonPress, LEFT),
        (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
    ):
        event = QMouseEvent(
            kind,
            QPointF(at),
            QPointF(view.viewport().mapToGlobal(at)),
            LEFT,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(view.viewport(), event)


def test_the_image_keeps_its_place_while_tracks_are_added(opened, qtbot):
    window = opened
    view = window.view

    def where() -> tuple:
        QApplication.processEvents()
        image = view.mapFromScene(view.frame_item.boundingRect()).boundingRect()
        return view.geometry(), image

    before = where()
    marks = [
        (Qt.Key.Key_1, [(150, 130), (300, 125), (450, 130)]),
        (Qt.Key.Key_2, [(150, 200), (300, 195), (450, 200)]),
        (Qt.Key.Key_3, [(150, 290), (300, 295), (450, 290)]),
        (Qt.Key.Key_5, [(280, 240), (330, 235), (340, 260), (290, 265)]),
        (Qt.Key.Key_7, [(380, 330), (420, 330), (420, 360), (380, 360)]),
        (Qt.Key.Key_8, [(200, 380), (240, 380), (240, 410), (200, 410)]),
        (Qt.Key.Key_6, [(470, 250)]),
    ]
    for count, (key, points) in enumerate(marks, 1):
        qtbot.keyClick(window, key)
        for x, y in points:
            click_image(window, x, y)
        if len(points) > 1:
            qtbot.keyClick(view, Qt.Key.Key_Return)
        assert len(window.session.document.annotations.objects) == count
        assert len(window.tracks.lanes()) == count
        assert where() == before, f"the image moved when track {count} was added"
    # The timeline kept its height; its lanes scroll.
    assert window.tracks.timeline._scrollbar.isVisible()


# ------------------------------------------------------------------ status bar


LONG_WARNING = (
    "Warning: ultrasound region 1 [84, 31, 595, 414] extends beyond the 320 x 240 image "
    "(resized or cropped after the scan?): its calibration is not used, measurements there "
    "are in px"
)


@pytest.mark.parametrize("width", [1400, 1000])
def test_status_bar_texts_never_run_into_each_other(window, qtbot, width):
    window.resize(width, 900)
    assert window.open_path(str(SAMPLE_A))
    window.pixel_label.setText("RGB 255, 255, 255")
    window.playback_label.setText("4x · shown 1200, skipped 30")
    window.statusBar().showMessage(LONG_WARNING)
    qtbot.waitUntil(lambda: window.statusBar().width() <= width)
    QApplication.processEvents()
    bar = window.statusBar()
    shown = bar.shown_message()
    assert shown != LONG_WARNING
    assert shown.endswith("…")  # elided, not cut mid-letter
    permanent = sorted(
        (
            w
            for w in (window.pixel_label, window.playback_label, window.frame_label)
            if w.isVisible()
        ),
        key=lambda w: w.x(),
    )
    first_permanent = min(w.geometry().left() for w in permanent)
    text_right = bar.message_rect().left() + bar.fontMetrics().horizontalAdvance(shown)
    assert text_right + 6 <= first_permanent
    # The permanent texts themselves fit their widgets, side by side.
    for widget in permanent:
        assert widget.fontMetrics().horizontalAdvance(widget.text()) <= widget.width()
    for a, b in itertools.pairwise(permanent):
        a_text_end = a.x() + a.contentsRect().left() + a.fontMetrics().horizontalAdvance(a.text())
        b_text_start = b.x() + b.contentsRect().left()
        assert b_text_start - a_text_end >= 8, (a.text(), b.text())
    # What the bar paints between the message and the permanent texts is background.
    image = bar.grab().toImage()
    ratio = image.devicePixelRatio()
    background = image.pixelColor(round((text_right + 2) * ratio), 2)
    for x in range(round((text_right + 2) * ratio), round((first_permanent - 1) * ratio)):
        for y in range(0, round(bar.height() * ratio), 2):
            assert image.pixelColor(x, y) == background


def test_switching_loops_clears_the_last_loops_warning(window):
    assert window.open_path(get_testdata_file("examples_ybr_color.dcm"))
    assert window.statusBar().currentMessage().startswith("Warning:")
    assert window.open_path(str(SAMPLE_B))
    assert window.statusBar().currentMessage() == ""


# ------------------------------------------------------------------ focus after dialogs


@pytest.fixture
def close_dialogs(qtbot):
    """``close_dialogs(accept=False)``: close the next modal dialog that opens, as a user
    would (Esc, or Enter when ``accept``); the watch ends with the test."""
    timers: list[QTimer] = []

    def close_next(accept: bool = False) -> None:
        timer = QTimer()
        timer.setInterval(20)

        def close() -> None:
            dialog = QApplication.activeModalWidget()
            if dialog is not None:
                timer.stop()
                qtbot.keyClick(dialog, Qt.Key.Key_Return if accept else Qt.Key.Key_Escape)

        timer.timeout.connect(close)
        timer.start()
        timers.append(timer)

    yield close_next
    for timer in timers:
        timer.stop()


def test_keys_reach_the_viewer_after_the_add_label_dialog(window, qtbot, close_dialogs):
    window.activateWindow()
    assert window.open_path(str(SAMPLE_A))
    button = window.label_panel.add_button
    close_dialogs()
    qtbot.mouseClick(button, LEFT)  # opens the dialog; Esc closes it
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None)
    QApplication.processEvents()
    # A real Space key goes where the keyboard focus is: it must play, not press the
    # button again.
    close_dialogs()  # in case it opened the dialog again (the defect)
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Space)
    assert window.playback.is_playing
    assert QApplication.focusWidget() is window.view
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert not window.playback.is_playing
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    assert window.index == 1


def test_keys_reach_the_viewer_after_an_error_dialog(qtbot, tmp_path, close_dialogs):
    """The real warning dialog (not the captured one of the other tests)."""
    from usannotate.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.open_path(str(SAMPLE_A))
    window.loop_list.setFocus()  # the keyboard was in the loops list
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not a dicom file" * 8)
    close_dialogs(accept=True)
    assert not window.open_path(str(broken))
    QApplication.processEvents()
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Right)
    assert window.index == 1
    assert QApplication.focusWidget() is window.view
    window.close()


def test_no_dialog_over_another(window, qtbot, dialogs):
    """An error while a dialog is open goes to the status bar, not into a second one."""
    assert window.open_path(str(SAMPLE_A))
    seen: list[str] = []

    def while_open() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, while_open)
            return
        window._error("Not saved", "the folder is read-only")
        seen.append(window.statusBar().currentMessage())
        dialog.reject()

    QTimer.singleShot(20, while_open)
    window.add_label()
    assert dialogs == []
    assert seen == ["Not saved: the folder is read-only"]
