"""File > Export video / frames / teaching case: the dialog's preview, progress, cancel and
"open folder", driven through the real menu actions and mouse clicks."""

from __future__ import annotations

import av
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
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ExportMediaDialog)]
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
