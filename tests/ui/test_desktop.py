"""What a desktop tool is expected to have: preferences, Save As, Close, Export
Measurements, a caliper, the keyboard help built from the actions, About."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox

import usannotate
from tests.ui.events import LEFT, NO_BUTTON, add_needle, drag, mouse
from tests.ui.paths import SAMPLE_A
from usannotate import cli
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.sidecar import load_sidecar, sidecar_path_for
from usannotate.ui.dialogs.about import about_html
from usannotate.ui.dialogs.preferences import Preferences, PreferencesDialog
from usannotate.ui.dialogs.shortcuts import ShortcutsDialog, key_text, shortcut_rows

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def loop_copy(tmp_path) -> Path:
    path = tmp_path / "case_01.dcm"
    shutil.copy(SAMPLE_A, path)
    return path


def table_rows(window) -> list[list[str]]:
    table = window.measurement_panel.table
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def save_file_dialog(monkeypatch, path: Path, chosen_filter: str = "") -> list[str]:
    """Answer the next Save dialogs with ``path``; returns the suggested names."""
    suggested: list[str] = []

    def answer(parent, caption, directory="", *args, **kwargs):
        suggested.append(directory)
        return str(path), chosen_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    return suggested


# --------------------------------------------------------------------- keyboard help
def test_keyboard_help_lists_every_registered_shortcut(window):
    rows = shortcut_rows(window)
    listed = " | ".join(f"{r.keys} {r.action}" for r in rows)
    missing = [
        f"{action.text()} ({key_text(action)})"
        for action in window.findChildren(QAction)
        if key_text(action) and key_text(action) not in listed
    ]
    assert not missing
    # The ones the list used to lack.
    keys = {r.keys for r in rows}
    assert any("Ctrl+Alt+Shift+T" in k for k in keys)
    assert any(k.startswith("+") for k in keys)  # zoom in
    assert any(k.startswith("-") for k in keys)  # zoom out
    labels = next(r for r in rows if r.group == "Labels")
    assert labels.keys.split() == list("1234567890")
    assert {r.group for r in rows} >= {"File", "Edit", "Playback", "View", "Track", "Help"}


def test_a_new_action_appears_in_the_help_by_itself(window):
    action = QAction("Frobnicate the needle", window)
    action.setShortcut("Ctrl+Alt+F")
    window.addAction(action)
    rows = shortcut_rows(window)
    assert any(r.keys == "Ctrl+Alt+F" and r.action == "Frobnicate the needle" for r in rows)


def when_modal(check) -> QTimer:
    """Call ``check(dialog)`` once a modal dialog is up (it must close the dialog)."""
    timer = QTimer()
    timer.setInterval(10)

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None:
            timer.stop()
            check(dialog)

    timer.timeout.connect(poll)
    timer.start()
    return timer


def test_f1_opens_the_help_and_f1_closes_it(window, qtbot):
    seen: list[str] = []

    def look_and_close(dialog) -> None:
        seen.append(type(dialog).__name__)
        seen.append(dialog.browser.toPlainText())
        qtbot.keyClick(dialog.browser, Qt.Key.Key_F1)
        seen.append("closed" if not dialog.isVisible() else "still open")
        dialog.reject()  # never leave a test waiting on a dialog

    timer = when_modal(look_and_close)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    timer.stop()
    assert seen[0] == ShortcutsDialog.__name__
    assert "Track Backward Over Frames" in seen[1]
    assert "Ctrl+Alt+Shift+T" in seen[1]
    assert seen[2] == "closed"
    assert QApplication.activeModalWidget() is None


def test_about_says_version_licence_and_not_for_diagnosis():
    text = about_html()
    assert usannotate.__version__ in text
    assert "MIT" in text
    assert "Not for diagnostic use" in text


# ---------------------------------------------------------------------- preferences
def test_preferences_dialog_saves_and_applies(window, qtbot, tmp_path):
    labels = tmp_path / "project_labels.json"
    labels.write_text(
        json.dumps(
            {
                "format": "usannotate-labels",
                "version": 1,
                "name": "Shoulder",
                "labels": [
                    {
                        "id": "fascia.deltoid",
                        "name": "Deltoid fascia",
                        "kind": "polyline",
                        "colour": "#ffaa00",
                        "shortcut": "1",
                    }
                ],
            }
        )
    )
    dialog = PreferencesDialog(window.prefs, window)
    qtbot.addWidget(dialog)
    dialog.annotator.clear()
    qtbot.keyClicks(dialog.annotator, "A. Sonographer")
    assert dialog.set_label_set_path(str(labels))
    dialog.autosave.setValue(45)
    dialog.caption_size.setValue(12.0)
    dialog.handle_size.setValue(9.0)
    dialog.accept()
    window.apply_preferences(dialog.preferences)
    assert window.autosave_timer.interval() == 45_000
    assert window.layer.caption_point_size == 12.0
    assert window.layer.handle_size_px == 9.0
    again = Preferences.load(QSettings())
    assert again == dialog.preferences
    assert again.annotator == "A. Sonographer"
    assert again.caption_point_size == 12.0
    # The preferred label set is what a new sidecar starts with (no project file here).
    loop = tmp_path / "loops" / "case.dcm"
    loop.parent.mkdir()
    shutil.copy(SAMPLE_A, loop)
    assert window.open_path(str(loop))
    assert [label.id for label in window.session.document.annotations.label_set] == [
        "fascia.deltoid"
    ]
    assert window.session.document.annotator == "A. Sonographer"
    # The marks are drawn with the chosen caption size.
    plane = AnnotatedObject("fascia.deltoid", ShapeKind.POLYLINE)
    plane.set_points(0, [(150.0, 200.0), (400.0, 210.0)])
    window.session.history.push(AddObject(plane))
    caption = window.layer.items[plane.id].caption
    assert caption.text_item.font().pointSizeF() == 12.0


def test_a_broken_label_set_file_is_refused_in_the_dialog(window, qtbot, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    dialog = PreferencesDialog(window.prefs, window)
    qtbot.addWidget(dialog)
    assert not dialog.set_label_set_path(str(broken))
    assert "broken.json" in dialog.problem.text()
    assert dialog.label_set_path.text() == ""  # the old choice is kept


def test_cancelled_preferences_change_nothing(window, qtbot):
    before = Preferences.load()
    dialog = PreferencesDialog(window.prefs, window)
    qtbot.addWidget(dialog)
    dialog.autosave.setValue(200)
    dialog.reject()
    assert Preferences.load() == before


def test_a_damaged_settings_file_gives_defaults():
    settings = QSettings()
    settings.setValue("preferences/autosave_interval_s", "soon")
    settings.setValue("preferences/caption_point_size", "999")
    prefs = Preferences.load(settings)
    assert prefs.autosave_interval_s == 30
    assert prefs.caption_point_size == 24.0  # kept to the allowed range


def test_the_annotator_is_asked_once_at_the_first_save(window, loop_copy, qtbot, monkeypatch):
    QSettings().remove("preferences")
    window.prefs = Preferences.load()
    asked: list[str] = []

    def get_text(parent, title, label, echo, text, *args, **kwargs):
        asked.append(title)
        return "A. Sonographer", True

    monkeypatch.setattr(QInputDialog, "getText", get_text)
    window.open_path(str(loop_copy))
    add_needle(window)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    add_needle(window, frame=5)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert asked == ["Who is annotating?"]
    assert load_sidecar(sidecar_path_for(loop_copy)).annotator == "A. Sonographer"
    assert Preferences.load().annotator == "A. Sonographer"


def test_a_declined_annotator_question_is_not_asked_again(window, loop_copy, qtbot, monkeypatch):
    QSettings().remove("preferences")
    window.prefs = Preferences.load()
    asked: list[str] = []
    monkeypatch.setattr(
        QInputDialog, "getText", lambda *a, **k: (asked.append("asked"), ("", False))[1]
    )
    window.open_path(str(loop_copy))
    add_needle(window)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    add_needle(window, frame=5)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert asked == ["asked"]
    doc = load_sidecar(sidecar_path_for(loop_copy))
    assert doc.annotator in ("", None)
    assert "root" not in str(doc.annotator)


# --------------------------------------------------------------------------- File
def test_save_as_writes_there_and_later_saves_follow(window, loop_copy, qtbot, monkeypatch):
    target = loop_copy.parent / "copies" / "case_01.rater2"
    target.parent.mkdir()
    window.open_path(str(loop_copy))
    needle = add_needle(window)
    save_file_dialog(monkeypatch, target)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL | SHIFT)
    written = target.parent / "case_01.rater2.usannotate.json"
    assert written.exists()
    assert not sidecar_path_for(loop_copy).exists()
    assert not window.windowTitle().startswith("*")
    add_needle(window, frame=7)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    doc = load_sidecar(written)
    assert {obj.id for obj in doc.annotations.objects} >= {needle.id}
    assert len(doc.annotations.objects) == 2
    assert not sidecar_path_for(loop_copy).exists()


def test_close_loop_asks_then_empties_the_window(window, loop_copy, qtbot, monkeypatch):
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(title)
        return QMessageBox.StandardButton.Cancel

    window.open_path(str(loop_copy))
    add_needle(window)
    monkeypatch.setattr(QMessageBox, "question", question)
    qtbot.keyClick(window, Qt.Key.Key_W, CTRL)
    assert asked == ["Unsaved marks"]
    assert window.loop is not None  # cancelled: still open, marks kept
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    qtbot.keyClick(window, Qt.Key.Key_W, CTRL)
    assert window.loop is None
    assert window.session is None
    assert window.windowTitle() == "usannotate"
    assert window.view.frame_item.pixels is None
    assert window.measurement_panel.table.rowCount() == 0
    assert sidecar_path_for(loop_copy).exists()  # saved on the way out
    qtbot.keyClick(window, Qt.Key.Key_Right)  # nothing to step: no error
    assert window.open_path(str(loop_copy))
    assert len(window.session.document.annotations.objects) == 1


def test_export_measurements_equals_the_cli(window, loop_copy, qtbot, monkeypatch):
    window.open_path(str(loop_copy))
    needle = add_needle(window, frame=0)
    needle.set_points(20, needle.frames[0] + [[0.0, 0.0], [12.0, 9.0]])  # the tip advances
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    out = loop_copy.parent / "table.csv"
    suggested = save_file_dialog(monkeypatch, out)
    qtbot.keyClick(window, Qt.Key.Key_E, CTRL)
    assert suggested == [str(loop_copy.with_suffix("")) + ".measurements.csv"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(["measure", str(loop_copy)]) == 0
    assert out.read_text() == printed.getvalue()
    frames = {line.split(",")[0] for line in out.read_text().splitlines()[1:]}
    assert frames == {str(f) for f in range(21)}  # keyframes and every frame between


def test_export_measurements_as_json(window, loop_copy, qtbot, monkeypatch):
    window.open_path(str(loop_copy))
    add_needle(window)
    out = loop_copy.parent / "table"
    save_file_dialog(monkeypatch, out, "JSON (*.json)")
    assert window.export_measurements()
    data = json.loads((loop_copy.parent / "table.json").read_text())
    assert data["columns"][0] == "frame"
    assert {row["measurement"] for row in data["rows"]} >= {"length", "angle", "tip_depth"}


def test_export_to_an_unwritable_place_says_so(window, loop_copy, monkeypatch, dialogs):
    window.open_path(str(loop_copy))
    add_needle(window)
    save_file_dialog(monkeypatch, loop_copy.parent / "no_such_folder" / "table.csv")
    assert not window.export_measurements()
    assert any("table.csv could not be written" in text for text in dialogs)


# ------------------------------------------------------------------------ caliper
def test_caliper_measures_in_mm_and_is_not_saved(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    with usannotate.open_cine(loop_copy) as loop:
        mm_per_px = loop.calibration_for_points([(200, 200)]).mm_per_px_x
    qtbot.keyClick(window, Qt.Key.Key_M, CTRL)
    assert window.measure.line_tool.active
    drag(window.view, (200.0, 150.0), (200.0, 350.0))
    assert not window.measure.line_tool.active
    start, end = window.measure.caliper_points
    length_px = float(np.hypot(end[0] - start[0], end[1] - start[1]))
    assert abs(length_px - 200.0) < 1.5  # the view's pixel grid rounds the mouse
    caliper = next(row for row in table_rows(window) if row[0].startswith("Caliper"))
    assert caliper[3] == "mm"
    assert float(caliper[2]) == pytest.approx(length_px * mm_per_px, abs=0.01)
    assert window.measure.caliper_item.isVisible()
    assert window.measure.caliper_item.caption == f"{length_px * mm_per_px:.2f} mm"
    # Not a mark: nothing to save, nothing in the model.
    assert window.session.document.annotations.objects == []
    assert not window.windowTitle().startswith("*")
    # It stays while stepping through the loop, and goes when cleared.
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert any(row[0].startswith("Caliper") for row in table_rows(window))
    qtbot.keyClick(window, Qt.Key.Key_M, CTRL | SHIFT)
    assert not window.measure.caliper_item.isVisible()
    assert not any(row[0].startswith("Caliper") for row in table_rows(window))


def test_caliper_by_two_clicks_and_esc_cancels(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    qtbot.keyClick(window, Qt.Key.Key_M, CTRL)
    mouse(window.view, QEvent.Type.MouseButtonPress, 150, 100)
    mouse(window.view, QEvent.Type.MouseButtonRelease, 150, 100, LEFT, NO_BUTTON)
    assert window.measure.line_tool.active  # one end placed
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    assert not window.measure.line_tool.active
    assert window.measure.caliper_points is None
    qtbot.keyClick(window, Qt.Key.Key_M, CTRL)
    for x in (150, 450):
        mouse(window.view, QEvent.Type.MouseButtonPress, x, 100)
        mouse(window.view, QEvent.Type.MouseButtonRelease, x, 100, LEFT, NO_BUTTON)
    start, end = window.measure.caliper_points
    assert abs((end[0] - start[0]) - 300.0) < 1.5


def test_caliper_does_not_draw_a_mark_while_marking(window, loop_copy, qtbot):
    window.open_path(str(loop_copy))
    needle_key = next(
        label.shortcut
        for label in window.session.document.annotations.label_set
        if label.id == "needle"
    )
    qtbot.keyClick(window, getattr(Qt.Key, f"Key_{needle_key}"))
    qtbot.keyClick(window, Qt.Key.Key_M, CTRL)
    drag(window.view, (200.0, 150.0), (300.0, 250.0))
    assert window.measure.caliper_points is not None
    assert window.session.document.annotations.objects == []
    assert window.tools.sketch_points.size == 0
