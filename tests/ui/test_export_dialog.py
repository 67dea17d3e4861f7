"""File > Export Marks: the dialog runs the same export as the CLI, with progress and cancel."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from PySide6.QtCore import Qt

from tests.export.conftest import mark_sample
from usannotate.export.run import ExportFormat
from usannotate.sidecar import load_sidecar, sidecar_path_for
from usannotate.ui.dialogs.export import ExportDialog


def _open_marked(window, tmp_path):
    dicom = mark_sample(tmp_path / "loops")
    assert window.open_path(str(dicom))
    return dicom


def _choose_format(qtbot, dialog, kind: ExportFormat) -> None:
    """Pick a format with the keyboard, as a user would."""
    box = dialog.format_box
    box.setFocus()
    while box.currentData() != kind:
        qtbot.keyClick(box, Qt.Key.Key_Down)


def test_menu_exports_cvat_with_the_clis_function(window, qtbot, tmp_path):
    dicom = _open_marked(window, tmp_path)
    qtbot.keyClick(
        window,
        Qt.Key.Key_E,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    dialog = window.findChild(ExportDialog)
    assert dialog is not None
    assert dialog.isVisible()
    _choose_format(qtbot, dialog, ExportFormat.CVAT)
    out = tmp_path / "typed.xml"
    dialog.output_edit.clear()
    qtbot.keyClicks(dialog.output_edit, str(out))
    assert not dialog.frames_box.isVisibleTo(dialog)  # CVAT writes every stored frame
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.job.is_running, timeout=60_000)
    assert dialog.progress_bar.value() == 1000
    assert "typed.xml" in dialog.status_label.text()
    root = ET.parse(out).getroot()
    objects = load_sidecar(sidecar_path_for(dicom)).annotations.objects
    assert len(root.findall("track")) == len(objects)


def test_cancel_stops_a_coco_export_before_its_index(window, qtbot, tmp_path):
    _open_marked(window, tmp_path)
    dialog = window.export_marks()
    qtbot.addWidget(dialog)
    _choose_format(qtbot, dialog, ExportFormat.COCO)
    assert dialog.frames_box.isVisibleTo(dialog)
    dialog.frames_box.setFocus()
    qtbot.keyClick(dialog.frames_box, Qt.Key.Key_End)  # every frame of the loop
    out = tmp_path / "coco"
    dialog.output_edit.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.job.is_running, timeout=60_000)
    assert "Cancelled" in dialog.status_label.text()
    assert not (out / "annotations" / "train.json").exists()
    assert dialog.export_button.isEnabled()


def test_bad_output_is_said_in_the_dialog(window, qtbot, tmp_path):
    _open_marked(window, tmp_path)
    dialog = window.export_marks()
    qtbot.addWidget(dialog)
    _choose_format(qtbot, dialog, ExportFormat.SR)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    dialog.output_edit.setText(str(blocker / "report.dcm"))  # a file where a folder must be
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.job.is_running, timeout=60_000)
    text = dialog.status_label.text()
    assert text.startswith("Not exported:")
    assert "report.dcm" in text
    assert str(tmp_path) not in text  # the file's name only, never its folders
