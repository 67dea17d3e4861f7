"""Frames that cannot be shown (issue 9, item 1): playback stops at the first one, one
status-bar message names them (1-based, as the frame label), no dialog, the frames that
exist stay usable, and Ctrl+Q still quits."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

import usannotate
from tests.cine.scanner_cases import make_jpeg_loop_cut_short, make_jpeg_loop_with_damaged_frame
from tests.ui.paths import SAMPLE_A
from usannotate.cine import CineError


@pytest.fixture
def messages(window):
    """Every status-bar message about frames that cannot be shown, in order."""
    seen: list[str] = []
    window.statusBar().messageChanged.connect(
        lambda text: seen.append(text) if "cannot be shown" in text else None
    )
    return seen


def failing_frames(path) -> list[int]:
    """What the engine itself says: the 0-based frames it cannot decode."""
    failing = []
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        for index in range(loop.n_frames):
            try:
                loop.frame(index)
            except CineError:
                failing.append(index)
    return failing


def play_until_stopped(window, qtbot) -> None:
    # A quarter of the recorded rate: a busy machine's clock then skips no frame, so the
    # frame shown last is the one just before the frame that cannot be shown (the skips
    # themselves are tested in tests/ui/test_playback.py).
    window.playback.set_speed(0.25)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.playback.is_playing, timeout=10_000)


def test_a_damaged_frame_stops_playback_once_and_is_stepped_over(
    window, qtbot, tmp_path, dialogs, messages
):
    case = make_jpeg_loop_with_damaged_frame(tmp_path, n_frames=12, damaged=5)
    assert failing_frames(case.path) == [5]
    assert window.open_path(str(case.path))
    play_until_stopped(window, qtbot)
    assert window.index == 4  # the last frame before the damaged one
    assert dialogs == []
    assert len(messages) == 1
    assert messages[0].startswith("Frame 6 of 12 cannot be shown (frame 6 could not be decoded)")
    assert "playback stopped at frame 5" in messages[0]
    assert "1 missing" in window.frame_label.text()

    # Stepping goes over the damaged frame, both ways; the frames around it show.
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.index == 6
    assert window.transport.position_label.text().startswith("Frame 7 / 12")
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.index == 4

    # Scrubbing onto it keeps the frame on screen and the slider with it.
    window.transport.slider.setValue(5)
    assert window.index == 4
    assert window.transport.slider.value() == 4
    window.transport.slider.setValue(9)
    assert window.index == 9

    # Played again, it plays on over the frame already reported, with no new message.
    window.jump(3)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.index >= 7, timeout=10_000)
    assert window.playback.is_playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.playback.is_playing
    assert len(messages) == 1
    assert dialogs == []


def test_a_loop_cut_short_plays_the_frames_there_with_one_message(
    window, qtbot, tmp_path, dialogs, messages
):
    # The first 400 KB of a 120-frame loop, as a new user had it.
    case = make_jpeg_loop_cut_short(tmp_path, n_frames=120, keep_bytes=400_000)
    failing = failing_frames(case.path)
    assert window.open_path(str(case.path))
    good = window.loop.n_frames - len(failing)
    assert good >= 10
    if failing:
        # The engine offers frames it cannot read: playback stops at the first of them.
        play_until_stopped(window, qtbot)
        first = failing[0]
        assert window.index == first - 1
        assert len(messages) == 1
        assert (
            f"Frames {first + 1}–{window.loop.n_frames} of {window.loop.n_frames}" in (messages[0])
        )
        assert f"playback stopped at frame {first}" in messages[0]
    else:
        # The engine offers only the frames really there: playback goes round them.
        qtbot.keyClick(window, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: window.playback.frames_shown > good, timeout=20_000)
        qtbot.keyClick(window, Qt.Key.Key_Space)
        assert messages == []
    assert dialogs == []
    # Every frame that exists can still be shown, from either end.
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.index == good - 1
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.index == 0
    for _ in range(good - 1):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.index == good - 1
    qtbot.keyClick(window, Qt.Key.Key_Right)  # nothing further to show
    assert window.index == good - 1
    assert len(messages) <= 1
    assert dialogs == []
    # ... and the window still answers: Ctrl+Q quits.
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()


def test_a_slider_drag_over_missing_frames_says_it_once(window, qtbot, tmp_path, messages):
    case = make_jpeg_loop_cut_short(tmp_path, n_frames=60, keep_bytes=250_000)
    assert window.open_path(str(case.path))
    failing = failing_frames(case.path)
    slider = window.transport.slider
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=QPoint(4, slider.height() // 2))
    for x in range(10, slider.width() - 4, max(1, slider.width() // 30)):
        qtbot.mouseMove(slider, QPoint(x, slider.height() // 2))
    qtbot.mouseRelease(
        slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() - 4, slider.height() // 2)
    )
    assert len(messages) == (1 if failing else 0)
    assert window.index not in failing
    assert window.view.frame_item.index == window.index


def test_messages_count_frames_as_the_window_does():
    from usannotate.ui.frame_errors import MissingFrames, frame_problem, frame_ranges

    assert frame_ranges([3, 4, 5, 9]) == "4–6, 10"
    assert frame_ranges([0]) == "1"
    problem = CineError("/scans/patient/loop.dcm", "frame 39 is cut short: the file ends inside")
    assert frame_problem(problem, 39) == "frame 40 is cut short: the file ends inside"
    lying = CineError("loop.dcm", "frame 7: the compressed image says 10 x 10 pixels")
    assert frame_problem(lying, 7) == "frame 8: the compressed image says 10 x 10 pixels"
    decoder = CineError("loop.dcm", "frame 2 could not be decoded (pillow: cannot identify <x>)")
    assert frame_problem(decoder, 2) == "frame 3 could not be decoded"

    missing = MissingFrames()
    missing.reset(10)

    def read(index: int):
        if index in (4, 5, 8):
            raise CineError("loop.dcm", f"frame {index} is empty")
        return index

    found, text = missing.failed(read, 4, CineError("loop.dcm", "frame 4 is empty"), 1)
    assert found == (6, 6)
    assert text == "Frames 5–6 of 10 cannot be shown (frame 5 is empty); showing frame 7."
    # The same run again: nothing more to say.
    assert missing.failed(read, 5, CineError("loop.dcm", "frame 5 is empty"))[1] == ""
    _, text = missing.failed(read, 8, CineError("loop.dcm", "frame 8 is empty"), stopped_at=7)
    assert text == (
        "Frame 9 of 10 cannot be shown (frame 9 is empty); playback stopped at frame 8. "
        "Also missing: 5–6."
    )
    assert "scans" not in text


def test_a_loop_whose_first_frame_is_damaged_opens_on_the_next(window, tmp_path, dialogs, messages):
    assert window.open_path(str(SAMPLE_A))
    case = make_jpeg_loop_with_damaged_frame(tmp_path, n_frames=6, damaged=0)
    assert window.open_path(str(case.path))
    assert window.index == 1
    assert window.view.frame_item.index == 1
    assert window.view.frame_item.pixels.shape[:2] == (case.rows, case.columns)
    assert messages == [
        "Frame 1 of 6 cannot be shown (frame 1 could not be decoded); showing frame 2."
    ]
    assert dialogs == []
