"""File > Open from PACS… and Send to PACS…, driven with real clicks against a real Orthanc."""

from __future__ import annotations

import time
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from tests.pacs.cases import with_patient_id, without_study_uid
from tests.pacs.orthanc import PASSWORD, USER
from usannotate.pacs.cache import COMPLETE_MARKER, PacsCache
from usannotate.pacs.credentials import remembered_secret
from usannotate.pacs.servers import parse_server


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )
    QSettings().clear()
    QSettings().setValue("preferences/annotator", "Test Rater")
    QSettings().setValue("preferences/annotator_asked", True)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Ok)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    from usannotate.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    # The dialogs are window-modal: none may outlive its test (the next window would
    # take it for a dialog already on screen).
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.reject()
    win.close()


def _browser(window, qtbot):
    from usannotate.ui.dialogs.pacs_browser import PacsBrowserDialog

    window.open_pacs_action.trigger()
    dialogs = [w for w in window.findChildren(PacsBrowserDialog) if w.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def _type_server(qtbot, form, address: str, user: str = "", password: str = "") -> None:
    form.server_box.setCurrentText("Other address…")
    qtbot.keyClicks(form.address_edit, address)
    qtbot.keyClicks(form.user_edit, user)
    qtbot.keyClicks(form.password_edit, password)


def test_search_pick_a_series_pull_and_open(window, qtbot, pacs):
    dialog = _browser(window, qtbot)
    _type_server(qtbot, dialog.server_form, pacs.orthanc.dicomweb_url, USER, PASSWORD)
    dialog.server_form.remember_check.click()  # a real click on the box
    qtbot.keyClicks(dialog.patient_edit, "TEST-PACS-1")
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=20000)
    study = dialog.tree.topLevelItem(0)
    assert study.childCount() == 1
    assert study.child(0).text(3) == "3"  # instances
    assert study.child(0).text(4) == str(2 + 3 + 4)  # frames
    assert "1 study found" in dialog.status.text()
    assert dialog.server_form.remember_check.isChecked()
    assert remembered_secret(dialog._server) == PASSWORD  # asked to remember: keyring
    # The preview: Orthanc renders the first frame for DICOMweb.
    qtbot.waitUntil(lambda: not dialog.thumbnail.pixmap().isNull(), timeout=20000)
    with qtbot.waitSignal(dialog.pulled, timeout=30000) as opened:
        qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    folder = Path(opened.args[0])
    cache = PacsCache()
    assert folder.parent == cache.root
    assert (folder / COMPLETE_MARKER).is_file()
    assert sorted(p.name for p in folder.glob("*.dcm")) == sorted(
        f"{pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID}.dcm"
        for p in pacs.series_paths
    )
    qtbot.waitUntil(lambda: window.loop is not None, timeout=10000)
    assert Path(window.loop.path).parent == folder


def test_wrong_password_is_one_line_in_the_dialog(window, qtbot, pacs):
    dialog = _browser(window, qtbot)
    _type_server(qtbot, dialog.server_form, pacs.orthanc.dicomweb_url, USER, "not-it")
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "refused the credentials" in dialog.status.text(), timeout=20000)
    assert "not-it" not in dialog.status.text()
    assert dialog.search_button.isEnabled()
    assert dialog.tree.topLevelItemCount() == 0


class _GatedCache(PacsCache):
    """The real cache, whose pull waits after its first instance until cancelled (so the
    test's click on Cancel lands mid-pull on any machine)."""

    def pull_series(self, *args, progress, cancelled, **kwargs):
        def gated(p) -> None:
            progress(p)
            if p.instances_done >= 1:
                deadline = time.monotonic() + 20
                while not cancelled() and time.monotonic() < deadline:
                    time.sleep(0.01)

        return super().pull_series(*args, progress=gated, cancelled=cancelled, **kwargs)


def test_cancel_mid_pull_opens_nothing_and_leaves_the_series_incomplete(window, qtbot, pacs):
    from usannotate.ui.dialogs.pacs_browser import PacsBrowserDialog

    dialog = PacsBrowserDialog(window, cache=_GatedCache())
    qtbot.addWidget(dialog)
    dialog.show()
    _type_server(qtbot, dialog.server_form, f"{pacs.orthanc.dimse_url}?calling=USANNOTATE")
    qtbot.keyClicks(dialog.patient_edit, "TEST-PACS-1")
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=20000)
    assert dialog.thumbnail.text() == "No preview by DIMSE"
    pulled = []
    dialog.pulled.connect(pulled.append)
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.progress.format().startswith("1 of 3"), timeout=20000)
    assert dialog.cancel_button.isEnabled()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in dialog.status.text(), timeout=20000)
    assert pulled == []
    assert window.loop is None
    assert not dialog.cache.is_complete(dialog.selected_uids()[1])
    assert dialog.open_button.isEnabled()  # a new pull resumes it


def test_send_the_sr_export_to_pacs(window, qtbot, pacs, tmp_path):
    from usannotate.ui.dialogs.pacs_send import SendToPacsButton

    good = with_patient_id(
        Path(get_testdata_file("examples_palette.dcm")), tmp_path / "out" / "a.dcm", "SENT-UI"
    )
    without_study_uid(good, tmp_path / "out" / "b.dcm")
    (tmp_path / "out" / "notes.txt").write_text("not DICOM")
    button = SendToPacsButton(window)
    button.set_output(tmp_path / "out")
    assert button.isEnabled()
    dialog = button.open_dialog()
    assert dialog.file_list.count() == 2
    form = dialog.server_form
    _type_server(qtbot, form, pacs.orthanc.dicomweb_url, USER, PASSWORD)
    qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "refused" in dialog.status.text(), timeout=20000)
    assert dialog.status.text() == "1 of 2 refused by the server"
    assert dialog.file_list.item(0).text() == "OK  a.dcm"
    assert dialog.file_list.item(1).text().startswith("Refused  b.dcm: refused by the server")
    found = pacs.orthanc.rest(
        "POST", "/tools/find", b'{"Level":"Patient","Query":{"PatientID":"SENT-UI"}}'
    )
    assert len(found) == 1
    assert (
        remembered_secret(
            parse_server(f"http://{USER}@127.0.0.1:{pacs.orthanc.http_port}/dicom-web")
        )
        is None
    )


def test_unticking_remember_forgets_the_password(window, qtbot, pacs):
    from usannotate.pacs.credentials import remember_secret

    server = parse_server(f"http://{USER}@127.0.0.1:{pacs.orthanc.http_port}/dicom-web")
    remember_secret(server, PASSWORD)
    dialog = _browser(window, qtbot)
    _type_server(qtbot, dialog.server_form, pacs.orthanc.dicomweb_url, USER, PASSWORD)
    assert not dialog.server_form.remember_check.isChecked()
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "found" in dialog.status.text(), timeout=20000)
    assert remembered_secret(server) is None
