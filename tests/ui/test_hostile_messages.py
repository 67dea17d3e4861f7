"""Issue 10, item 2, in the window: a hostile file's dialog and status bar quote no
patient data (they show the core's messages, which the cine tests check at length)."""

from __future__ import annotations

import struct
from pathlib import Path

from PySide6.QtWidgets import QApplication, QLabel

from tests.cine import dicom_factory as factory


def _leaks(text: str) -> list[str]:
    return [piece for piece in factory.PLANTED_PIECES if piece in text.upper()]


def _planted(folder: Path) -> Path:
    case = factory.make_jpegls_lossless_mono2_8bit(folder / "plain")
    return factory.with_planted_patient(case.path, folder / "planted.dcm")


def _with_length(source: Path, tag: bytes, new_length: int, dest: Path) -> Path:
    data = bytearray(source.read_bytes())
    at = data.find(tag)
    assert at > 0
    struct.pack_into("<H", data, at + 6, new_length)
    dest.write_bytes(bytes(data))
    return dest


def _everything_shown(window) -> str:
    QApplication.processEvents()
    labels = [label.text() for label in window.findChildren(QLabel) if label.isVisible()]
    return "\n".join([window.windowTitle(), window.statusBar().currentMessage(), *labels])


def test_a_damaged_transfer_syntax_uid_dialog_quotes_no_header_bytes(window, tmp_path, dialogs):
    path = _with_length(_planted(tmp_path), b"\x02\x00\x10\x00UI", 552, tmp_path / "ts552.dcm")
    assert not window.open_path(str(path))
    assert dialogs == [
        "Cannot open loop: ts552.dcm: the transfer syntax UID of the file meta header is damaged"
    ]
    assert not _leaks(_everything_shown(window))


def test_a_swallowing_scanner_detail_is_not_shown(window, tmp_path, dialogs):
    """The manufacturer's length covers the institution (the hospital's name): the loop
    opens, and neither the details panel nor the status bar shows the swallowed bytes
    while "Show patient details" is off."""
    source = _planted(tmp_path)
    data = source.read_bytes()
    at = data.find(b"\x08\x00\x70\x00LO")
    (old,) = struct.unpack_from("<H", data, at + 6)
    (hospital,) = struct.unpack_from("<H", data, at + 8 + old + 6)
    path = _with_length(source, b"\x08\x00\x70\x00LO", old + 8 + hospital, tmp_path / "s.dcm")
    assert window.open_path(str(path))
    assert dialogs == []
    assert not window.metadata.patient_checkbox.isChecked()
    assert not _leaks(_everything_shown(window))
