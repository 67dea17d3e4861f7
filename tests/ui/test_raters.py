"""A folder set up for several raters (usannotate.toml): the window writes this rater's
own file, records the rater, refuses a name that cannot be part of a file name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.team.sidecars import labelled_loop
from usannotate.sidecar import WorkStatus
from usannotate.sidecar.placement import PROJECT_FILE_NAME
from usannotate.team.worklist import loop_status
from usannotate.ui.dialogs.preferences import Preferences

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def team_folder(tmp_path: Path) -> Path:
    root = tmp_path / "team"
    root.mkdir()
    labelled_loop(root, "loop_1.dcm", status=None)
    (root / PROJECT_FILE_NAME).write_text(
        '[raters]\nmulti_rater = true\nnames = ["alice", "bob"]\n', encoding="utf-8"
    )
    return root


def _as_rater(window, name: str) -> None:
    prefs = Preferences.load()
    prefs.annotator = name
    window.apply_preferences(prefs)


def test_each_rater_writes_a_file_of_their_own(qtbot, window, team_folder):
    dicom = team_folder / "loop_1.dcm"
    for rater in ("alice", "bob"):
        _as_rater(window, rater)
        assert window.open_path(str(dicom))
        assert f"({rater})" in window.windowTitle()
        qtbot.keyClick(window, Qt.Key.Key_D, CTRL)
        qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
        assert not window.session.is_modified
        data = json.loads((team_folder / f"loop_1.{rater}.usannotate.json").read_text())
        assert data["rater"] == rater
        assert data["status"] == "done"
    assert not (team_folder / "loop_1.usannotate.json").exists()
    row = loop_status(dicom)
    assert row.summary.raters == ("alice", "bob")
    assert row.status == WorkStatus.DONE
    assert loop_status(dicom, rater="carol").status is None


def test_a_name_with_a_dot_is_refused_in_a_team_folder(qtbot, window, team_folder, dialogs):
    _as_rater(window, "A. Sonographer")
    before = sorted(os.listdir(team_folder))
    assert window.open_path(str(team_folder / "loop_1.dcm"))
    assert window.session is None
    assert any("rater name" in text and "Preferences" in text for text in dialogs)
    assert sorted(os.listdir(team_folder)) == before
