"""A sidecar's ``calibration.source`` follows the one definition of a usable region
(``usannotate.cine.calibration.measuring_region``), for a new document and for a saved
one whose manual calibration was removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

import usannotate
from tests.cine import dicom_factory as factory
from tests.sidecar.docs import LOOP_A, NOW, label_set
from usannotate.cine import measuring_region
from usannotate.sidecar import ManualCalibration, document_to_json, new_document


def _factory_loop(tmp_path: Path, bounds: tuple[int, int, int, int], **kwargs) -> Path:
    """The factory's 64 x 48 loop with one region of the given (file) bounds."""
    case = factory.make_explicit_le_mono2_8bit(tmp_path / "good")
    region = factory.ultrasound_region(bounds, **kwargs)
    return factory.with_regions(case.path, tmp_path / "with-region.dcm", [region])


@pytest.mark.parametrize(
    ("make", "source"),
    [
        (lambda tmp: LOOP_A, "dicom"),
        (lambda tmp: Path(get_testdata_file("examples_ybr_color.dcm")), "none"),  # resized
        (lambda tmp: _factory_loop(tmp, (0, 4, 64, 48)), "dicom"),  # 1 px past: clipped
        (lambda tmp: _factory_loop(tmp, (0, 4, 65, 47)), "none"),  # 2 px past
        (lambda tmp: _factory_loop(tmp, (0, 4, 63, 47), units=(3, 4)), "none"),  # cm x s
    ],
    ids=["sample", "larger than the image", "1 px past", "2 px past", "not cm"],
)
def test_a_new_document_is_dicom_exactly_when_the_loop_has_a_measuring_region(
    tmp_path: Path, make, source
):
    with usannotate.open_cine(make(tmp_path), prefetch_frames=0) as loop:
        doc = new_document(loop, label_set(), "A. Rater", now=NOW)
        region = measuring_region(loop.regions, (loop.columns, loop.rows))
    assert doc.calibration.source == source
    assert (source == "dicom") == (region is not None)


def _removed_manual(tmp_path: Path, recorded_bounds: list[int]) -> str:
    """The source a save writes for a document recorded as ``"manual"`` whose manual
    calibration was removed, its region recorded with ``recorded_bounds``."""
    with usannotate.open_cine(_factory_loop(tmp_path, (0, 4, 63, 47)), prefetch_frames=0) as loop:
        doc = new_document(loop, label_set(), "A. Rater", now=NOW)
    doc.annotations.manual_calibration = ManualCalibration.from_line([(0, 0), (10, 0)], 5.0)
    assert document_to_json(doc)["calibration"]["source"] == "manual"
    doc.calibration.source = "manual"  # as a file saved with it records
    doc.calibration.regions[0]["bounds"] = recorded_bounds
    doc.annotations.manual_calibration = None  # then removed (undone) by the user
    return document_to_json(doc)["calibration"]["source"]


@pytest.mark.parametrize(
    ("bounds", "source"),
    [
        ([0, 4, 63, 47], "dicom"),
        ([0, 4, 64, 48], "dicom"),  # a file written before regions were clipped
        ([-1, 4, 63, 47], "dicom"),  # 1 px past on the left: the core clips it too
        ([0, 4, 65, 47], "none"),
        ([0, 4, "63", 47], "none"),  # malformed: no mm (validation says why)
    ],
)
def test_a_removed_manual_calibration_falls_back_on_the_same_rule(tmp_path, bounds, source):
    assert _removed_manual(tmp_path, bounds) == source
