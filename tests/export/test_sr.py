"""DICOM SR export and import: TID 1500 read back with highdicom, dciodvfy, round trip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from highdicom.sr.utils import find_content_items
from pydicom.sr.codedict import codes

from tests.export.conftest import mark_sample, uncalibrated_loop
from tests.test_cli import run_cli
from usannotate.annotations import ShapeKind
from usannotate.export.sr import _COPIED_TYPE_2, tracking_uid
from usannotate.export.sr_codes import (
    FRAME_LISTS,
    FRAME_SOURCE,
    MEASUREMENT_CODES,
    OUT_OF_VIEW,
    SOURCE_CODES,
    TRACK_ID,
    UNIT_CODES,
    frame_ranges,
    label_code,
    parse_frame_ranges,
)
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
    # The SR holds measure --hydro's values (the hydrodissection measures as well).
    result = run_cli("measure", str(dicom), "--hydro", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["rows"]


def _read_back(sr_path: Path, dicom: Path) -> dict[tuple[str, int, str], tuple[float, str]]:
    """``(object id, 0-based frame, measurement) -> (value, UCUM unit)`` from the SR as
    highdicom reads it; checks one group per track, its identifiers, that every
    measurement names its image and frame, and the group's frame lists."""
    doc = load_sidecar(sidecar_path_for(dicom))
    sop = doc.dicom.sop_instance_uid
    objects = {tracking_uid(sop, o.id): o for o in doc.annotations.objects}
    report = hd.sr.srread(sr_path).content
    assert not report.get_planar_roi_measurement_groups()  # regions are TID 1501 too
    groups = report.get_image_measurement_groups()
    assert len(groups) == len(objects)  # one measurement group per track
    assert {str(g.tracking_uid) for g in groups} == objects.keys()
    values = {}
    for group in groups:
        obj = objects[str(group.tracking_uid)]
        label = doc.annotations.label_set[obj.label_id]
        assert group.tracking_identifier == label.name
        texts = {i.name: i.value for i in find_content_items(group[0], value_type="TEXT")}
        assert texts[TRACK_ID] == obj.id
        listed = {
            source: parse_frame_ranges(texts[code], 10_000)
            for source, code in FRAME_LISTS.items()
            if code in texts
        }
        assert listed.get("absent", set()) == {f + 1 for f in obj.absent}
        frames_seen = set()
        for m in group.get_measurements():
            scoords = m.referenced_coordinates
            if scoords:  # the frame's geometry: a SCOORD selected from the image's frame
                image = scoords[0].ContentSequence[0].ReferencedSOPSequence[0]
                assert scoords[0].graphic_type == hd.sr.GraphicTypeValues(
                    "POINT" if obj.kind is ShapeKind.POINT else "POLYLINE"
                )
            else:
                image = m.referenced_images[0].ReferencedSOPSequence[0]
            assert image.ReferencedSOPInstanceUID == sop
            number = int(image.ReferencedFrameNumber)
            frame = number - 1  # DICOM frame numbers are 1-based
            if scoords:
                assert frame not in frames_seen  # one geometry per frame
                frames_seen.add(frame)
            source = next(s for s, numbers in listed.items() if number in numbers)
            assert source == obj.source(frame).value
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
    assert {unit for _, unit in got.values()} == {"mm", "mm2", "deg", "mm/s", "mm2/s"}
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
    assert any(obj.name for obj in original)  # the sample names its needle
    for obj, twin in zip(original, imported, strict=True):
        # The same object: its id, name, stored frames, tracked frames, gaps, points.
        assert twin == obj, obj.label_id


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
    assert units == {"{pixels}", "deg", "{pixels}/s"}  # the needle's advance per second


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


def _earlier_report(dicom: Path, out: Path) -> None:
    """A report laid out as usannotate wrote them before one group per track: a TID 1501
    group per needle frame (frame source as a coded evaluation, the SCOORD under the
    length), a TID 1410 group for a region frame, and a gap group (no geometry)."""
    header = pydicom.dcmread(dicom, stop_before_pixels=True)
    uids = (header.SOPClassUID, header.SOPInstanceUID)
    needle = hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="Needle")
    fluid = hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="Injected fluid")
    mm = UNIT_CODES["mm"]

    def needle_group(number, points, source):
        scoord = hd.sr.CoordinatesForMeasurement(
            "POLYLINE",
            np.array(points, dtype=np.float32),
            hd.sr.SourceImageForRegion(*uids, referenced_frame_numbers=[number]),
        )
        return hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=needle,
            finding_type=label_code("needle", "Needle"),
            measurements=[
                hd.sr.Measurement(
                    MEASUREMENT_CODES["length"], 10.0, mm, referenced_coordinates=[scoord]
                ),
                hd.sr.Measurement(MEASUREMENT_CODES["angle"], 30.0, UNIT_CODES["deg"]),
            ],
            qualitative_evaluations=[
                hd.sr.QualitativeEvaluation(FRAME_SOURCE, SOURCE_CODES[source])
            ],
            source_images=[
                hd.sr.SourceImageForMeasurementGroup(*uids, referenced_frame_numbers=[number])
            ],
        )

    region = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=fluid,
        referenced_region=hd.sr.ImageRegion(
            "POLYLINE",
            np.array([[10, 10], [30, 10], [30, 20], [10, 10]], dtype=np.float32),
            hd.sr.SourceImageForRegion(*uids, referenced_frame_numbers=[4]),
        ),
        finding_type=label_code("fluid.injectate", "Injected fluid"),
        qualitative_evaluations=[
            hd.sr.QualitativeEvaluation(FRAME_SOURCE, SOURCE_CODES["keyframe"])
        ],
    )
    gap = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=needle,
        finding_type=label_code("needle", "Needle"),
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(FRAME_SOURCE, OUT_OF_VIEW)],
        source_images=[hd.sr.SourceImageForMeasurementGroup(*uids, referenced_frame_numbers=[6])],
    )
    groups = [
        needle_group(3, [(10, 5), (40, 30)], "keyframe"),
        needle_group(5, [(10, 5), (42, 32)], "tracked"),
        gap,
        needle_group(8, [(10, 5), (44, 34)], "keyframe"),
        region,
    ]
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_person_context=hd.sr.ObserverContext(
                observer_type=codes.DCM.Person,
                observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                    name="Test^Earlier"
                ),
            )
        ),
        procedure_reported=codes.SCT.Ultrasonography,
        imaging_measurements=groups,
    )
    for keyword in _COPIED_TYPE_2:
        if keyword not in header:
            setattr(header, keyword, "")
    sr = hd.sr.ComprehensiveSR(
        evidence=[header],
        content=report,
        series_instance_uid=hd.UID(),
        series_number=1,
        sop_instance_uid=hd.UID(),
        instance_number=1,
    )
    sr.save_as(out, enforce_file_format=True)


def test_reports_with_a_group_per_frame_still_import(tmp_path):
    dicom = uncalibrated_loop(tmp_path)
    earlier = tmp_path / "earlier.sr.dcm"
    _earlier_report(dicom, earlier)
    back = tmp_path / "back.usannotate.json"
    result = run_cli("import", "sr", str(earlier), "--dicom", str(dicom), "-o", str(back))
    assert result.returncode == 0, result.stderr
    needle, fluid = load_sidecar(back).annotations.objects
    assert (needle.label_id, fluid.label_id) == ("needle", "fluid.injectate")
    # Frame numbers 3, 5, 8 are 0-based frames 2, 4, 7; the gap group at number 6.
    assert sorted(needle.frames) == [2, 4, 7]
    assert needle.tracked == {4}
    assert needle.absent == {5}
    np.testing.assert_array_equal(needle.frames[7], [[10, 5], [44, 34]])
    assert sorted(fluid.frames) == [3]
    np.testing.assert_array_equal(fluid.frames[3], [[10, 10], [30, 10], [30, 20]])


def test_frame_ranges_read_back_and_are_bounded():
    numbers = [1, 2, 3, 7, 9, 10, 600]
    text = frame_ranges(numbers)
    assert text == "1-3 7 9-10 600"
    assert parse_frame_ranges(text, 600) == set(numbers)
    for bad in ("0-3", "5-2", "1-601", "x"):
        with pytest.raises(ValueError, match="frame numbers"):
            parse_frame_ranges(bad, 600)


def test_the_one_pass_write_gives_pydicoms_own_bytes(tmp_path):
    """write_sr marks the report's items as already encoded so pydicom writes them in one
    pass; the file is byte for byte what pydicom's own (walk-every-item) path writes."""
    import copy
    import io

    from usannotate.export import annotated_loop
    from usannotate.export.sr import _mark_as_encoded, _sr_dataset

    with annotated_loop(mark_sample(tmp_path)) as work:
        report = _sr_dataset(work, all_frames=True, allow_px=False, progress=None)
    plain, fast = io.BytesIO(), io.BytesIO()
    copy.deepcopy(report).save_as(plain, enforce_file_format=True)
    _mark_as_encoded(report)
    report.save_as(fast, enforce_file_format=True)
    assert len(plain.getvalue()) > 10_000
    assert fast.getvalue() == plain.getvalue()
    back = hd.sr.srread(io.BytesIO(fast.getvalue()))
    assert len(find_content_items(back, name=codes.SCT.Area, recursive=True)) > 0


def test_copied_items_are_highdicoms_own():
    """The SR's NUM items are copies of one highdicom item per (concept, unit) with the
    value set, its SCOORDs one per graphic type with the points set: each equals,
    element for element and byte for byte, what highdicom's constructor makes of the
    same values and image frame."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    from usannotate.export._sr_items import ImageReferences, NumItems, ScoordItems

    header = pydicom.Dataset()
    header.SOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"
    header.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    images, nums = ImageReferences(header), NumItems()

    def encoded(item: pydicom.Dataset) -> bytes:
        buffer = DicomBytesIO()
        buffer.is_little_endian, buffer.is_implicit_VR = True, False
        write_dataset(buffer, item)
        return buffer.getvalue()

    cases = [("length", "mm", 12.345678), ("area", "mm2", 0.0), ("angle", "deg", -3.5)]
    cases += [("spread_rate", "px/s", 1e-06), ("length", "mm", 123456.5), ("length", "mm", 2.0)]
    for measurement, unit, value in cases:
        ours = nums.item(measurement, unit, value, images.measurement(7))
        theirs = hd.sr.Measurement(
            name=MEASUREMENT_CODES[measurement],
            value=value,
            unit=UNIT_CODES[unit],
            referenced_images=[hd.sr.SourceImageForMeasurement(*images.uids, [7])],
        )[0]
        assert type(ours) is hd.sr.NumContentItem
        assert ours == theirs
        assert encoded(ours) == encoded(theirs)
        assert (ours.value, ours.unit, ours.name) == (value, theirs.unit, theirs.name)
    with pytest.raises(TypeError, match="float"):
        nums.item("length", "mm", 3, images.measurement(7))

    scoords = ScoordItems()
    region = hd.sr.SourceImageForRegion(*images.uids, [4])
    shapes = [("POINT", [[1.5, 2.25]]), ("POLYLINE", [[0, 0], [3.1, 4.7]])]
    shapes += [("POLYLINE", np.random.default_rng(3).uniform(0, 640, (40, 2)))]
    for graphic, points in shapes:
        data = np.asarray(points, np.float32)
        ours = scoords.item(graphic, data, images.region(4))
        theirs = hd.sr.CoordinatesForMeasurement(graphic, data, region)
        assert type(ours) is hd.sr.CoordinatesForMeasurement
        assert ours == theirs
        assert encoded(ours) == encoded(theirs)
    for graphic, count in (("POINT", 2), ("POLYLINE", 1)):
        with pytest.raises(ValueError, match="SCOORD"):
            scoords.item(graphic, np.zeros((count, 2), np.float32), images.region(4))


def test_the_one_pass_write_corrects_ambiguous_vrs_as_pydicom(tmp_path):
    """Elements whose VR depends on another (US or SS by Pixel Representation), at the
    root and nested, are written as pydicom's own path writes them."""
    import copy
    import io

    from usannotate.export import annotated_loop
    from usannotate.export.sr import _mark_as_encoded, _sr_dataset

    with annotated_loop(mark_sample(tmp_path)) as work:
        report = _sr_dataset(work, all_frames=False, allow_px=False, progress=None)
    report.PixelRepresentation = 1
    report.SmallestImagePixelValue = -5  # US or SS: SS, by the root's representation
    nested, outer = pydicom.Dataset(), pydicom.Dataset()
    nested.LargestImagePixelValue = -3  # SS too, by an ancestor's representation
    outer.ReferencedImageSequence = [nested]
    report.SourceImageSequence = [outer]
    plain, fast = io.BytesIO(), io.BytesIO()
    copy.deepcopy(report).save_as(plain, enforce_file_format=True)
    _mark_as_encoded(report)
    report.save_as(fast, enforce_file_format=True)
    assert fast.getvalue() == plain.getvalue()
    back = pydicom.dcmread(io.BytesIO(fast.getvalue()))
    assert back.SmallestImagePixelValue == -5
    assert back.SourceImageSequence[0].ReferencedImageSequence[0].LargestImagePixelValue == -3


def test_build_sr_holds_what_write_sr_writes(tmp_path):
    """build_sr's document (parsed by highdicom in memory) holds the measurements, their
    geometry and frames that write_sr's file holds."""
    from usannotate.export import annotated_loop
    from usannotate.export.sr import build_sr, write_sr

    with annotated_loop(mark_sample(tmp_path)) as work:
        built = build_sr(work, all_frames=True)
        path = write_sr(work, tmp_path / "written.dcm", all_frames=True)
    back = hd.sr.srread(path)

    def measurements(report: hd.sr.ComprehensiveSR) -> list[tuple]:
        out = []
        for group in report.content.get_image_measurement_groups():
            for m in group.get_measurements():
                scoords = m.referenced_coordinates or []
                images = [s.ContentSequence[0] for s in scoords] or m.referenced_images
                out.append(
                    (
                        str(group.tracking_uid),
                        m.name.value,
                        m.value,
                        m.unit.value,
                        [list(s.value.ravel()) for s in scoords],
                        [int(i.ReferencedSOPSequence[0].ReferencedFrameNumber) for i in images],
                    )
                )
        return out

    assert isinstance(built, hd.sr.ComprehensiveSR)
    listed = measurements(built)
    assert len(listed) > 100
    assert listed == measurements(back)
