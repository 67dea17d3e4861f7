"""DICOM SR export and import: TID 1500 read back with highdicom, dciodvfy, round trip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import highdicom as hd
import pytest

from tests.export.conftest import mark_sample, uncalibrated_loop
from tests.test_cli import run_cli
from usannotate.annotations import ShapeKind
from usannotate.export.sr import tracking_uid
from usannotate.export.sr_codes import FRAME_SOURCE, MEASUREMENT_CODES, UNIT_CODES
from usannotate.sidecar import load_sidecar, sidecar_path_for

DCIODVFY = shutil.which("dciodvfy")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """Sample loop b marked, and its two reports made by the CLI once for the module:
    ``stored`` (keyframes and tracked frames) and ``all`` (--all-frames)."""
    folder = tmp_path_factory.mktemp("sr")
    dicom = mark_sample(folder / "loops")
    made = {"dicom": dicom}
    for key, extra in (("stored", []), ("all", ["--all-frames"])):
        out = folder / f"{key}.dcm"
        result = run_cli("export", "sr", str(dicom), "--output", str(out), *extra)
        assert result.returncode == 0, result.stderr
        made[key] = out
    return made


def _measure(dicom: Path) -> list[dict]:
    result = run_cli("measure", str(dicom), "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["rows"]


def _read_back(sr_path: Path, dicom: Path) -> dict[tuple[str, int, str], tuple[float, str]]:
    """``(object id, 0-based frame, measurement) -> (value, UCUM unit)`` from the SR as
    highdicom reads it, and checks each group's frame source."""
    doc = load_sidecar(sidecar_path_for(dicom))
    sop = doc.dicom.sop_instance_uid
    objects = {tracking_uid(sop, o.id): o for o in doc.annotations.objects}
    report = hd.sr.srread(sr_path).content
    values = {}
    groups = [*report.get_planar_roi_measurement_groups(), *report.get_image_measurement_groups()]
    assert groups
    for group in groups:
        obj = objects[str(group.tracking_uid)]
        label = doc.annotations.label_set[obj.label_id]
        assert group.tracking_identifier == label.name
        if hasattr(group, "roi") and group.roi is not None:
            item = group.roi.ContentSequence[0].ReferencedSOPSequence[0]
            assert obj.kind is ShapeKind.REGION
            assert group.roi.graphic_type == hd.sr.GraphicTypeValues.POLYLINE
        else:
            item = group.source_images[0].ReferencedSOPSequence[0]
        assert item.ReferencedSOPInstanceUID == sop
        frame = int(item.ReferencedFrameNumber) - 1  # DICOM frame numbers are 1-based
        evaluations = {e.name: e.value for e in group.get_qualitative_evaluations()}
        source = evaluations[FRAME_SOURCE].value
        if source == "OUT_OF_VIEW":
            assert frame in obj.absent
            continue
        assert source.lower() == obj.source(frame).value
        for m in group.get_measurements():
            names = [n for n, c in MEASUREMENT_CODES.items() if c == m.name]
            if "depth" in names:
                names = ["tip_depth" if obj.kind is ShapeKind.NEEDLE else "depth"]
            values[(obj.id, frame, names[0])] = (float(m.value), m.unit.value)
    return values


def _expected(rows: list[dict], stored_only: bool, dicom: Path) -> dict:
    doc = load_sidecar(sidecar_path_for(dicom))
    stored = {(o.id, f) for o in doc.annotations.objects for f in o.frames}
    units = {u: c.value for u, c in UNIT_CODES.items()}
    return {
        (r["object_id"], r["frame"], r["measurement"]): (r["value"], units[r["unit"]])
        for r in rows
        if not stored_only or (r["object_id"], r["frame"]) in stored
    }


@pytest.mark.parametrize("which", ["stored", "all"])
def test_sr_holds_the_values_of_measure(reports, which):
    dicom = reports["dicom"]
    got = _read_back(reports[which], dicom)
    expected = _expected(_measure(dicom), which == "stored", dicom)
    assert got.keys() == expected.keys()
    for key, (value, unit) in expected.items():
        assert got[key][1] == unit, key
        assert got[key][0] == pytest.approx(value, abs=0.01), key
    assert {unit for _, unit in got.values()} == {"mm", "mm2", "deg"}
    if which == "all":
        assert {k[1] for k in got} == {r["frame"] for r in _measure(dicom)}


# CI installs dicom3tools (.ci/setup): there the check must run, never skip.
@pytest.mark.skipif(
    DCIODVFY is None and not os.environ.get("CI"),
    reason="dciodvfy (Debian dicom3tools) is not installed",
)
@pytest.mark.parametrize("which", ["stored", "all"])
def test_sr_passes_dciodvfy(reports, which):
    assert DCIODVFY is not None, "dciodvfy is missing: bash .ci/setup installs dicom3tools"
    checked = subprocess.run(
        [DCIODVFY, str(reports[which])], capture_output=True, text=True, timeout=120, check=False
    )
    lines = (checked.stdout + checked.stderr).splitlines()
    assert "ComprehensiveSR" in lines  # it recognised the IOD it checked
    errors = [line for line in lines if line.startswith("Error")]
    assert not errors, errors


@pytest.mark.parametrize("which", ["stored", "all"])
def test_import_gives_back_the_same_tracks(reports, tmp_path, which):
    dicom = reports["dicom"]
    back = tmp_path / "back.usannotate.json"
    result = run_cli(
        "import", "sr", str(reports[which]), "--dicom", str(dicom), "--output", str(back)
    )
    assert result.returncode == 0, result.stderr
    original = load_sidecar(sidecar_path_for(dicom)).annotations.objects
    imported = load_sidecar(back).annotations.objects
    assert len(imported) == len(original)
    for obj, twin in zip(original, imported, strict=True):
        assert twin.same_work(obj), obj.label_id  # stored frames, tracked, gaps, points


def test_px_values_are_refused_unless_allowed(tmp_path):
    dicom = uncalibrated_loop(tmp_path)
    out = tmp_path / "report.dcm"
    result = run_cli("export", "sr", str(dicom), "-o", str(out))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "px" in result.stderr
    assert "--allow-px" in result.stderr
    assert not out.exists()
    result = run_cli("export", "sr", str(dicom), "-o", str(out), "--allow-px")
    assert result.returncode == 0, result.stderr
    report = hd.sr.srread(out).content
    units = {
        m.unit.value for g in report.get_image_measurement_groups() for m in g.get_measurements()
    }
    assert units == {"{pixels}", "deg"}


def test_bad_input_is_one_line(reports, tmp_path):
    marked = reports["dicom"]
    not_sr = tmp_path / "back.json"
    result = run_cli("import", "sr", str(marked), "--dicom", str(marked), "-o", str(not_sr))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "not a DICOM SR" in result.stderr
    assert not not_sr.exists()
    result = run_cli("export", "sr", str(tmp_path / "missing.dcm"), "-o", str(tmp_path / "x.dcm"))
    assert result.returncode == 2
    assert "missing.dcm" in result.stderr
