"""``usannotate status`` and ``usannotate measure FOLDER`` on real loops and sidecars."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.team.sidecars import labelled_loop
from usannotate.cli import main
from usannotate.sidecar import WorkStatus
from usannotate.sidecar.store import sidecar_path_for

# A folder named like a patient: it must never appear in a message.
PATIENT_FOLDER = "SMITH^JOHN 1961"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / PATIENT_FOLDER
    root.mkdir()
    labelled_loop(root, "loop_1.dcm", status=WorkStatus.DONE, n_tracks=2, frames=(0, 3))
    labelled_loop(root, "loop_2.dcm", status=None, n_frames=6)
    labelled_loop(root, "loop_10.dcm", status=WorkStatus.IN_PROGRESS, annotator="Bo")
    return root


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_json_rows(capsys, folder: Path):
    code, out, err = _run(capsys, "status", str(folder), "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows == [
        {
            "file": "loop_1.dcm",
            "n_frames": 4,
            "status": "done",
            "raters": ["Ann"],
            "n_tracks": 2,
            "annotated_frames": 4,  # keyframes 0 and 3, 1 and 2 interpolated
            "modified": rows[0]["modified"],
        },
        {
            "file": "loop_2.dcm",
            "n_frames": 6,  # read from the DICOM: no sidecar
            "status": None,
            "raters": [],
            "n_tracks": 0,
            "annotated_frames": 0,
            "modified": None,
        },
        {
            "file": "loop_10.dcm",
            "n_frames": 4,
            "status": "in_progress",
            "raters": ["Bo"],
            "n_tracks": 1,
            "annotated_frames": 2,
            "modified": rows[2]["modified"],
        },
    ]
    on_disk = json.loads(sidecar_path_for(folder / "loop_1.dcm").read_text(encoding="utf-8"))
    assert rows[0]["modified"] == on_disk["modified"]
    assert err.strip() == "usannotate: status: 1 of 3 done (1 in progress, 1 unlabelled)"


def test_status_text_rows_and_rater(capsys, folder: Path):
    code, out, _ = _run(capsys, "status", str(folder), "--rater", "Bo")
    assert code == 0
    table = list(csv.reader(io.StringIO(out), delimiter="\t"))
    assert table[0] == [
        "file", "n_frames", "status", "raters", "n_tracks", "annotated_frames", "modified"
    ]  # fmt: skip
    by_file = {row[0]: row for row in table[1:]}
    assert by_file["loop_1.dcm"][2:6] == ["-", "", "0", "0"]  # Ann's, not Bo's
    assert by_file["loop_10.dcm"][2:6] == ["in_progress", "Bo", "1", "2"]


def test_unreadable_sidecars_exit_2_and_the_rest_is_listed(capsys, folder: Path):
    sidecar_path_for(folder / "loop_2.dcm").write_text('{"format": "usannotate-sidecar"', "utf-8")
    code, out, err = _run(capsys, "status", str(folder), "--json")
    assert code == 2
    rows = {row["file"]: row for row in json.loads(out)}
    assert rows["loop_1.dcm"]["status"] == "done"
    assert rows["loop_2.dcm"]["status"] is None
    assert rows["loop_2.dcm"]["error"].startswith("loop_2.usannotate.json: is cut short")
    assert "usannotate: loop_2.usannotate.json: is cut short" in err
    assert PATIENT_FOLDER not in err
    assert "Traceback" not in err


def test_status_of_a_missing_folder_is_one_line(capsys, tmp_path: Path):
    code, out, err = _run(capsys, "status", str(tmp_path / PATIENT_FOLDER / "none"))
    assert (code, out) == (2, "")
    assert err == "usannotate: none: no such folder\n"


def test_measure_folder_writes_one_table_with_a_file_column(capsys, folder: Path, tmp_path):
    output = tmp_path / "ALL.csv"
    code, out, err = _run(capsys, "measure", str(folder), "--output", str(output))
    assert (code, out) == (0, "")
    table = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert list(table[0])[:2] == ["file", "frame"]
    assert {row["file"] for row in table} == {"loop_1.dcm", "loop_10.dcm"}
    # The same rows as measuring each loop alone.
    main(["measure", str(folder / "loop_1.dcm")])
    alone = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    mine = [{k: v for k, v in row.items() if k != "file"} for row in table]
    assert [row for row in mine if row["object_id"].startswith("needle")][: len(alone)] == alone
    assert "usannotate: measure: 3/3 loops" in err
    assert "2 loops measured, 1 without sidecar skipped, 0 failed" in err


def test_measure_folder_reports_a_bad_sidecar_and_measures_the_rest(capsys, folder, tmp_path):
    sidecar_path_for(folder / "loop_10.dcm").write_text("[]", encoding="utf-8")
    output = tmp_path / "ALL.json"
    code, _, err = _run(capsys, "measure", str(folder), "-o", str(output))
    assert code == 2
    rows = json.loads(output.read_text(encoding="utf-8"))["rows"]
    assert {row["file"] for row in rows} == {"loop_1.dcm"}
    assert "usannotate: loop_10.usannotate.json: is not a usannotate sidecar" in err
    assert PATIENT_FOLDER not in err
    assert "Traceback" not in err
