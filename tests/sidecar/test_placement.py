"""Where sidecars are and go: beside the DICOM, in an annotation folder for read-only
archives (really read-only folders), one file per rater in a multi-rater project."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from tests.cine.dicom_factory import worklist_loop
from tests.team.sidecars import document_for
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.sidecar import load_sidecar, save_sidecar, sidecar_path_for
from usannotate.sidecar.placement import (
    ADJUDICATED,
    PROJECT_FILE_NAME,
    ProjectError,
    SidecarLayout,
    find_project,
    folder_writable,
    rater_name_problem,
    rater_of_sidecar_name,
    rater_sidecars,
    set_annotation_folder,
    sidecar_location,
)


@pytest.fixture
def read_only_archive(tmp_path: Path):
    """An archive folder with two loops in a sub-folder, made read-only with chmod."""
    study = tmp_path / "archive" / "study 1"
    study.mkdir(parents=True)
    loops = [worklist_loop(study / "a.dcm"), worklist_loop(study / "b.dcm")]
    study.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    yield study, loops
    study.chmod(stat.S_IRWXU)


def _marked(dicom: Path, annotator: str = "Ann"):
    doc = document_for(dicom, annotator)
    obj = AnnotatedObject("needle", ShapeKind.NEEDLE, id="n1")
    obj.set_points(0, np.array([[10.0, 10.0], [40.0, 30.0]]))
    doc.annotations.add(obj)
    return doc


def test_beside_the_dicom_by_default(tmp_path: Path):
    dicom = worklist_loop(tmp_path / "loop.dcm")
    assert sidecar_location(dicom) == tmp_path / "loop.usannotate.json"
    assert sidecar_path_for(dicom) == sidecar_location(dicom)  # one rule
    # A rater's name means nothing outside a multi-rater project.
    assert sidecar_location(dicom, rater="alice") == tmp_path / "loop.usannotate.json"


def test_a_read_only_folder_is_seen_as_such_even_by_root(read_only_archive):
    study, _ = read_only_archive
    # chmod a-w: root could write there, but the archive was made read-only on purpose.
    assert not folder_writable(study)
    assert folder_writable(study.parent)


def test_read_only_archive_saves_to_mirrored_annotation_folder(read_only_archive, tmp_path):
    study, (dicom, other) = read_only_archive
    before = sorted(os.listdir(study))
    notes = tmp_path / "notes"
    layout = set_annotation_folder(notes)
    path = sidecar_location(dicom)
    # The archive's whole absolute path, mirrored (the same file whichever folder opened).
    assert path == notes / Path(*study.absolute().parts[1:]) / "a.usannotate.json"
    path.parent.mkdir(parents=True)
    save_sidecar(_marked(dicom), path)
    assert sorted(os.listdir(study)) == before  # nothing written into the archive
    # Found by the same rule on reading, by a fresh layout (another process).
    again = sidecar_location(dicom, layout=SidecarLayout(notes))
    assert again == path
    assert load_sidecar(again).annotations.objects[0].id == "n1"
    assert layout.redirected(dicom)
    assert sidecar_location(other).parent == path.parent


def test_read_only_folder_without_annotation_folder_stays_beside(read_only_archive):
    study, (dicom, _) = read_only_archive
    assert sidecar_location(dicom) == study / "a.usannotate.json"  # saving says why not


def test_project_says_read_only_mirrors_relative_to_its_folder(tmp_path: Path):
    archive = tmp_path / "archive"
    study = archive / "2024" / "s1"
    study.mkdir(parents=True)
    dicom = worklist_loop(study / "loop.dcm")
    (archive / PROJECT_FILE_NAME).write_text(
        '[annotations]\nfolder = "../labels"\nread_only = true\n', encoding="utf-8"
    )
    # Writable folder, but the project says the archive is never written.
    assert folder_writable(study)
    expected = tmp_path / "labels" / "2024" / "s1" / "loop.usannotate.json"
    assert sidecar_location(dicom) == expected
    # The project's folder wins over the user's.
    assert sidecar_location(dicom, layout=SidecarLayout(tmp_path / "mine")) == expected
    assert find_project(study).root == archive.absolute()


def test_multi_rater_names(tmp_path: Path):
    dicom = worklist_loop(tmp_path / "loop.dcm")
    (tmp_path / PROJECT_FILE_NAME).write_text("[raters]\nmulti_rater = true\n")
    assert sidecar_location(dicom, rater="alice") == tmp_path / "loop.alice.usannotate.json"
    assert sidecar_location(dicom, rater=ADJUDICATED) == tmp_path / (
        "loop.adjudicated.usannotate.json"
    )
    assert sidecar_location(dicom) == sidecar_location(dicom, rater=ADJUDICATED)
    assert rater_name_problem(ADJUDICATED) is not None  # no rater may take its name
    for bad in ("../x", "a/b", "a.b", "al ice", "", "con", "x" * 41):
        assert rater_name_problem(bad) is not None
        with pytest.raises(ValueError, match="rater name"):
            sidecar_location(dicom, rater=bad)
    assert rater_name_problem("Søren-2") is None
    for rater in ("bob", "alice"):
        save_sidecar(_marked(dicom, rater), sidecar_location(dicom, rater=rater))
    (tmp_path / "loop.a.b.usannotate.json").write_text("{}")  # not a rater's name
    assert list(rater_sidecars(dicom)) == ["alice", "bob"]
    assert rater_of_sidecar_name(dicom, "loop.bob.usannotate.json") == "bob"
    assert rater_of_sidecar_name(dicom, "loop.usannotate.json") is None


@pytest.mark.parametrize(
    "text",
    [
        "[annotations\nfolder = 1",
        "[annotations]\nfolder = 3\n",
        "[annotations]\nread_only = true\n",
        '[raters]\nnames = ["a.b"]\n',
        "[raters]\nmulti_rater = 'yes'\n",
    ],
)
def test_bad_project_file_says_why(tmp_path: Path, text: str):
    dicom = worklist_loop(tmp_path / "loop.dcm")
    (tmp_path / PROJECT_FILE_NAME).write_text(text)
    with pytest.raises(ProjectError, match=PROJECT_FILE_NAME):
        sidecar_location(dicom)
