"""Worklist > Adjudicate…: every rater's tracks side by side, accept / average / edit per
track and frame range, undoable, saved to <loop>.adjudicated.usannotate.json with
provenance and status reviewed; the raters' files untouched; agreement worst first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.cine.dicom_factory import worklist_loop
from tests.team.sidecars import document_for
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.sidecar import save_sidecar
from usannotate.sidecar.placement import ADJUDICATED, PROJECT_FILE_NAME, sidecar_location
from usannotate.ui.dialogs.preferences import Preferences
from usannotate.ui.viewer.rater_layer import RaterMarkItem

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier


def _needle(dicom: Path, rater: str, dx: float) -> Path:
    doc = document_for(dicom, rater)
    obj = AnnotatedObject("needle", ShapeKind.NEEDLE, id=f"n-{rater}")
    obj.set_points(0, np.array([[20.0 + dx, 20.0], [80.0 + dx, 60.0]]))
    obj.set_points(5, np.array([[20.0 + dx, 20.0], [90.0 + dx, 70.0]]))
    doc.annotations.add(obj)
    path = sidecar_location(dicom, rater=rater)
    save_sidecar(doc, path)
    return path


@pytest.fixture
def team_loop(tmp_path: Path) -> Path:
    (tmp_path / PROJECT_FILE_NAME).write_text("[raters]\nmulti_rater = true\n")
    dicom = worklist_loop(tmp_path / "loop.dcm", n_frames=6, mm_per_px=0.2)
    _needle(dicom, "alice", 0.0)
    _needle(dicom, "bob", 6.0)
    return dicom


def test_adjudicate_accept_average_undo_save(qtbot, window, team_loop):
    prefs = Preferences.load()
    prefs.annotator = "carol"
    window.apply_preferences(prefs)
    raters_before = {r: sidecar_location(team_loop, rater=r).read_bytes() for r in ("alice", "bob")}
    assert window.open_path(str(team_loop))
    qtbot.keyClick(window, Qt.Key.Key_J, CTRL | ALT)
    assert window.adjudication.active
    assert "(adjudication)" in window.windowTitle()
    # Both raters' needles drawn side by side, each in its own style.
    items = [i for i in window.view.scene().items() if isinstance(i, RaterMarkItem)]
    assert sorted(i.rater for i in items) == ["alice", "bob"]
    assert len({i.pen().color().name() for i in items}) == 2
    # Agreement shown, worst frames first.
    panel = window.team.panel
    qtbot.waitUntil(lambda: panel.table.rowCount() > 0, timeout=5000)
    assert panel.pair() == ("alice", "bob")
    assert panel.table.item(0, 2).text() == f"tip {6 * 0.2:.2f} mm"
    adj = window.adjudication.panel
    assert adj.current_group().label_id == "needle"
    assert adj.frame_range() == (0, 5)
    # Accept alice on frames 1-3 (1-based), average on 4-6.
    adj.set_frame_range(0, 2)
    qtbot.mouseClick(adj.accept_buttons["alice"], Qt.MouseButton.LeftButton)
    adj.set_frame_range(3, 5)
    qtbot.mouseClick(adj.average_button, Qt.MouseButton.LeftButton)
    result = window.session.document.annotations
    [obj] = result.objects
    assert obj.points(4)[1][0] == pytest.approx((88.0 + 94.0) / 2)  # tip x averaged
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # undo the average
    assert not window.session.document.annotations.objects[0].exists_on(4)  # accepted 0-2 only
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)  # redo
    assert window.session.document.annotations.objects[0].exists_on(5)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert not window.session.is_modified
    saved = json.loads(sidecar_location(team_loop, rater=ADJUDICATED).read_text())
    assert saved["status"] == "reviewed"
    [record] = saved["objects"]
    assert [(e["how"], e["raters"]) for e in record["adjudication"]] == [
        ("accepted", ["alice"]),
        ("averaged", ["alice", "bob"]),
    ]
    assert [(e["first_frame"], e["last_frame"]) for e in record["adjudication"]] == [
        (0, 2),
        (3, 5),
    ]
    for rater, data in raters_before.items():  # the raters' files never written
        assert sidecar_location(team_loop, rater=rater).read_bytes() == data
    # A click on an agreement row goes to that frame.
    rect = panel.table.visualItemRect(panel.table.item(0, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.state.frame == panel.listed_frames()[0]
    # Opening the loop again as a rater ends adjudication: others hidden again.
    assert window.open_path(str(team_loop))
    assert not window.adjudication.active
    assert not [i for i in window.view.scene().items() if isinstance(i, RaterMarkItem)]


def test_the_raters_comments_are_beside_the_track_and_go_to_their_frame(qtbot, window, tmp_path):
    """The Adjudication dock lists what each rater wrote on the chosen track and the loop;
    a click on one goes to its frame; accepting alice's needle carries hers."""
    from usannotate.annotations.details import Comment
    from usannotate.sidecar import load_sidecar

    (tmp_path / PROJECT_FILE_NAME).write_text("[raters]\nmulti_rater = true\n")
    dicom = worklist_loop(tmp_path / "loop.dcm", n_frames=6, mm_per_px=0.2)
    alice_path = _needle(dicom, "alice", 0.0)
    _needle(dicom, "bob", 6.0)
    doc = load_sidecar(alice_path)
    doc.annotations.details.comments = [
        Comment("tip under the shadow here", "alice", frame=4, object_id="n-alice")
    ]
    save_sidecar(doc, alice_path)
    prefs = Preferences.load()
    prefs.annotator = "carol"
    window.apply_preferences(prefs)
    assert window.open_path(str(dicom))
    qtbot.keyClick(window, Qt.Key.Key_J, CTRL | ALT)
    adj = window.adjudication.panel
    qtbot.waitUntil(lambda: adj.current_group() is not None, timeout=5000)
    texts = [adj.comments.item(i).text() for i in range(adj.comments.count())]
    assert texts == ["alice · frame 5: tip under the shadow here"]
    item = adj.comments.item(0)
    rect = adj.comments.visualItemRect(item)
    qtbot.mouseClick(adj.comments.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.state.frame == 4
    qtbot.mouseClick(adj.accept_buttons["alice"], Qt.MouseButton.LeftButton)
    [carried] = window.session.document.annotations.details.comments
    assert (carried.text, carried.author) == ("tip under the shadow here", "alice")
