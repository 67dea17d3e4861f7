"""Issue 10, item 4, in the window: a save that fails for any reason (here: no memory
left while writing) says so in a dialog and keeps the marks, unsaved; opening a loop
removes the temporary files killed saves of its sidecar left."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.ui.paths import SAMPLE_A
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.sidecar import _streamed, load_sidecar, recovery_path_for, sidecar_path_for


@pytest.fixture
def loop_copy(tmp_path) -> Path:
    (tmp_path / "scans").mkdir()
    path = tmp_path / "scans" / "case_01.dcm"
    shutil.copy(SAMPLE_A, path)
    return path


def _add_needle(window) -> AnnotatedObject:
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [(200.0, 60.0), (320.0, 200.0)])
    window.session.history.push(AddObject(needle))
    return needle


def test_a_save_that_runs_out_of_memory_keeps_the_marks_unsaved(
    window, loop_copy, dialogs, qtbot, monkeypatch
):
    assert window.open_path(str(loop_copy))
    needle = _add_needle(window)

    def no_memory(self, pending):
        raise MemoryError

    monkeypatch.setattr(_streamed.StreamedFrames, "_lines", no_memory)
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert dialogs == [
        "Not saved: case_01.usannotate.json: not saved: there was not enough memory to "
        "write it; the previous file was kept\n\nYour marks are still here, unsaved."
    ]
    assert window.windowTitle().startswith("*")
    assert window.session.document.annotations.get(needle.id) is needle
    sidecar = sidecar_path_for(loop_copy)
    assert not sidecar.exists()
    assert not [p for p in loop_copy.parent.iterdir() if p.suffix == ".tmp"]

    monkeypatch.undo()
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not window.windowTitle().startswith("*")
    assert load_sidecar(sidecar).annotations.get(needle.id) is not None


def test_opening_a_loop_removes_what_killed_saves_left(window, loop_copy):
    sidecar = sidecar_path_for(loop_copy)
    recovery = recovery_path_for(sidecar)
    dead = [
        loop_copy.parent / f".{sidecar.name}.0badcafe.tmp",
        loop_copy.parent / f".{recovery.name}.deadbeef.tmp",
    ]
    for path in dead:
        path.write_bytes(b"half a save")
    assert window.open_path(str(loop_copy))
    assert not any(path.exists() for path in dead)
