"""A manual calibration (a line along a burned-in scale) measures every mark in mm;
undoing it brings the DICOM calibration back (issue 9)."""

from __future__ import annotations

import pytest

from usannotate.annotations import (
    AnnotatedObject,
    Annotations,
    ShapeKind,
    calibration_lookup,
    default_label_set,
    measure_frame,
)
from usannotate.annotations.edits import EditHistory, SetManualCalibration
from usannotate.cine import ManualCalibration, Region, calibration_for_points

REGION = Region(
    bounds=(0, 20, 99, 99),
    spatial_format="2d",
    data_type="tissue",
    flags=0,
    units_x="cm",
    units_y="cm",
    physical_delta_x=0.01,
    physical_delta_y=0.02,
    reference_pixel=(50, 0),
)
POINTS = [(10.0, 30.0), (40.0, 70.0)]


def _annotations() -> Annotations:
    annotations = Annotations(default_label_set())
    needle = annotations.add(AnnotatedObject("needle", ShapeKind.NEEDLE))
    needle.set_points(0, POINTS)
    return annotations


def test_without_a_manual_calibration_the_regions_decide() -> None:
    annotations = _annotations()
    lookup = calibration_lookup(annotations, [REGION], (100, 100))
    assert lookup(POINTS) == calibration_for_points([REGION], POINTS, (100, 100))
    assert lookup(POINTS).source == "dicom"
    outside = lookup([(10.0, 5.0)])
    assert (outside.unit, outside.source) == ("px", "none")
    assert calibration_lookup(annotations, [], (100, 100))(POINTS).source == "none"


def test_manual_calibration_is_an_undoable_edit_that_measures_in_mm() -> None:
    annotations = _annotations()
    history = EditHistory(annotations)
    lookup = calibration_lookup(annotations, [], (100, 100))
    assert not lookup(POINTS).is_mm
    line = ManualCalibration.from_line([(0, 0), (0, 50)], 10.0)  # 0.2 mm/px
    history.push(SetManualCalibration(line))
    assert history.undo_text == "Calibrate"
    calibration = lookup(POINTS)  # the same lookup follows the change
    assert (calibration.unit, calibration.source, calibration.region) == ("mm", "manual", None)
    assert (calibration.mm_per_px_x, calibration.mm_per_px_y) == (pytest.approx(0.2),) * 2
    rows = {r.measurement: r for r in measure_frame(annotations, 0, lookup)}
    assert rows["length"].value == pytest.approx(50.0 * 0.2)
    assert rows["length"].unit == "mm"
    assert rows["tip_depth"].value == pytest.approx(70.0 * 0.2)  # from the image top
    history.undo()
    assert annotations.manual_calibration is None
    assert measure_frame(annotations, 0, lookup)[0].unit == "px"
    history.redo()
    assert annotations.manual_calibration == line


def test_manual_calibration_overrides_the_regions_and_can_be_removed() -> None:
    annotations = _annotations()
    history = EditHistory(annotations)
    lookup = calibration_lookup(annotations, [REGION], (100, 100))
    first = ManualCalibration.from_line([(0, 0), (30, 40)], 25.0)  # 0.5 mm/px
    second = ManualCalibration.from_line([(0, 0), (0, 100)], 10.0)
    history.push(SetManualCalibration(first))
    history.push(SetManualCalibration(second))
    assert lookup(POINTS).mm_per_px_x == pytest.approx(0.1)
    history.push(SetManualCalibration(None))
    assert history.undo_text == "Remove calibration"
    assert lookup(POINTS) == calibration_for_points([REGION], POINTS, (100, 100))
    history.undo()
    assert annotations.manual_calibration == second
    history.undo()
    assert annotations.manual_calibration == first
    history.undo()
    assert annotations.manual_calibration is None
