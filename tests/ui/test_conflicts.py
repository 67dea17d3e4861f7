"""Two windows on one loop: the edit lock (read-only or take over), per-session recovery
files, and the conflict dialog's four choices, clicked in the real dialogs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QPushButton

from tests.ui.events import add_needle, click
from tests.ui.paths import SAMPLE_A
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.sidecar import load_sidecar, sidecar_path_for
from usannotate.sidecar.locks import LockOwner, lock_path_for, read_lock
from usannotate.sidecar.merge import THEIR_VERSION_SUFFIX, conflict_flag
from usannotate.sidecar.recovery import recovery_files
from usannotate.ui.dialogs import lock as lock_dialogs
from usannotate.ui.dialogs.conflict import ConflictChoice, ConflictDialog


@pytest.fixture
def loop_copy(tmp_path) -> Path:
    path = tmp_path / "case_07.dcm"
    shutil.copy(SAMPLE_A, path)
    return path


@pytest.fixture
def second(qtbot, dialogs):
    """A second main window in the same program (another window on the same loop)."""
    from usannotate.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


@pytest.fixture
def take_over(monkeypatch):
    """Scripted answers to "open read-only or take over?" (True = take over)."""
    asked: list[str] = []
    queue: list[bool] = []

    def ask(parent, holder, loop_name):
        asked.append(f"{loop_name}: {holder.describe()}")
        return queue.pop(0) if queue else False

    monkeypatch.setattr(lock_dialogs, "ask_take_over", ask)
    return asked, queue


def when_shown(qtbot, act) -> None:
    """Run ``act(dialog)`` on the next modal dialog once it is shown (it blocks the test
    in ``exec``); ``act`` clicks its buttons with real mouse clicks."""

    def attempt() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(10, attempt)
            return
        act(dialog)

    QTimer.singleShot(0, attempt)


def click_choice(qtbot, choice: ConflictChoice, seen: list[str] | None = None):
    """Click ``choice`` in the conflict dialog when it shows (``seen`` gets its text)."""

    def act(dialog) -> None:
        assert isinstance(dialog, ConflictDialog), type(dialog)
        if seen is not None:
            seen.append(" ".join(label.text() for label in dialog.findChildren(QLabel)))
        qtbot.mouseClick(dialog.buttons[choice], Qt.MouseButton.LeftButton)

    when_shown(qtbot, act)


def point(window, x: float, object_id: str) -> AnnotatedObject:
    """A target mark pushed as an edit on frame 0."""
    target = AnnotatedObject("target", ShapeKind.POINT, id=object_id)
    target.set_points(0, [(x, 200.0)])
    window.session.history.push(AddObject(target))
    return target


def ids_on_disk(loop: Path) -> set[str]:
    return {o.id for o in load_sidecar(sidecar_path_for(loop)).annotations.objects}


def two_editing_windows(window, second, loop: Path, take_over) -> None:
    """Both windows edit the loop: the second took it over from the first."""
    _, queue = take_over
    window.prefs.annotator = "A. First"
    second.prefs.annotator = "B. Second"
    assert window.open_path(str(loop))
    queue.append(True)
    assert second.open_path(str(loop))
    assert not second.session.read_only


# --------------------------------------------------------------- the lock
def test_a_second_window_opens_read_only_and_may_take_over(
    window, second, loop_copy, qtbot, take_over
):
    asked, _ = take_over
    window.prefs.annotator = "A. First"
    assert window.open_path(str(loop_copy))
    assert read_lock(sidecar_path_for(loop_copy)).owner.annotator == "A. First"
    assert second.open_path(str(loop_copy))
    assert "A. First" in asked[-1]
    assert second.session.read_only
    assert "(read-only)" in second.windowTitle()
    assert not second.save_action.isEnabled()
    qtbot.keyClick(second, Qt.Key.Key_6)  # the target label: one click makes a mark...
    click(second.view, 200.0, 150.0)
    assert second.session.document.annotations.objects == []  # ...not in a read-only window
    banner = second.lock_banner
    assert banner.isVisible()
    assert "Opened read-only" in banner.label.text()
    assert "A. First" in banner.label.text()
    assert not second.save()  # nothing to save from a read-only window

    needle = add_needle(window)  # the first window saves while the second looks on
    assert window.save()
    qtbot.mouseClick(banner.take_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    assert not second.session.read_only
    assert second.session.document.annotations.get(needle.id) is not None  # re-read
    window.heartbeat()  # the first window learns it lost the loop
    assert window.lock_banner.isVisible()
    assert "took this loop over" in window.lock_banner.label.text()


def test_the_real_lock_question_offers_read_only_first(window, second, loop_copy, qtbot):
    window.prefs.annotator = "A. First"
    assert window.open_path(str(loop_copy))
    texts: list[str] = []

    def take(box) -> None:
        texts.append(box.text())
        [button] = [b for b in box.findChildren(QPushButton) if b.text() == "Take over"]
        assert box.defaultButton().text() == "Open read-only"
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    when_shown(qtbot, take)
    assert second.open_path(str(loop_copy))
    assert "open for editing by A. First" in texts[0]
    assert not second.session.read_only
    assert read_lock(sidecar_path_for(loop_copy)).owner.session == second.session.owner.session


def test_a_stale_lock_is_taken_over_with_a_note(window, loop_copy):
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    record = LockOwner.current("C. Crashed").to_json() | {"pid": int(done.stdout)}
    lock_path_for(sidecar_path_for(loop_copy)).write_text(json.dumps(record), encoding="utf-8")
    assert window.open_path(str(loop_copy))
    assert not window.session.read_only
    assert "C. Crashed" in window.statusBar().currentMessage()
    assert "stale" in window.statusBar().currentMessage()
    assert read_lock(sidecar_path_for(loop_copy)).owner.session == window.session.owner.session


def test_another_computers_old_lock_is_taken_over_a_fresh_one_asked_about(
    window, loop_copy, take_over
):
    asked, _ = take_over
    lock = lock_path_for(sidecar_path_for(loop_copy))
    record = LockOwner.current("D. Elsewhere").to_json()
    lock.write_text(json.dumps(record | {"host": "not-" + socket.gethostname()}), "utf-8")
    assert window.open_path(str(loop_copy))
    assert "D. Elsewhere" in asked[-1]  # refreshed just now: its owner is at work
    assert window.session.read_only
    assert window.close_loop()
    hours_ago = time.time() - 3 * 3600
    os.utime(lock, (hours_ago, hours_ago))
    assert window.open_path(str(loop_copy))
    assert len(asked) == 1  # not asked again: stale, taken over with a note
    assert not window.session.read_only
    assert "D. Elsewhere" in window.statusBar().currentMessage()


def test_closing_the_loop_releases_the_lock(window, loop_copy):
    assert window.open_path(str(loop_copy))
    assert lock_path_for(sidecar_path_for(loop_copy)).exists()
    assert window.close_loop()
    assert not lock_path_for(sidecar_path_for(loop_copy)).exists()


# ---------------------------------------------------- per-session recovery
def test_the_first_windows_save_never_deletes_the_seconds_recovery(
    window, second, loop_copy, take_over
):
    two_editing_windows(window, second, loop_copy, take_over)
    point(window, 100.0, "first")
    point(second, 300.0, "second")
    window.autosave()
    second.autosave()
    assert len(recovery_files(sidecar_path_for(loop_copy))) == 2
    assert window.save()
    [left] = recovery_files(sidecar_path_for(loop_copy))
    assert second.session.owner.session in left.name  # the second's only crash backup
    assert ids_on_disk(loop_copy) == {"first"}


# ------------------------------------------------------ the conflict dialog
def test_merge_keeps_both_windows_marks(window, second, loop_copy, qtbot, take_over):
    two_editing_windows(window, second, loop_copy, take_over)
    point(window, 100.0, "first")
    assert window.save()
    point(second, 300.0, "second")
    seen: list[str] = []
    click_choice(qtbot, ConflictChoice.MERGE, seen)
    assert second.save()
    assert "changed by A. First" in seen[-1]
    assert ids_on_disk(loop_copy) == {"first", "second"}
    assert {o.id for o in second.session.document.annotations.objects} == {"first", "second"}
    assert "first" in second.layer.items  # shown at once
    assert not second.windowTitle().startswith("*")
    assert "Merged with A. First's save" in second.statusBar().currentMessage()
    second.undo()  # the merge is one undoable step
    assert second.session.document.annotations.get("first") is None


def test_merge_keeps_a_track_both_changed_twice_and_flags_it(
    window, second, loop_copy, qtbot, take_over
):
    _, queue = take_over
    window.prefs.annotator = "A. First"
    assert window.open_path(str(loop_copy))
    point(window, 100.0, "shared")
    assert window.save()
    queue.append(True)
    second.prefs.annotator = "B. Second"
    assert second.open_path(str(loop_copy))
    for win, x in ((window, 120.0), (second, 80.0)):
        obj = win.session.document.annotations.get("shared")
        from usannotate.annotations.edits import SetPoints

        win.session.history.push(SetPoints(obj.id, 0, [(x, 200.0)]))
    assert window.save()
    click_choice(qtbot, ConflictChoice.MERGE)
    assert second.save()
    saved = load_sidecar(sidecar_path_for(loop_copy)).annotations
    names = [o.name for o in saved.objects]
    assert len(saved.objects) == 2
    theirs = next(o for o in saved.objects if conflict_flag(o))
    assert theirs.name.endswith(THEIR_VERSION_SUFFIX)
    assert conflict_flag(theirs)["annotator"] == "A. First"
    assert theirs.frames[0][0, 0] == pytest.approx(120.0)
    assert saved.get("shared").frames[0][0, 0] == pytest.approx(80.0)
    assert any(THEIR_VERSION_SUFFIX in n for n in names)


def test_overwrite_replaces_their_version(window, second, loop_copy, qtbot, take_over):
    two_editing_windows(window, second, loop_copy, take_over)
    point(window, 100.0, "first")
    assert window.save()
    point(second, 300.0, "second")
    click_choice(qtbot, ConflictChoice.OVERWRITE)
    assert second.save()
    assert ids_on_disk(loop_copy) == {"second"}


def test_save_as_copy_keeps_their_sidecar_and_mine_beside(
    window, second, loop_copy, qtbot, take_over
):
    two_editing_windows(window, second, loop_copy, take_over)
    point(window, 100.0, "first")
    assert window.save()
    point(second, 300.0, "second")
    click_choice(qtbot, ConflictChoice.COPY)
    assert second.save()
    assert ids_on_disk(loop_copy) == {"first"}
    copy = second.session.path
    assert copy != sidecar_path_for(loop_copy)
    assert copy.name.startswith("case_07.copy-")
    assert copy.name.endswith(".usannotate.json")
    assert {o.id for o in load_sidecar(copy).annotations.objects} == {"second"}
    assert copy.name in second.statusBar().currentMessage()


def test_reload_asks_before_losing_unsaved_marks(
    window, second, loop_copy, qtbot, take_over, monkeypatch
):
    two_editing_windows(window, second, loop_copy, take_over)
    point(window, 100.0, "first")
    assert window.save()
    point(second, 300.0, "second")
    confirmations: list[str] = []
    replies = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]

    def question(parent, title, text, *args, **kwargs):
        confirmations.append(text)
        reply = replies.pop(0)
        if reply == QMessageBox.StandardButton.Cancel:
            click_choice(qtbot, ConflictChoice.RELOAD)  # back in the dialog: Reload again
        return reply

    monkeypatch.setattr(QMessageBox, "question", question)
    click_choice(qtbot, ConflictChoice.RELOAD)
    assert not second.save()  # reloaded: nothing of this window's was saved
    assert len(confirmations) == 2  # asked each time, never assumed
    assert "will be lost" in confirmations[0]
    assert {o.id for o in second.session.document.annotations.objects} == {"first"}
    assert "first" in second.layer.items
    assert "second" not in second.layer.items
    assert ids_on_disk(loop_copy) == {"first"}
    assert not second.windowTitle().startswith("*")


def test_not_now_keeps_the_marks_unsaved(window, second, loop_copy, qtbot, take_over):
    two_editing_windows(window, second, loop_copy, take_over)
    point(window, 100.0, "first")
    assert window.save()
    point(second, 300.0, "second")
    when_shown(qtbot, lambda dialog: dialog.reject())
    assert not second.save()
    assert second.windowTitle().startswith("* ")
    assert ids_on_disk(loop_copy) == {"first"}
