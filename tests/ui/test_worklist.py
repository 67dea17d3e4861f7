"""The worklist in the window: status column, filters, count line, Mark done / reviewed,
Reopen (undoable), updates when another rater saves, Save and next unlabelled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox

from tests.team.sidecars import document_for, labelled_loop
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.sidecar import WorkStatus, save_sidecar
from usannotate.sidecar.store import sidecar_path_for
from usannotate.ui.docks.loops import STATUS_COLUMN

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier
RATER = "Test Rater"  # the annotator the GUI tests' settings name


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Five loops: two unlabelled, one in progress by us, one done by Bo, one reviewed."""
    root = tmp_path / "archive"
    root.mkdir()
    labelled_loop(root, "loop_1.dcm", status=WorkStatus.IN_PROGRESS, annotator=RATER)
    labelled_loop(root, "loop_2.dcm", status=None)
    labelled_loop(root, "loop_3.dcm", status=WorkStatus.DONE, annotator="Bo", n_tracks=2)
    labelled_loop(root, "loop_4.dcm", status=None)
    labelled_loop(root, "loop_5.dcm", status=WorkStatus.REVIEWED, annotator="Bo")
    return root


@pytest.fixture
def listed(qtbot, window, folder):
    """The window on the folder, its first loop open, the list read."""
    assert window.open_path(str(folder))
    qtbot.waitUntil(lambda: not window.loop_list.is_scanning(), timeout=20_000)
    qtbot.waitUntil(lambda: len(window.loop_list.entries()) == 5, timeout=20_000)
    return window


def _column(window, column: int) -> dict[str, str]:
    proxy = window.loop_list.view.model()
    return {
        proxy.index(row, 0).data(): proxy.index(row, column).data()
        for row in range(proxy.rowCount())
    }


def _status_on_disk(path: Path) -> str:
    return json.loads(sidecar_path_for(path).read_text(encoding="utf-8"))["status"]


def test_the_list_shows_status_tracks_raters_and_the_count(listed):
    statuses = _column(listed, STATUS_COLUMN)
    assert statuses == {
        "loop_1.dcm": "in progress",
        "loop_2.dcm": "none",
        "loop_3.dcm": "done",
        "loop_4.dcm": "none",
        "loop_5.dcm": "reviewed",
    }
    assert _column(listed, 4)["loop_3.dcm"] == "2"
    assert _column(listed, 5)["loop_3.dcm"] == "Bo"
    assert _column(listed, 6)["loop_3.dcm"].startswith("20")
    proxy = listed.loop_list.view.model()
    icons = {
        proxy.index(r, STATUS_COLUMN).data(Qt.ItemDataRole.DecorationRole).cacheKey()
        for r in range(proxy.rowCount())
    }
    assert len(icons) == 4  # one icon per status (none, in progress, done, reviewed)
    assert listed.loop_list.count_label.text() == (
        "2 of 5 done (1 reviewed, 1 in progress, 2 unlabelled)"
    )


def test_clicking_the_status_header_sorts_by_status(qtbot, listed):
    view = listed.loop_list.view
    header = view.header()
    x = header.sectionViewportPosition(STATUS_COLUMN) + header.sectionSize(STATUS_COLUMN) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    order = [e.name for e in listed.loop_list.displayed_entries()]
    assert order[:2] == ["loop_2.dcm", "loop_4.dcm"]  # none first
    assert order[2:] == ["loop_1.dcm", "loop_3.dcm", "loop_5.dcm"]


def _choose(qtbot, combo: QComboBox, text: str) -> None:
    """Pick ``text`` with the keyboard, as a user does on a focused combo box."""
    combo.setFocus()
    while combo.currentText() != text:
        before = combo.currentIndex()
        qtbot.keyClick(combo, Qt.Key.Key_Down)
        assert combo.currentIndex() != before, f"{text} is not a choice"


def test_filters_by_status_and_rater(qtbot, listed):
    panel = listed.loop_list
    _choose(qtbot, panel.status_filter, "Unlabelled only")
    assert [e.name for e in panel.displayed_entries()] == ["loop_2.dcm", "loop_4.dcm"]
    _choose(qtbot, panel.status_filter, "Done")
    assert [e.name for e in panel.displayed_entries()] == ["loop_3.dcm"]
    panel.status_filter.setCurrentIndex(0)
    _choose(qtbot, panel.rater_filter, "Bo")
    assert [e.name for e in panel.displayed_entries()] == ["loop_3.dcm", "loop_5.dcm"]


def test_mark_done_is_undoable_and_saved_then_reopen(qtbot, listed, folder):
    first = folder / "loop_1.dcm"
    assert listed.worklist.status() == WorkStatus.IN_PROGRESS
    qtbot.keyClick(listed, Qt.Key.Key_D, CTRL)
    assert listed.worklist.status() == WorkStatus.DONE
    assert listed.windowTitle().startswith("*") or "*" in listed.windowTitle()
    qtbot.keyClick(listed, Qt.Key.Key_Z, CTRL)
    assert listed.worklist.status() == WorkStatus.IN_PROGRESS
    qtbot.keyClick(listed, Qt.Key.Key_D, CTRL)
    qtbot.keyClick(listed, Qt.Key.Key_S, CTRL)
    assert _status_on_disk(first) == "done"
    assert _column(listed, STATUS_COLUMN)["loop_1.dcm"] == "done"
    assert listed.loop_list.count_label.text().startswith("3 of 5 done")
    # Done cannot be marked done again; it can be reviewed or reopened.
    assert not listed.worklist.mark_done_action.isEnabled()
    qtbot.keyClick(listed, Qt.Key.Key_D, CTRL | SHIFT)
    qtbot.keyClick(listed, Qt.Key.Key_S, CTRL)
    assert _status_on_disk(first) == "in_progress"
    qtbot.keyClick(listed, Qt.Key.Key_D, CTRL | ALT)
    qtbot.keyClick(listed, Qt.Key.Key_S, CTRL)
    assert _status_on_disk(first) == "reviewed"


def test_the_worklist_menu_has_the_actions(listed):
    menus = {a.text().replace("&", ""): a.menu() for a in listed.menuBar().actions()}
    items = [a.text().replace("&", "") for a in menus["Worklist"].actions() if a.text()]
    assert items == [
        "Mark Done",
        "Mark Reviewed",
        "Reopen",
        "Save and Next Unlabelled",
        "Adjudicate…",
    ]


def test_another_raters_save_shows_up_without_reopening(qtbot, listed, folder):
    other = folder / "loop_4.dcm"
    doc = document_for(other, "Cy")
    doc.status = WorkStatus.DONE
    save_sidecar(doc, sidecar_path_for(other))  # as another window would, atomically
    qtbot.waitUntil(lambda: _column(listed, STATUS_COLUMN)["loop_4.dcm"] == "done", timeout=5000)
    assert _column(listed, 5)["loop_4.dcm"] == "Cy"
    assert listed.loop_list.count_label.text().startswith("3 of 5 done")
    sidecar_path_for(other).unlink()
    qtbot.waitUntil(lambda: _column(listed, STATUS_COLUMN)["loop_4.dcm"] == "none", timeout=5000)


def test_save_and_next_unlabelled_with_a(qtbot, listed, folder):
    """A saves (the status stays) and opens the next loop with no sidecar of this rater:
    loop_3 has Bo's sidecar, not ours, so it counts as unlabelled for us."""
    qtbot.keyClick(listed, Qt.Key.Key_A)
    assert Path(listed.loop.path).name == "loop_2.dcm"
    assert _status_on_disk(folder / "loop_1.dcm") == "in_progress"
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [[20.0, 10.0], [60.0, 50.0]])
    listed.session.history.push(AddObject(needle))
    qtbot.keyClick(listed, Qt.Key.Key_S, CTRL | ALT)
    saved = json.loads(sidecar_path_for(folder / "loop_2.dcm").read_text(encoding="utf-8"))
    assert (saved["status"], len(saved["objects"])) == ("in_progress", 1)
    assert Path(listed.loop.path).name == "loop_3.dcm"
    before = sidecar_path_for(folder / "loop_3.dcm").read_bytes()
    qtbot.keyClick(listed, Qt.Key.Key_A)  # nothing changed: Bo's file is left alone
    assert Path(listed.loop.path).name == "loop_4.dcm"
    assert sidecar_path_for(folder / "loop_3.dcm").read_bytes() == before


def test_a_does_nothing_while_a_drawing_tool_is_active(qtbot, listed):
    qtbot.keyClick(listed, Qt.Key.Key_1)  # choose a label: start drawing with it
    assert listed.tools.mode != "select"
    qtbot.keyClick(listed, Qt.Key.Key_A)
    assert Path(listed.loop.path).name == "loop_1.dcm"
