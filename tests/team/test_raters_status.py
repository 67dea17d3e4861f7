"""``status`` in a multi-rater project: raters from the files, the least advanced status,
the adjudicated file's status when there is one, expected raters keep a loop open."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cine.dicom_factory import worklist_loop
from tests.team.sidecars import document_for
from usannotate.cli import main
from usannotate.sidecar import WorkStatus, save_sidecar
from usannotate.sidecar.placement import ADJUDICATED, PROJECT_FILE_NAME, sidecar_location


def _save(dicom: Path, rater: str, status: WorkStatus) -> None:
    doc = document_for(dicom, rater)
    doc.status = status
    save_sidecar(doc, sidecar_location(dicom, rater=rater))


def _rows(capsys, folder: Path, *extra: str) -> list[dict]:
    assert main(["status", str(folder), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_of_a_team_folder(capsys, tmp_path: Path):
    (tmp_path / PROJECT_FILE_NAME).write_text("[raters]\nmulti_rater = true\n")
    one = worklist_loop(tmp_path / "loop_1.dcm")
    two = worklist_loop(tmp_path / "loop_2.dcm")
    _save(one, "alice", WorkStatus.DONE)
    _save(one, "bob", WorkStatus.IN_PROGRESS)
    _save(two, "alice", WorkStatus.DONE)
    rows = _rows(capsys, tmp_path)
    assert [(r["status"], r["raters"]) for r in rows] == [
        ("in_progress", ["alice", "bob"]),
        ("done", ["alice"]),
    ]
    assert [r["status"] for r in _rows(capsys, tmp_path, "--rater", "bob")] == [
        "in_progress",
        None,
    ]
    _save(one, ADJUDICATED, WorkStatus.REVIEWED)
    assert _rows(capsys, tmp_path)[0]["status"] == "reviewed"
    # A rater the project expects has not started loop 2 yet.
    (tmp_path / PROJECT_FILE_NAME).write_text(
        '[raters]\nmulti_rater = true\nnames = ["alice", "bob"]\n'
    )
    assert _rows(capsys, tmp_path)[1]["status"] == "in_progress"
