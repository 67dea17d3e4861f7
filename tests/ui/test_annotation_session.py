"""Marks in the window: sidecar opened and saved, undo, copy to the next frame, recovery."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.ui.paths import SAMPLE_A, SAMPLE_B
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.sidecar import recovery_path_for, sidecar_path_for


@pytest.fixture
def loop_copy(tmp_path) -> Path:
    path = tmp_path / "case_01.dcm"
    shutil.copy(SAMPLE_A, path)
    return path


@pytest.fixture
def answers(monkeypatch):
    """Scripted answers to question dialogs, recorded with their text."""
    asked: list[str] = []
    queue: list[QMessageBox.StandardButton] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(f"{title}: {text}")
        return queue.pop(0) if queue else QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked, queue


def add_needle(window, frame: int = 0) -> AnnotatedObject:
    truth = json.loads(SAMPLE_A.with_name("hydrodissection_linear_a.truth.json").read_text())
    needle_truth = truth["frames"][40]["needle"]
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(frame, [needle_truth["entry"], needle_truth["tip"]])
    window.session.history.push(AddObject(needle))
    return needle


def test_new_loop_gets_a_new_document_with_the_default_labels(window, loop_copy):
    assert window.open_path(str(loop_copy))
    assert window.session is not None
    assert window.label_panel.list.count() >= 9
    assert not window.windowTitle().startswith("*")
    assert not sidecar_path_for(loop_copy).exists()  # nothing written until saved


def test_marks_show_measure_save_and_undo(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    needle = add_needle(window)
    assert needle.id in window.layer.items
    assert window.windowTitle().startswith("* ")
    texts = [
        window.measurement_panel.table.item(r, 1).text()
        for r in range(window.measurement_panel.table.rowCount())
    ]
    assert any("angle" in t.lower() for t in texts)
    units = {
        window.measurement_panel.table.item(r, 3).text()
        for r in range(window.measurement_panel.table.rowCount())
    }
    assert "deg" in units
    assert "mm" in units
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert sidecar_path_for(loop_copy).exists()
    assert not window.windowTitle().startswith("*")
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert needle.id not in window.layer.items
    assert window.windowTitle().startswith("* ")
    qtbot.keyClick(
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert needle.id in window.layer.items
    assert not window.windowTitle().startswith("*")  # back to what is saved


def test_copy_marks_to_the_next_frame(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    needle = add_needle(window)
    qtbot.keyClick(window, Qt.Key.Key_C)
    assert window.index == 1
    assert 1 in needle.frames
    assert needle.id in window.layer.items
    needle.frames[1][0, 0] += 5  # each frame owns its geometry
    assert needle.frames[0][0, 0] != needle.frames[1][0, 0]


def test_number_keys_choose_labels(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    shortcut = next(
        label.shortcut
        for label in window.session.document.annotations.label_set
        if label.id == "needle"
    )
    qtbot.keyClick(window, getattr(Qt.Key, f"Key_{shortcut}"))
    assert window.current_label == "needle"
    assert window.label_panel.current_label() == "needle"


def test_saved_marks_come_back(window, loop_copy):
    window.open_path(str(loop_copy))
    needle = add_needle(window)
    assert window.save()
    window.open_path(str(SAMPLE_B))
    window.open_path(str(loop_copy))
    reopened = window.session.document.annotations.get(needle.id)
    assert reopened is not None
    assert reopened.frames[0].ravel().tolist() == pytest.approx(
        needle.frames[0].ravel().tolist(), abs=1e-3
    )


def test_switching_loops_asks_about_unsaved_marks(window, loop_copy, answers):
    asked, queue = answers
    window.open_path(str(loop_copy))
    add_needle(window)
    queue.append(QMessageBox.StandardButton.Cancel)
    assert not window.open_path(str(SAMPLE_B))
    assert Path(window.loop.path) == loop_copy
    assert "not saved" in asked[-1]
    queue.append(QMessageBox.StandardButton.Discard)
    assert window.open_path(str(SAMPLE_B))
    assert not sidecar_path_for(loop_copy).exists()


def test_autosave_is_offered_back_after_a_crash(window, loop_copy, answers):
    asked, queue = answers
    window.open_path(str(loop_copy))
    needle = add_needle(window)
    window.autosave()
    session = window.session.owner.session
    assert recovery_path_for(sidecar_path_for(loop_copy), session).exists()
    window.session.history.mark_saved()  # as if the program died: no prompt, no save
    window.open_path(str(SAMPLE_B))
    queue.append(QMessageBox.StandardButton.Yes)
    window.open_path(str(loop_copy))
    assert "Recover" in asked[-1]
    assert window.session.document.annotations.get(needle.id) is not None
    assert window.windowTitle().startswith("* ")  # recovered work is not saved yet


def test_autosave_waits_for_playback_to_stop(window, loop_copy):
    # Writing a busy loop's recovery file takes a few hundred ms: never mid-playback.
    window.open_path(str(loop_copy))
    add_needle(window)
    recovery = recovery_path_for(sidecar_path_for(loop_copy), window.session.owner.session)
    window.state.set_playing(True)
    window.autosave_timer.timeout.emit()
    assert not recovery.exists()
    window.state.set_playing(False)
    assert recovery.exists()


def test_damaged_sidecar_is_reported_and_kept(window, loop_copy, dialogs):
    sidecar = sidecar_path_for(loop_copy)
    sidecar.write_text("{ this is not json", encoding="utf-8")
    assert window.open_path(str(loop_copy))  # the loop still opens for viewing
    assert window.session is None
    assert any("case_01.usannotate.json" in d for d in dialogs)
    assert sidecar.read_text(encoding="utf-8") == "{ this is not json"
    window.save()
    assert sidecar.read_text(encoding="utf-8") == "{ this is not json"


def test_a_project_label_set_in_the_folder_is_used(window, loop_copy):
    from usannotate.annotations import Label, LabelSet, ShapeKind, label_set_to_json

    project = LabelSet(
        "trigger points",
        [
            Label("fascia.trapezius", "Trapezius fascia", ShapeKind.POLYLINE, "#e69f00", "1"),
            Label("needle", "Needle", ShapeKind.NEEDLE, "#ffffff", "2"),
        ],
    )
    (loop_copy.parent / "labels.usannotate.json").write_text(
        json.dumps(label_set_to_json(project)), encoding="utf-8"
    )
    window.open_path(str(loop_copy))
    assert [label.id for label in window.session.document.annotations.label_set] == [
        "fascia.trapezius",
        "needle",
    ]
    assert window.label_panel.list.count() == 2


def test_choosing_a_label_relabels_the_selected_mark(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    plane = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE)
    plane.set_points(0, [(120, 200), (300, 205), (500, 210)])
    window.session.history.push(AddObject(plane))
    window.tools.select_mode()
    window.tools.select(plane.id)
    window.label_panel.choose("fascia.superficial")
    assert plane.label_id == "fascia.superficial"
    window.undo()
    assert plane.label_id == "fascia.deep"
    window.tools.select(plane.id)
    window.label_panel.choose("needle")  # another kind: starts drawing a needle instead
    assert plane.label_id == "fascia.deep"
    assert window.tools.mode == "draw"


def test_marks_opacity_and_trajectory_are_display_only(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    needle = add_needle(window)
    window.opacity_slider.setValue(40)
    assert window.layer.items[needle.id].opacity_level == pytest.approx(0.4)
    qtbot.keyClick(window, Qt.Key.Key_T)
    assert not window.layer.items[needle.id].show_trajectory
    assert window.session.history.undo_text == "Add mark"  # nothing was edited


def test_a_label_key_always_starts_marking_never_relabels(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    plane = AnnotatedObject("fascia.superficial", ShapeKind.POLYLINE)
    plane.set_points(0, [(120, 200), (300, 205), (500, 210)])
    window.session.history.push(AddObject(plane))
    window.tools.select_mode()
    window.tools.select(plane.id)
    qtbot.keyClick(window, Qt.Key.Key_2)  # deep fascia, the same kind
    assert plane.label_id == "fascia.superficial"
    assert window.tools.mode == "draw"
    assert window.tools.label.id == "fascia.deep"
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.keyClick(window, Qt.Key.Key_2)  # the current label again: draws again
    assert window.tools.mode == "draw"
