"""The window on a really read-only archive (chmod a-w): the marks are saved into the
annotation folder set in Preferences (shown in the title bar), nothing is written into
the archive, and the Loops list reads the status from there."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.team.sidecars import labelled_loop
from usannotate.sidecar import WorkStatus, load_sidecar
from usannotate.sidecar.placement import sidecar_location
from usannotate.ui.dialogs.preferences import Preferences
from usannotate.ui.docks.loops import STATUS_COLUMN

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def archive(tmp_path: Path):
    study = tmp_path / "archive"
    study.mkdir()
    labelled_loop(study, "loop_1.dcm", status=None)
    labelled_loop(study, "loop_2.dcm", status=None)
    study.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield study
    study.chmod(stat.S_IRWXU)


def test_saving_a_loop_of_a_read_only_archive(qtbot, window, archive, tmp_path):
    notes = tmp_path / "notes"
    prefs = Preferences.load()
    prefs.annotation_folder = str(notes)
    window.apply_preferences(prefs)
    assert window.open_path(str(archive))
    qtbot.waitUntil(lambda: len(window.loop_list.entries()) == 2, timeout=20_000)
    assert f"annotations in {notes}" in window.windowTitle()
    qtbot.keyClick(window, Qt.Key.Key_D, CTRL)  # Mark done: an edit to save
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert sorted(os.listdir(archive)) == ["loop_1.dcm", "loop_2.dcm"]
    saved = sidecar_location(archive / "loop_1.dcm")
    assert saved.is_relative_to(notes)
    assert load_sidecar(saved).status == WorkStatus.DONE
    proxy = window.loop_list.view.model()
    qtbot.waitUntil(lambda: proxy.index(0, STATUS_COLUMN).data() == "done", timeout=10_000)
    assert not window.session.is_modified


def test_without_an_annotation_folder_the_save_says_where_to_set_one(
    qtbot, window, archive, dialogs, tmp_path
):
    assert window.open_path(str(archive / "loop_2.dcm"))
    assert "annotations in" not in window.windowTitle()
    qtbot.keyClick(window, Qt.Key.Key_D, CTRL)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert any("Preferences" in text and "read-only" in text for text in dialogs)
    assert window.session.is_modified  # the work is kept
    assert sorted(os.listdir(archive)) == ["loop_1.dcm", "loop_2.dcm"]
    # Choosing one then lets the same session save there.
    prefs = Preferences.load()
    prefs.annotation_folder = str(tmp_path / "notes")
    window.apply_preferences(prefs)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert not window.session.is_modified
    saved = sidecar_location(archive / "loop_2.dcm")
    assert saved.is_relative_to(tmp_path / "notes")
    assert load_sidecar(saved).status == WorkStatus.DONE
    assert sorted(os.listdir(archive)) == ["loop_1.dcm", "loop_2.dcm"]
