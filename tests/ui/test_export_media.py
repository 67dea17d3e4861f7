"""File > Export video / frames / teaching case: the dialog's preview, progress, cancel and
"open folder", driven through the real menu actions and mouse clicks."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.export.media_cases import annotated_sample
from usannotate.ui.dialogs.export_media import ExportMediaDialog


@pytest.fixture
def annotated(window, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the deid key
    dicom, truth = annotated_sample(tmp_path)
    assert window.open_path(str(dicom))
    return window, dicom, truth


def _dialog(window) -> ExportMediaDialog:
    dialogs = [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, ExportMediaDialog) and w.isVisible()  # closed ones await deletion
    ]
    assert len(dialogs) == 1
    return dialogs[0]


def test_video_dialog_previews_the_mask_and_writes_the_video(
    annotated, qtbot, tmp_path, monkeypatch
):
    window, _, truth = annotated
    window.export_video_action.trigger()
    dialog = _dialog(window)
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=20000)
    # The preview shows the mask (the banner outside the region) and the first frame.
    assert not dialog.mask_view.pixmap().isNull()
    assert not dialog.frame_view.pixmap().isNull()
    assert "pixels outside the regions black" in dialog.status.text()
    out = tmp_path / "from_dialog.mp4"
    dialog.output_edit.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.open_button.isEnabled, timeout=60000)
    assert dialog.progress.value() == 100
    assert dialog.written_folder == tmp_path
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == truth["n_frames"]
    opened = []
    monkeypatch.setattr(
        "usannotate.ui.dialogs.export_media.QDesktopServices.openUrl",
        lambda url: opened.append(url.toLocalFile()) or True,
    )
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(tmp_path)]
    dialog.close()


def test_frames_dialog_writes_the_chosen_frames(annotated, qtbot, tmp_path):
    window, _, _ = annotated
    window.export_frames_action.trigger()
    dialog = _dialog(window)
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=20000)
    out = tmp_path / "frames"
    dialog.output_edit.setText(str(out))
    dialog.frames_combo.setCurrentIndex(2)
    dialog.frames_edit.setText("5, 7")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.open_button.isEnabled, timeout=30000)
    assert sorted(p.name for p in out.iterdir()) == ["frame_0005.png", "frame_0007.png"]
    dialog.close()


def test_cancelled_teaching_export_leaves_nothing(annotated, qtbot, tmp_path):
    window, _, _ = annotated
    window.export_teaching_action.trigger()
    dialog = _dialog(window)
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=20000)
    out = tmp_path / "case_folder"
    dialog.output_edit.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.text() == "Cancel"
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Cancelled" in dialog.status.text(), timeout=60000)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".usannotate-teaching")]
    assert not dialog.open_button.isEnabled()
    dialog.close()


def test_export_without_a_loop_says_so(window):
    assert window.export_media("video") is None


def test_export_uses_the_marks_as_in_the_window_with_unsaved_edits(annotated, qtbot, tmp_path):
    """A needle tip dragged (not saved) is where the teaching case and the frames put it."""
    from tests.ui.events import click, drag
    from usannotate.export.annotated import AnnotatedLoop
    from usannotate.sidecar import load_sidecar, sidecar_path_for

    window, dicom, truth = annotated
    on_disk = sidecar_path_for(dicom).read_bytes()
    frame = next(f for f in truth["frames"] if f["needle"])
    index = frame["index"]
    entry, tip = np.array(frame["needle"]["entry"]), np.array(frame["needle"]["tip"])
    window.navigator.show_index(index)
    needle = next(o for o in window.session.document.annotations.objects if o.label_id == "needle")
    click(window.view, *((entry + tip) / 2))  # select the needle
    new_tip = tip + np.array([0.0, 45.0])
    drag(window.view, tuple(tip), tuple(new_tip))
    assert np.abs(needle.points(index)[1] - new_tip).max() < 1.5
    assert window.windowTitle().startswith("*")  # unsaved

    window.export_teaching_action.trigger()
    dialog = _dialog(window)
    assert "unsaved changes" in dialog.note.text()
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=20000)
    case = tmp_path / "case_folder"
    dialog.output_edit.setText(str(case))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.open_button.isEnabled, timeout=120000)
    dialog.close()
    carried = load_sidecar(case / "case.usannotate.json")
    carried_needle = next(o for o in carried.annotations.objects if o.label_id == "needle")
    assert np.abs(carried_needle.points(index)[1] - new_tip).max() < 1.5
    rows = (case / "measurements.csv").read_text()
    assert rows  # the table was made from the same (edited) marks

    window.export_frames_action.trigger()
    dialog = _dialog(window)
    qtbot.waitUntil(dialog.export_button.isEnabled, timeout=20000)
    frames = tmp_path / "frames"
    dialog.output_edit.setText(str(frames))
    dialog.frames_combo.setCurrentIndex(2)
    dialog.frames_edit.setText(str(index))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.open_button.isEnabled, timeout=30000)
    dialog.close()
    png = cv2.imread(str(frames / f"frame_{index:04d}.png"))[..., ::-1]
    with AnnotatedLoop(dicom) as saved:  # drawn from the sidecar on disk
        before = saved.frame(index)
    with AnnotatedLoop(dicom, annotations=window.state.annotations) as edited:
        np.testing.assert_array_equal(png, edited.frame(index))
    changed = np.argwhere(np.abs(png.astype(np.int16) - before).max(axis=2) > 0)
    assert len(changed)
    # what changed is the needle's end: pixels moved near the new tip
    assert np.hypot(*(changed[:, ::-1] - new_tip).T).min() < 4
    assert sidecar_path_for(dicom).read_bytes() == on_disk  # nothing was saved
