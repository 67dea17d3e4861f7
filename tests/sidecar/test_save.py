"""Saving: atomic, validated, never over a damaged or foreign file; a failed save leaves
the previous file and the document as they were. Plus file names, new documents and the
autosave recovery file."""

from __future__ import annotations

import errno
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

import usannotate
from tests.sidecar.docs import LATER, LOOP_A, LOOP_B, NOW, empty_document, sample_document
from usannotate import _atomic
from usannotate._atomic import is_temporary_for, remove_stale_temporaries
from usannotate.annotations import AnnotatedObject, ShapeKind, default_label_set
from usannotate.annotations.edits import EditHistory, SetManualCalibration
from usannotate.sidecar import (
    ManualCalibration,
    SidecarConflictError,
    SidecarDocument,
    SidecarWriteError,
    discard_recovery,
    is_sidecar_path,
    load_recovery,
    load_sidecar,
    new_document,
    recovery_is_newer,
    recovery_path_for,
    save_sidecar,
    sidecar_matches_dicom,
    sidecar_path_for,
    write_recovery,
)
from usannotate.sidecar._conflict import rebase

NAME = "loop.usannotate.json"


def _saved(tmp_path: Path) -> tuple[SidecarDocument, Path, bytes]:
    doc = sample_document(n_frames=3)
    path = tmp_path / NAME
    save_sidecar(doc, path, now=NOW)
    return doc, path, path.read_bytes()


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("dicom", "sidecar"),
    [
        ("scans/loop_a.dcm", "scans/loop_a.usannotate.json"),
        ("scans/LOOP_A.DCM", "scans/LOOP_A.usannotate.json"),
        ("scans/IM_0001", "scans/IM_0001.usannotate.json"),
        ("scans/loop.v2.dcm", "scans/loop.v2.usannotate.json"),
        ("scans/.dcm", "scans/.dcm.usannotate.json"),
        ("scans/échographie 1.dcm", "scans/échographie 1.usannotate.json"),
    ],
)
def test_sidecar_name_is_derived_from_the_dicom_name(dicom: str, sidecar: str):
    assert sidecar_path_for(dicom) == Path(sidecar)
    assert sidecar_matches_dicom(sidecar, dicom)
    assert is_sidecar_path(sidecar)


def test_recovery_and_temporary_files_are_never_taken_for_sidecars(tmp_path: Path):
    path = tmp_path / NAME
    assert not sidecar_matches_dicom(path, tmp_path / "other.dcm")
    recovery = recovery_path_for(path)
    assert recovery == tmp_path / ".loop.usannotate.recovery.json"
    assert not is_sidecar_path(recovery)
    assert not is_sidecar_path(tmp_path / f".{NAME}.0a1b2c3d.tmp")
    assert is_temporary_for(f".{NAME}.0a1b2c3d.tmp", path)
    assert not is_temporary_for(NAME, path)
    assert not is_sidecar_path(tmp_path / "loop.dcm")


# ------------------------------------------------------------ new documents
def test_new_document_describes_its_loop():
    labels = sample_document(n_frames=0).label_set
    with usannotate.open_cine(LOOP_A, prefetch_frames=0) as loop:
        doc = new_document(loop, labels, "A. Sonographer", now=NOW)
        uid = loop.identity.sop_instance_uid
    assert doc.dicom.sop_instance_uid == uid
    assert doc.dicom.file_name == LOOP_A.name
    assert (doc.dicom.columns, doc.dicom.rows, doc.dicom.n_frames) == (640, 480, 60)
    assert doc.dicom.frame_time_ms == pytest.approx(33.3333)
    assert doc.calibration.source == "dicom"
    assert doc.calibration.regions[0]["units_x"] == "cm"
    assert doc.annotations.manual_calibration is None
    assert doc.created == doc.modified == NOW
    assert doc.app_version == usannotate.__version__
    assert doc.annotations.objects == []
    assert doc.label_set == labels
    assert doc.label_set is not labels  # a copy: the sidecar stands alone
    assert not doc.read_only


def test_manual_calibration_is_saved_and_checked(tmp_path: Path):
    doc = empty_document()
    doc.annotations.manual_calibration = ManualCalibration.from_line([[100, 100], [100, 300]], 20.0)
    assert doc.annotations.manual_calibration.mm_per_px == pytest.approx(0.1)
    path = tmp_path / NAME
    save_sidecar(doc, path, now=NOW)
    saved = json.loads(path.read_text(encoding="utf-8"))["calibration"]
    assert saved["source"] == "manual"
    assert saved["manual"] == {
        "mm_per_px": 0.1,
        "line": [[100.0, 100.0], [100.0, 300.0]],
        "length_mm": 20.0,
    }
    loaded = load_sidecar(path)
    assert loaded.annotations.manual_calibration == doc.annotations.manual_calibration
    assert loaded == doc
    with pytest.raises(ValueError, match="two different"):
        ManualCalibration.from_line([[1, 1], [1, 1]], 5.0)
    doc.annotations.manual_calibration = ManualCalibration(
        0.5, ((100.0, 100.0), (100.0, 300.0)), 20.0
    )
    with pytest.raises(SidecarWriteError, match=r"mm_per_px: 0\.5 disagrees with length_mm"):
        save_sidecar(doc, path)


def test_removing_the_manual_calibration_goes_back_to_the_dicom(tmp_path: Path):
    """Calibrate, save, load, remove (the edit, then undo and redo), save: the file says
    what the user last chose, every time."""
    with usannotate.open_cine(LOOP_A, prefetch_frames=0) as loop:
        doc = new_document(loop, default_label_set(), "A. Sonographer", now=NOW)
    path = tmp_path / NAME
    history = EditHistory(doc.annotations)
    line = ManualCalibration.from_line([[10, 10], [10, 110]], 25.0)
    history.push(SetManualCalibration(line))
    assert history.undo_text == "Calibrate"
    save_sidecar(doc, path, now=NOW)
    loaded = load_sidecar(path)
    assert loaded.annotations.manual_calibration == line
    history = EditHistory(loaded.annotations)
    history.push(SetManualCalibration(None))
    assert history.undo_text == "Remove calibration"
    save_sidecar(loaded, path, now=LATER)
    saved = json.loads(path.read_text(encoding="utf-8"))["calibration"]
    assert (saved["source"], saved["manual"]) == ("dicom", None)
    history.undo()
    assert loaded.annotations.manual_calibration == line
    save_sidecar(loaded, path, now=LATER)
    assert json.loads(path.read_text(encoding="utf-8"))["calibration"]["source"] == "manual"
    history.redo()
    assert loaded.annotations.manual_calibration is None


# ------------------------------------------------------------------ saving
def test_save_writes_validated_json_and_sets_modified(tmp_path: Path):
    doc, path, data = _saved(tmp_path)
    assert doc.modified == NOW
    assert json.loads(data)["modified"] == "2025-03-14T09:26:53.589Z"
    save_sidecar(doc, path, now=LATER)
    assert doc.modified == LATER
    assert load_sidecar(path) == doc
    assert _only(tmp_path) == [NAME]  # no temporary file left


def test_an_invalid_document_is_not_saved(tmp_path: Path):
    doc, path, before = _saved(tmp_path)
    needle = doc.annotations.objects[1]
    needle.frames[0] = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # bypassing set_points
    doc.annotations.objects.append(AnnotatedObject("vessel", ShapeKind.REGION, id="v"))
    with pytest.raises(SidecarWriteError) as caught:
        save_sidecar(doc, path, now=LATER)
    assert caught.value.problems == [
        "not saved: objects[1].frames[0].points: a needle needs exactly two (x, y) points: "
        "entry, then tip, got 3",
        'not saved: objects[4].label: no label "vessel" in the label set "Hydrodissection — '
        'test" (labels: fascia.superficial, needle, fluid, target)',
    ]
    assert str(caught.value).startswith(f"{NAME}: not saved: objects[1].frames[0].points")
    assert path.read_bytes() == before
    assert doc.modified == NOW


def _fail_with(errno_code: int):
    def fail(*args: object, **kwargs: object) -> int:
        raise OSError(errno_code, os.strerror(errno_code))

    return fail


@pytest.mark.parametrize("call", ["write", "fsync", "replace"])
def test_full_disk_leaves_the_previous_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
):
    doc, path, before = _saved(tmp_path)
    stamp = doc.disk_stamp
    doc.annotator = "changed"
    monkeypatch.setattr(os, call, _fail_with(errno.ENOSPC))
    with pytest.raises(SidecarWriteError) as caught:
        save_sidecar(doc, path, now=LATER)
    monkeypatch.undo()
    assert str(caught.value) == (
        f"{NAME}: could not be saved: the disk is full; the previous version was kept"
    )
    assert path.read_bytes() == before
    assert _only(tmp_path) == [NAME]
    assert doc.modified == NOW  # nothing marked as saved
    assert doc.disk_stamp == stamp
    save_sidecar(doc, path, now=LATER)  # and the next save works
    assert load_sidecar(path).annotator == "changed"


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:1000])))
    doc, path, _ = _saved(tmp_path)
    monkeypatch.undo()
    assert load_sidecar(path) == doc


def test_a_folder_path_that_is_a_file_is_a_write_error(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("x")
    doc = sample_document(n_frames=1)
    with pytest.raises(SidecarWriteError) as caught:
        save_sidecar(doc, tmp_path / "notes.txt" / NAME)
    assert str(caught.value) == (
        f"{NAME}: could not be saved: part of the folder path is a file, not a folder; "
        "nothing was written"
    )
    with pytest.raises(SidecarWriteError, match="the folder does not exist"):
        save_sidecar(doc, tmp_path / "missing" / NAME)
    assert doc.disk_stamp is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.EROFS, "the disk is read-only"), (errno.EACCES, "permission denied")],
)
def test_a_folder_that_refuses_new_files_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str
):
    doc, path, before = _saved(tmp_path)
    monkeypatch.setattr(os, "open", _fail_with(code))
    with pytest.raises(SidecarWriteError) as caught:
        save_sidecar(doc, path, now=LATER)
    monkeypatch.undo()
    assert (
        str(caught.value) == f"{NAME}: could not be saved: {reason}; the previous version was kept"
    )
    assert path.read_bytes() == before
    assert doc.modified == NOW


# A read-only folder is simulated above (os.open failing with EACCES / EROFS): the
# suite runs as root in CI, where chmod would not stop the write.


def test_read_only_sidecar_file_is_not_replaced(tmp_path: Path):
    doc, path, before = _saved(tmp_path)
    path.chmod(0o444)
    with pytest.raises(SidecarWriteError, match="the file is read-only; it was kept unchanged"):
        save_sidecar(doc, path, now=LATER)
    assert path.read_bytes() == before


def test_new_file_keeps_the_permissions_of_the_one_it_replaces(tmp_path: Path):
    doc, path, _ = _saved(tmp_path)
    path.chmod(0o640)
    save_sidecar(doc, path, now=LATER)
    assert path.stat().st_mode & 0o777 == 0o640


# ------------------------------------------------------ damaged and foreign files
@pytest.mark.parametrize(
    "damage",
    [b"", b'{"format": "usannotate-sidecar", "version": 1, "objects": [', b"\x00" * 64],
    ids=["empty", "cut short", "zeros"],
)
def test_a_damaged_sidecar_is_never_overwritten(tmp_path: Path, damage: bytes):
    doc, path, _ = _saved(tmp_path)
    path.write_bytes(damage)  # damaged after it was loaded (a bad copy, a disk error...)
    with pytest.raises(SidecarWriteError) as caught:
        save_sidecar(doc, path, now=LATER)
    message = str(caught.value)
    assert message.startswith(f"{NAME}: not saved: the existing file is damaged (")
    assert message.endswith("it was kept unchanged: save under another name, or move it away first")
    assert path.read_bytes() == damage
    assert _only(tmp_path) == [NAME]
    assert doc.modified == NOW

    fresh = sample_document(n_frames=1)  # a document never saved there: refused as well
    with pytest.raises(SidecarWriteError, match="damaged"):
        save_sidecar(fresh, path)
    assert path.read_bytes() == damage


def test_overwrite_corrupt_keeps_the_damaged_file_beside(tmp_path: Path):
    doc, path, _ = _saved(tmp_path)
    path.write_bytes(b"{ damaged")
    save_sidecar(doc, path, now=LATER, overwrite_corrupt=True)
    assert load_sidecar(path) == doc
    [aside] = [p for p in tmp_path.iterdir() if p.name != NAME]
    assert aside.name.startswith(f"{NAME}.damaged-")
    assert aside.read_bytes() == b"{ damaged"
    assert not is_sidecar_path(aside)


def test_a_sidecar_of_another_dicom_or_a_newer_one_is_never_overwritten(tmp_path: Path):
    path = tmp_path / NAME
    other = empty_document(LOOP_B)
    save_sidecar(other, path, now=NOW)
    before = path.read_bytes()
    doc = sample_document(n_frames=1)
    for overwrite_corrupt in (False, True):
        with pytest.raises(SidecarWriteError, match="belongs to another DICOM file"):
            save_sidecar(doc, path, overwrite_corrupt=overwrite_corrupt)
    assert path.read_bytes() == before

    data = json.loads(before)
    data["version"] = 4
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SidecarWriteError, match=r"newer usannotate \(format version 4\)"):
        save_sidecar(other, path)


def test_a_valid_file_changed_by_someone_else_is_never_replaced_unasked(tmp_path: Path):
    doc, path, _ = _saved(tmp_path)
    elsewhere = load_sidecar(path)
    elsewhere.annotator = "someone else"
    save_sidecar(elsewhere, path, now=LATER)
    theirs = path.read_bytes()
    with pytest.raises(SidecarConflictError, match="changed by someone else") as caught:
        save_sidecar(doc, path, now=LATER)
    assert path.read_bytes() == theirs  # their save is kept
    assert caught.value.mine is doc
    assert caught.value.theirs.annotator == "someone else"
    rebase(doc, caught.value.theirs_version)  # the user chose to overwrite that version
    save_sidecar(doc, path, now=LATER)
    assert load_sidecar(path).annotator == doc.annotator


def test_without_locks_stale_temporary_files_are_cleaned_up_young_ones_are_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Where no advisory locks exist (Windows), a temporary file is taken for a left-over
    once old (tests/sidecar/test_temporaries.py: with locks, at once)."""
    monkeypatch.setattr(_atomic, "fcntl", None)
    doc, path, _ = _saved(tmp_path)
    old = tmp_path / f".{NAME}.deadbeef.tmp"
    young = tmp_path / f".{NAME}.0badcafe.tmp"
    unrelated = tmp_path / ".other.usannotate.json.deadbeef.tmp"
    for p in (old, young, unrelated):
        p.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    os.utime(unrelated, (an_hour_ago, an_hour_ago))
    save_sidecar(doc, path, now=LATER)
    assert not old.exists()
    assert young.exists()
    assert unrelated.exists()
    remove_stale_temporaries(path, older_than_s=0)
    assert not young.exists()


# ---------------------------------------------------------------- recovery
def test_recovery_round_trip_and_newer_check(tmp_path: Path):
    doc = sample_document(n_frames=2)
    path = tmp_path / NAME
    assert load_recovery(path) is None
    assert not recovery_is_newer(path)

    recovery = write_recovery(doc, path, now=NOW)  # before the first save: no sidecar yet
    assert recovery == recovery_path_for(path)
    assert not path.exists()
    assert recovery_is_newer(path)
    recovered = load_recovery(path, dicom_uid=doc.dicom.sop_instance_uid)
    assert recovered is not None
    assert recovered.modified == NOW
    assert recovered == doc.with_modified(NOW)
    assert recovered.disk_stamp is None

    save_sidecar(doc, path, now=LATER)  # saved after the autosave
    assert not recovery_is_newer(path)
    write_recovery(doc, path, now=datetime_after(LATER))  # unsaved edits autosaved again
    assert recovery_is_newer(path)
    assert doc.modified == LATER  # autosave does not touch the document
    discard_recovery(path)
    discard_recovery(path)  # nothing to discard: fine
    assert not recovery.exists()
    assert not recovery_is_newer(path)
    assert _only(tmp_path) == [NAME]


def datetime_after(moment):
    from datetime import timedelta

    return moment + timedelta(seconds=30)


def test_damaged_or_foreign_recovery_is_ignored_with_an_anonymous_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    folder = tmp_path / "DOE^JANE"
    folder.mkdir()
    path = folder / "DOE_JANE_0001.usannotate.json"
    recovery_path_for(path).write_bytes(b'{"format": "usannotate-sidecar", "objects": [')
    with caplog.at_level(logging.WARNING):
        assert load_recovery(path) is None
    assert not recovery_is_newer(path)
    assert "recovery file could not be read" in caplog.text
    assert "DOE" not in caplog.text

    caplog.clear()
    write_recovery(empty_document(LOOP_B), path, now=NOW)
    with caplog.at_level(logging.WARNING):
        assert load_recovery(path, dicom_uid=empty_document().dicom.sop_instance_uid) is None
    assert "belongs to another DICOM file" in caplog.text
    assert "DOE" not in caplog.text


def test_recovery_is_newer_than_a_damaged_sidecar(tmp_path: Path):
    doc, path, _ = _saved(tmp_path)
    write_recovery(doc, path, now=NOW)
    assert not recovery_is_newer(path)  # same moment: nothing new
    path.write_bytes(b"{")
    assert recovery_is_newer(path)
