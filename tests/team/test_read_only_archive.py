"""A really read-only archive (chmod a-w): sidecars in the annotation folder, and every
subcommand that reads them (status, measure, agreement, validate, export) finds them
there with ``--annotations DIR``; a project's read-only setting does the same."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from tests.cine.dicom_factory import worklist_loop
from tests.team.sidecars import document_for
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.cli import main
from usannotate.sidecar import WorkStatus, save_sidecar
from usannotate.sidecar.placement import PROJECT_FILE_NAME, SidecarLayout, sidecar_location


def _save_marks(dicom: Path, layout: SidecarLayout, annotator: str, shift_px: float) -> Path:
    doc = document_for(dicom, annotator)
    obj = AnnotatedObject("needle", ShapeKind.NEEDLE, id="n1")
    for frame in (0, 3):
        obj.set_points(frame, np.array([[10.0 + shift_px, 10.0], [60.0 + shift_px, 40.0]]))
    doc.annotations.add(obj)
    doc.status = WorkStatus.DONE
    path = sidecar_location(dicom, layout=layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_sidecar(doc, path)
    return path


@pytest.fixture
def archive(tmp_path: Path):
    """Two loops in a read-only folder, the first annotated into ``notes``."""
    study = tmp_path / "SMITH^JOHN 1961"
    study.mkdir()
    first = worklist_loop(study / "loop_1.dcm", mm_per_px=0.2)
    worklist_loop(study / "loop_2.dcm")
    study.chmod(stat.S_IRUSR | stat.S_IXUSR)
    notes = tmp_path / "notes"
    sidecar = _save_marks(first, SidecarLayout(notes), "Ann", 0.0)
    yield study, notes, first, sidecar
    study.chmod(stat.S_IRWXU)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_sidecar_is_not_in_the_archive(archive):
    study, notes, _first, sidecar = archive
    assert sorted(os.listdir(study)) == ["loop_1.dcm", "loop_2.dcm"]
    assert sidecar.is_relative_to(notes)


def test_status_finds_sidecars_in_the_annotation_folder(capsys, archive):
    study, notes, _first, _sidecar = archive
    code, out, _ = _run(capsys, "status", str(study), "--json")
    assert code == 0
    assert [row["status"] for row in json.loads(out)] == [None, None]  # not told where
    code, out, err = _run(capsys, "status", str(study), "--json", "--annotations", str(notes))
    assert code == 0
    rows = json.loads(out)
    assert [row["status"] for row in rows] == ["done", None]
    assert rows[0]["n_tracks"] == 1
    assert "SMITH" not in err


def test_measure_validate_and_export_find_them(capsys, archive, tmp_path):
    study, notes, first, sidecar = archive
    code, out, err = _run(capsys, "measure", str(first))
    assert code == 2
    assert "no such sidecar" in err
    code, out, _ = _run(capsys, "measure", str(first), "--annotations", str(notes))
    assert code == 0
    assert "needle" in out
    code, out, _ = _run(
        capsys, "measure", str(study), "--annotations", str(notes), "-o", str(tmp_path / "a.csv")
    )
    assert code == 0
    assert "loop_1.dcm" in (tmp_path / "a.csv").read_text()
    code, _, _ = _run(capsys, "validate", str(sidecar), "--dicom", str(first))
    assert code == 0
    out_xml = tmp_path / "c.xml"
    code, _, err = _run(capsys, "export", "cvat", str(first), "-o", str(out_xml))
    assert code == 2
    code, _, err = _run(
        capsys, "export", "cvat", str(first), "-o", str(out_xml), "--annotations", str(notes)
    )
    assert code == 0, err
    assert out_xml.exists()


def test_agreement_with_raters_of_a_read_only_multi_rater_project(capsys, tmp_path):
    archive = tmp_path / "archive"
    study = archive / "s1"
    study.mkdir(parents=True)
    dicom = worklist_loop(study / "loop.dcm", mm_per_px=0.2)
    (archive / PROJECT_FILE_NAME).write_text(
        '[annotations]\nfolder = "../labels"\nread_only = true\n\n[raters]\nmulti_rater = true\n'
    )
    layout = SidecarLayout()
    for rater, shift in (("alice", 0.0), ("bob", 10.0)):
        doc = document_for(dicom, rater)
        obj = AnnotatedObject("needle", ShapeKind.NEEDLE, id="n1")
        obj.set_points(0, np.array([[10.0 + shift, 10.0], [60.0 + shift, 40.0]]))
        doc.annotations.add(obj)
        path = sidecar_location(dicom, rater=rater, layout=layout)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_sidecar(doc, path)
    assert sorted(os.listdir(study)) == ["loop.dcm"]
    code, out, err = _run(
        capsys, "agreement", str(dicom), "--raters", "alice", "bob", "--format", "json"
    )
    assert code == 0, err
    tips = [r for r in json.loads(out)["rows"] if r["measurement"] == "tip_error"]
    assert tips[0]["value"] == pytest.approx(10 * 0.2)
    assert tips[0]["unit"] == "mm"
    code, out, _ = _run(capsys, "status", str(study), "--json")
    assert json.loads(out)[0]["raters"] == ["alice", "bob"]
    code, _, err = _run(capsys, "agreement", str(dicom), "--raters", "alice", "a.b")
    assert code == 2
    assert "rater name" in err


def test_a_damaged_project_file_is_one_line_exit_2(capsys, tmp_path):
    dicom = worklist_loop(tmp_path / "loop.dcm")
    (tmp_path / PROJECT_FILE_NAME).write_text("[annotations\n")
    code, _, err = _run(capsys, "measure", str(dicom))
    assert code == 2
    assert err.count("\n") == 1
    assert "usannotate.toml" in err
    code, out, err = _run(capsys, "status", str(tmp_path), "--json")
    assert code == 2  # the loop still listed, the reason on stderr
    assert [row["file"] for row in json.loads(out)] == ["loop.dcm"]
    assert "usannotate.toml" in err
