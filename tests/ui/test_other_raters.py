"""Other raters' marks as a read-only layer (hidden by default: blind rating) and the
Agreement dock (the CLI's numbers, worst frames first, a click goes to the frame)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPen

from tests.cine.dicom_factory import worklist_loop
from tests.team.sidecars import document_for
from tests.ui.events import drag
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.sidecar import save_sidecar
from usannotate.sidecar.placement import PROJECT_FILE_NAME, sidecar_location
from usannotate.team.agreement_files import compare_files
from usannotate.team.agreement_rank import worst_frames
from usannotate.ui.dialogs.preferences import Preferences
from usannotate.ui.viewer.rater_layer import RaterMarkItem

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
MM_PER_PX = 0.2


def _needles(dicom: Path, rater: str, shifts: dict[int, float]) -> Path:
    doc = document_for(dicom, rater)
    obj = AnnotatedObject("needle", ShapeKind.NEEDLE, id=f"needle-{rater}")
    for frame, dx in shifts.items():
        obj.set_points(frame, np.array([[20.0 + dx, 20.0], [80.0 + dx, 60.0]]))
    doc.annotations.add(obj)
    path = sidecar_location(dicom, rater=rater)
    save_sidecar(doc, path)
    return path


@pytest.fixture
def team_loop(tmp_path: Path) -> Path:
    (tmp_path / PROJECT_FILE_NAME).write_text("[raters]\nmulti_rater = true\n")
    dicom = worklist_loop(tmp_path / "loop.dcm", n_frames=6, mm_per_px=MM_PER_PX)
    _needles(dicom, "bob", {0: 0.0, 4: 0.0})
    return dicom


@pytest.fixture
def as_alice(window):
    prefs = Preferences.load()
    prefs.annotator = "alice"
    window.apply_preferences(prefs)
    return window


def _rater_items(window) -> list[RaterMarkItem]:
    return [i for i in window.view.scene().items() if isinstance(i, RaterMarkItem)]


def test_other_raters_marks_are_hidden_then_shown_read_only(qtbot, as_alice, team_loop):
    window = as_alice
    bob_file = sidecar_location(team_loop, rater="bob")
    bob_before = bob_file.read_bytes()
    assert window.open_path(str(team_loop))
    assert window.team.others_action.isEnabled()
    assert not window.team.others_action.isChecked()
    assert _rater_items(window) == []  # blind rating: hidden until asked
    qtbot.keyClick(window, Qt.Key.Key_R, CTRL | SHIFT)
    [item] = _rater_items(window)
    assert item.rater == "bob"
    assert "bob" in item.caption.text
    pen: QPen = item.pen()
    assert pen.style() == Qt.PenStyle.CustomDashLine
    # Dragging it (the select tool) moves nothing: it is not a mark of this session.
    drag(window.view, (50.0, 40.0), (70.0, 50.0))
    assert window.session.document.annotations.objects == []
    assert not window.session.is_modified
    qtbot.keyClick(window, Qt.Key.Key_D, CTRL)  # an edit of alice's own, then save
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    alice = json.loads(sidecar_location(team_loop, rater="alice").read_text())
    assert alice["objects"] == []  # bob's marks are never saved into alice's file
    assert bob_file.read_bytes() == bob_before
    qtbot.keyClick(window, Qt.Key.Key_R, CTRL | SHIFT)
    assert _rater_items(window) == []
    qtbot.keyClick(window, Qt.Key.Key_R, CTRL | SHIFT)
    assert window.open_path(str(team_loop))  # opened again: hidden again
    assert _rater_items(window) == []


def test_agreement_dock_gives_the_cli_numbers_worst_first(qtbot, as_alice, team_loop):
    window = as_alice
    alice_file = _needles(team_loop, "alice", {0: 2.0, 4: 10.0})
    assert window.open_path(str(team_loop))
    window.team.dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: window.team.panel.table.rowCount() > 0, timeout=5000)
    expected = worst_frames(
        compare_files(alice_file, sidecar_location(team_loop, rater="bob"), dicom=team_loop)
    )
    panel = window.team.panel
    assert panel.listed_frames() == [d.frame for d in expected]
    assert panel.listed_frames()[0] == 4  # shifted 10 px there, 2 px on frame 0
    assert panel.table.item(0, 2).text() == f"tip {10 * MM_PER_PX:.2f} mm"
    assert "needle" in panel.summary.text()
    # A click on a row shows its frame.
    row_of_frame_0 = panel.listed_frames().index(0)
    rect = panel.table.visualItemRect(panel.table.item(row_of_frame_0, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.state.frame == 0
    # An edit of alice's marks is compared at once (not only what is saved).
    needle = window.session.document.annotations.objects[0]
    from usannotate.annotations.edits import SetPoints

    window.session.history.push(SetPoints(needle.id, 4, np.array([[20.0, 20.0], [80.0, 60.0]])))
    qtbot.waitUntil(lambda: panel.listed_frames()[0] != 4, timeout=5000)
