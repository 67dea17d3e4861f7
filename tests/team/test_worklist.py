"""The worklist read from real sidecars: status, raters, tracks, frames, errors, counts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.team.sidecars import labelled_loop
from usannotate.sidecar import WorkStatus
from usannotate.sidecar.store import sidecar_path_for
from usannotate.team.worklist import count_line, folder_status, loop_status, summarise_sidecar


def test_rows_say_what_each_sidecar_holds(tmp_path: Path):
    labelled_loop(tmp_path, "loop_1.dcm", status=None)
    labelled_loop(tmp_path, "loop_2.dcm", status=WorkStatus.DONE, n_tracks=3, frames=(0, 2))
    labelled_loop(tmp_path, "loop_10.dcm", status=WorkStatus.REVIEWED, annotator="Bo")
    rows = folder_status(tmp_path)
    assert [row.file for row in rows] == ["loop_1.dcm", "loop_2.dcm", "loop_10.dcm"]
    assert [row.status for row in rows] == [None, "done", "reviewed"]
    done = rows[1].summary
    # Keyframes on 0 and 2, frame 1 interpolated: three annotated frames.
    assert (done.n_tracks, done.annotated_frames, done.raters) == (3, 3, ("Ann",))
    assert done.modified.endswith("Z")
    assert rows[2].summary.raters == ("Bo",)
    assert count_line(rows) == "2 of 3 done (1 reviewed, 1 unlabelled)"


def test_a_version_2_sidecar_reads_in_progress(tmp_path: Path):
    dicom = labelled_loop(tmp_path, "old.dcm", status=WorkStatus.DONE)
    sidecar = sidecar_path_for(dicom)
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    data["version"] = 2
    data["status"] = "whatever the pipeline said"  # its own key in version 2
    sidecar.write_text(json.dumps(data), encoding="utf-8")
    assert summarise_sidecar(sidecar).status == WorkStatus.IN_PROGRESS


def test_saved_by_is_a_rater_too_and_the_rater_filter_uses_them(tmp_path: Path):
    dicom = labelled_loop(tmp_path, "a.dcm", status=WorkStatus.IN_PROGRESS, annotator="Ann")
    sidecar = sidecar_path_for(dicom)
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    data["saved_by"] = "Bo"
    sidecar.write_text(json.dumps(data), encoding="utf-8")
    assert loop_status(dicom).summary.raters == ("Ann", "Bo")
    assert loop_status(dicom, rater="Bo").status == WorkStatus.IN_PROGRESS
    nobody = loop_status(dicom, rater="Cy")
    assert (nobody.status, nobody.sidecar) == (None, None)


def test_an_unreadable_sidecar_is_listed_with_the_reason(tmp_path: Path):
    dicom = labelled_loop(tmp_path, "cut.dcm", status=WorkStatus.DONE)
    sidecar = sidecar_path_for(dicom)
    sidecar.write_bytes(sidecar.read_bytes()[:100])
    row = loop_status(dicom)
    assert row.status is None
    assert row.labelled
    assert row.error.startswith("cut.usannotate.json: is not valid JSON")
    bad_status = labelled_loop(tmp_path, "bad.dcm", status=WorkStatus.DONE)
    path = sidecar_path_for(bad_status)
    path.write_text(path.read_text(encoding="utf-8").replace('"done"', '"finished"'), "utf-8")
    assert "status: must be in_progress, done or reviewed" in loop_status(bad_status).error
