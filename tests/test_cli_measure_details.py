"""`usannotate measure` and the loop's details: the new measures as rows, --events,
--case, --case-columns, --time relative to the injection start."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import usannotate
from tests.test_cli import run_cli
from usannotate.annotations import AnnotatedObject, default_label_set
from usannotate.annotations.detail_edits import AddEvent, SetCaseValue
from usannotate.annotations.details import Event
from usannotate.annotations.edits import EditHistory
from usannotate.sidecar import new_document, save_sidecar, sidecar_path_for

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dicoms"


@pytest.fixture(scope="module")
def annotated(tmp_path_factory) -> tuple[Path, dict]:
    """Loop a with the needle and the fluid from the truth, the target plane as the two
    layers the fluid splits it into, an injection start and two case details."""
    folder = tmp_path_factory.mktemp("details")
    dicom = folder / "loop_a.dcm"
    shutil.copy(SAMPLES / "hydrodissection_linear_a.dcm", dicom)
    truth = json.loads((SAMPLES / "hydrodissection_linear_a.truth.json").read_text())
    labels = default_label_set()
    with usannotate.open_cine(dicom) as loop:
        doc = new_document(loop, labels, "test annotator")
        times = loop.frame_start_times_ms() / 1000.0
    needle = doc.annotations.add(AnnotatedObject("needle", labels["needle"].kind))
    fluid = doc.annotations.add(AnnotatedObject("fluid.injectate", labels["fluid.injectate"].kind))
    upper = doc.annotations.add(
        AnnotatedObject("fascia.interfascial", labels["fascia.interfascial"].kind)
    )
    lower = doc.annotations.add(
        AnnotatedObject("fascia.interfascial", labels["fascia.interfascial"].kind)
    )
    frames = [f for f in truth["frames"] if f["needle"] and f["fluid"]][-4:]
    for frame in frames:
        index = frame["index"]
        needle.set_points(index, [frame["needle"]["entry"], frame["needle"]["tip"]])
        outline = np.array(frame["fluid"]["outline"])
        fluid.set_points(index, outline)
        n = (len(outline) + 2) // 2
        upper.set_points(index, outline[:n])
        lower.set_points(index, np.vstack([outline[:1], outline[n:][::-1], outline[n - 1 : n]]))
    history = EditHistory(doc.annotations)
    start = frames[0]["index"] - 10
    history.push(AddEvent(Event("injection_start", start, "e1")))
    history.push(AddEvent(Event("key_image", frames[-1]["index"], "e2")))
    history.push(SetCaseValue("side", "right"))
    history.push(SetCaseValue("injectate_volume_ml", 5))
    save_sidecar(doc, sidecar_path_for(dicom))
    return dicom, {"truth": truth, "frames": frames, "start": start, "times": times}


def _csv(*args: str) -> list[dict[str, str]]:
    result = run_cli("measure", *args)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_the_new_measures_are_rows_of_the_same_table(annotated):
    dicom, info = annotated
    plain = _csv(str(dicom))
    assert "plane_separation" not in {r["measurement"] for r in plain}  # as before
    rows = _csv(str(dicom), "--hydro")
    assert list(rows[0]) == [
        "frame",
        "object_id",
        "label_id",
        "label_name",
        "kind",
        "measurement",
        "value",
        "unit",
        "reference",
        "source",
    ]
    names = {r["measurement"] for r in rows}
    assert names >= {
        "plane_separation",
        "fluid_thickness",
        "insertion_depth",
        "advance_rate",
        "spread_rate",
        "area_rate",
    }
    mm_y = info["truth"]["mm_per_px_y"]
    for frame in info["frames"]:
        outline = np.array(frame["fluid"]["outline"])
        n = (len(outline) + 2) // 2
        lower = np.vstack([outline[:1], outline[n:][::-1], outline[n - 1 : n]])
        expected = float(((lower[:, 1] - outline[:n, 1]) * mm_y).max())
        (sep,) = [
            r
            for r in rows
            if r["measurement"] == "plane_separation" and int(r["frame"]) == frame["index"]
        ]
        assert sep["unit"] == "mm"
        assert float(sep["value"]) == pytest.approx(expected, rel=0.04, abs=0.05)
    assert [int(r["frame"]) for r in rows] == sorted(int(r["frame"]) for r in rows)


def test_time_columns_are_relative_to_the_injection_start(annotated):
    dicom, info = annotated
    rows = _csv(str(dicom), "--time", "--hydro")
    assert list(rows[0])[:3] == ["frame", "time_s", "time_from_injection_s"]
    times = info["times"]
    for row in rows[:5]:
        f = int(row["frame"])
        assert float(row["time_s"]) == pytest.approx(times[f], abs=1e-6)
        assert float(row["time_from_injection_s"]) == pytest.approx(
            times[f] - times[info["start"]], abs=1e-6
        )


def test_events_are_listed_with_their_times(annotated):
    dicom, info = annotated
    rows = _csv(str(dicom), "--events")
    assert [(r["type"], r["title"], int(r["frame"])) for r in rows] == [
        ("injection_start", "Injection start", info["start"]),
        ("key_image", "Key image", info["frames"][-1]["index"]),
    ]
    assert float(rows[0]["time_from_injection_s"]) == 0.0
    as_json = json.loads(run_cli("measure", str(dicom), "--events", "--format", "json").stdout)
    assert as_json["rows"][1]["id"] == "e2"


def test_case_details_as_json_or_columns(annotated):
    dicom, _ = annotated
    result = run_cli("measure", str(dicom), "--case")
    assert result.returncode == 0, result.stderr
    case = json.loads(result.stdout)
    assert case["case"] == {"side": "right", "injectate_volume_ml": 5.0}
    volume = next(f for f in case["fields"] if f["id"] == "injectate_volume_ml")
    assert (volume["unit"], volume["value"]) == ("ml", 5.0)
    rows = _csv(str(dicom), "--case-columns")
    assert rows[0]["case.side"] == "right"
    assert rows[0]["case.procedure"] == ""


@pytest.mark.parametrize(
    ("options", "jobs"),
    [
        (["--hydro"], "2"),
        (["--hydro", "--time", "--case-columns"], "1"),
        (["--events"], "1"),
        (["--case"], "2"),
    ],
    ids=["hydro", "time-case-columns", "events", "case"],
)
def test_a_folder_gives_each_loops_table_with_a_file_column(annotated, tmp_path, options, jobs):
    """measure FOLDER with the one-loop options: the table each loop gives alone (the
    same columns, the same rows), a file column first; a loop without sidecar skipped."""
    dicom, _ = annotated
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("one.dcm", "two.dcm"):
        shutil.copy(dicom, folder / name)
        shutil.copy(sidecar_path_for(dicom), sidecar_path_for(folder / name))
    shutil.copy(dicom, folder / "three_unmarked.dcm")
    result = run_cli("measure", str(folder), "--jobs", jobs, *options)
    assert result.returncode == 0, result.stderr
    assert "2 loops measured, 1 without sidecar skipped, 0 failed" in result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    alone = run_cli("measure", str(folder / "one.dcm"), *options)
    assert alone.returncode == 0, alone.stderr
    if options == ["--case"]:  # one loop: JSON; a folder: one row of case.<field> per loop
        case = json.loads(alone.stdout)["case"]
        assert [r["file"] for r in table] == ["one.dcm", "two.dcm"]
        assert table[0]["case.side"] == case["side"] == "right"
        assert float(table[0]["case.injectate_volume_ml"]) == case["injectate_volume_ml"]
        assert table[0]["case.procedure"] == ""
        return
    rows = list(csv.DictReader(io.StringIO(alone.stdout)))
    assert rows
    assert list(table[0]) == ["file", *rows[0]]  # the same columns, file first
    assert [r["file"] for r in table] == ["one.dcm"] * len(rows) + ["two.dcm"] * len(rows)
    assert [{k: v for k, v in r.items() if k != "file"} for r in table[: len(rows)]] == rows
    json_out = run_cli("measure", str(folder), "--format", "json", *options)
    assert json_out.returncode == 0, json_out.stderr
    assert json.loads(json_out.stdout)["columns"] == ["file", *rows[0]]


def test_sidecar_is_still_for_one_loop(annotated):
    dicom, _ = annotated
    result = run_cli("measure", str(dicom.parent), "--sidecar", "x.json", "--hydro")
    assert result.returncode == 2
    assert "--sidecar is for one loop" in result.stderr
