"""`usannotate measure`: one row per frame, object and measurement, from the sidecar."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

import usannotate
from tests.test_cli import run_cli
from usannotate.annotations import AnnotatedObject, FrameSource, default_label_set
from usannotate.sidecar import new_document, save_sidecar, sidecar_path_for

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dicoms"
PLANE_LABELS = {
    "superficial_fascia": "fascia.superficial",
    "deep_fascia": "fascia.deep",
    "interfascial_plane": "fascia.interfascial",
}


@pytest.fixture(scope="module")
def annotated(tmp_path_factory) -> tuple[Path, dict]:
    """Sample loop b copied aside, its truth entered as annotations on three frames."""
    folder = tmp_path_factory.mktemp("annotated")
    dicom = folder / "loop_b.dcm"
    shutil.copy(SAMPLES / "hydrodissection_linear_b.dcm", dicom)
    truth = json.loads((SAMPLES / "hydrodissection_linear_b.truth.json").read_text())
    labels = default_label_set()
    with usannotate.open_cine(dicom) as loop:
        doc = new_document(loop, labels, "test annotator")
    needle = doc.annotations.add(AnnotatedObject("needle", labels["needle"].kind))
    fluid = doc.annotations.add(AnnotatedObject("fluid.injectate", labels["fluid.injectate"].kind))
    planes = {
        name: doc.annotations.add(AnnotatedObject(label, labels[label].kind))
        for name, label in PLANE_LABELS.items()
    }
    frames = [f for f in truth["frames"] if f["needle"] and f["fluid"]][-3:]
    for frame in frames:
        index = frame["index"]
        needle.set_points(index, [frame["needle"]["entry"], frame["needle"]["tip"]])
        fluid.set_points(index, frame["fluid"]["outline"])
        for plane in frame["fascial_planes"]:
            planes[plane["name"]].set_points(index, plane["points"])
    save_sidecar(doc, sidecar_path_for(dicom))
    return dicom, {"truth": truth, "frames": [f["index"] for f in frames]}


def test_csv_rows_match_the_truth(annotated):
    dicom, info = annotated
    result = run_cli("measure", str(dicom))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    angles = [r for r in rows if r["measurement"] == "angle"]
    assert [int(r["frame"]) for r in angles] == info["frames"]
    for row in angles:
        assert row["unit"] == "deg"
        assert float(row["value"]) == pytest.approx(info["truth"]["needle_angle_deg"], abs=1.0)
    truth_area = {f["index"]: f["fluid"]["area_mm2"] for f in info["truth"]["frames"] if f["fluid"]}
    areas = [r for r in rows if r["measurement"] == "area"]
    assert areas
    for row in areas:
        assert row["unit"] == "mm2"
        assert float(row["value"]) == pytest.approx(truth_area[int(row["frame"])], rel=0.03)
    assert {r["measurement"] for r in rows} >= {"length", "angle", "tip_depth", "area"}


def test_json_has_the_same_rows(annotated):
    dicom, _ = annotated
    as_json = json.loads(run_cli("measure", str(dicom), "--format", "json").stdout)
    as_csv = list(csv.DictReader(io.StringIO(run_cli("measure", str(dicom)).stdout)))
    assert len(as_json["rows"]) == len(as_csv)
    assert as_json["columns"][0] == "frame"
    first = as_json["rows"][0]
    assert first["frame"] == int(as_csv[0]["frame"])
    assert first["measurement"] == as_csv[0]["measurement"]


def test_missing_sidecar_and_wrong_dicom_exit_2(annotated, tmp_path):
    dicom, _ = annotated
    lonely = tmp_path / "lonely.dcm"
    shutil.copy(SAMPLES / "hydrodissection_linear_a.dcm", lonely)
    result = run_cli("measure", str(lonely))
    assert result.returncode == 2
    assert "no such sidecar" in result.stderr
    result = run_cli("measure", str(lonely), "--sidecar", str(sidecar_path_for(dicom)))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_every_frame_of_a_track_is_measured_and_says_where_it_comes_from(tmp_path):
    """Keyframes 10 frames apart and two tracked frames: `measure` gives a value on every
    frame in between, marked keyframe / interpolated / tracked."""
    dicom = tmp_path / "loop_a.dcm"
    shutil.copy(SAMPLES / "hydrodissection_linear_a.dcm", dicom)
    truth = json.loads((SAMPLES / "hydrodissection_linear_a.truth.json").read_text())
    labels = default_label_set()
    with usannotate.open_cine(dicom) as loop:
        doc = new_document(loop, labels, "test annotator")
    fluid = doc.annotations.add(AnnotatedObject("fluid.injectate", labels["fluid.injectate"].kind))
    for index in (30, 40, 50):
        fluid.set_points(index, truth["frames"][index]["fluid"]["outline"])
    for index in (51, 52):
        fluid.set_points(index, truth["frames"][index]["fluid"]["outline"], FrameSource.TRACKED)
    save_sidecar(doc, sidecar_path_for(dicom))

    result = run_cli("measure", str(dicom))
    assert result.returncode == 0, result.stderr
    areas = {
        int(r["frame"]): r
        for r in csv.DictReader(io.StringIO(result.stdout))
        if r["measurement"] == "area"
    }
    assert sorted(areas) == list(range(30, 53))
    assert {areas[f]["source"] for f in (30, 40, 50)} == {"keyframe"}
    assert {areas[f]["source"] for f in (51, 52)} == {"tracked"}
    assert all(areas[f]["source"] == "interpolated" for f in (*range(31, 40), *range(41, 50)))
    for index in range(31, 50):
        true_area = truth["frames"][index]["fluid"]["area_mm2"]
        assert float(areas[index]["value"]) == pytest.approx(true_area, rel=0.1)


def _uncalibrated_loop_with_a_needle(folder: Path, manual: bool) -> Path:
    """The factory's 64 x 48 loop (no ultrasound regions: think of a GE export with a
    burned-in depth scale), a needle 30 px long on frame 1 and, if ``manual``, a manual
    calibration of 10 mm over a 20 px line (0.5 mm/px)."""
    from tests.cine import dicom_factory as factory
    from usannotate.cine import ManualCalibration

    dicom = factory.make_explicit_le_mono2_8bit(folder).path
    with usannotate.open_cine(dicom) as loop:
        assert loop.regions == []
        doc = new_document(loop, default_label_set(), "test annotator")
    needle = doc.annotations.add(AnnotatedObject("needle", default_label_set()["needle"].kind))
    needle.set_points(1, [(10.0, 10.0), (10.0, 40.0)])
    if manual:
        doc.annotations.manual_calibration = ManualCalibration.from_line([(0, 0), (0, 20)], 10.0)
    save_sidecar(doc, sidecar_path_for(dicom))
    return dicom


def test_manual_calibration_measures_in_mm(tmp_path, capsys):
    from usannotate.cli import main
    from usannotate.export import MEASURE_COLUMNS

    dicom = _uncalibrated_loop_with_a_needle(tmp_path, manual=True)
    assert main(["measure", str(dicom)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ",".join(MEASURE_COLUMNS)  # the CSV contract is unchanged
    rows = {r["measurement"]: r for r in csv.DictReader(io.StringIO(out))}
    assert (rows["length"]["value"], rows["length"]["unit"]) == ("15", "mm")
    # Depth from the image top: a burned-in scale says nothing of the skin line.
    assert (rows["tip_depth"]["value"], rows["tip_depth"]["unit"]) == ("20", "mm")
    assert main(["measure", str(dicom), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)["rows"]
    assert {r["unit_reason"] for r in records} == {""}


def test_without_calibration_json_rows_say_why_px(tmp_path, capsys):
    from usannotate.cli import main

    dicom = _uncalibrated_loop_with_a_needle(tmp_path, manual=False)
    assert main(["measure", str(dicom), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)["rows"]
    length = next(r for r in records if r["measurement"] == "length")
    assert (length["value"], length["unit"]) == (30.0, "px")
    assert length["unit_reason"] == "the file has no ultrasound calibration"
