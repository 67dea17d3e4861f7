"""Ultrasound regions and the mm-or-px decision for a set of points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

import usannotate
from tests.cine import dicom_factory as factory
from usannotate.cine import calibration_for_points, parse_regions
from usannotate.cli import main


def _region(x0, y0, x1, y1, *, delta_cm=0.01, units=(3, 3), spatial=1, data_type=1) -> Dataset:
    item = Dataset()
    item.RegionSpatialFormat = spatial
    item.RegionDataType = data_type
    item.RegionFlags = 0
    item.RegionLocationMinX0, item.RegionLocationMinY0 = x0, y0
    item.RegionLocationMaxX1, item.RegionLocationMaxY1 = x1, y1
    item.PhysicalUnitsXDirection, item.PhysicalUnitsYDirection = units
    item.PhysicalDeltaX = delta_cm
    item.PhysicalDeltaY = delta_cm * 1.5
    item.ReferencePixelX0, item.ReferencePixelY0 = 10, 0
    return item


def _regions(*items: Dataset):
    ds = Dataset()
    ds.SequenceOfUltrasoundRegions = list(items)
    return parse_regions(ds)


def test_parse_region_fields():
    [region] = _regions(_region(10, 20, 109, 219, delta_cm=0.02))
    assert region.bounds == (10, 20, 109, 219)
    assert (region.spatial_format, region.data_type) == ("2d", "tissue")
    assert (region.units_x, region.units_y) == ("cm", "cm")
    assert region.mm_per_px_x == pytest.approx(0.2)
    assert region.mm_per_px_y == pytest.approx(0.3)
    assert region.reference_pixel == (10, 0)
    assert region.is_spatial_cm


def test_region_bounds_are_inclusive_pixel_indices():
    [region] = _regions(_region(10, 20, 109, 219))
    assert region.contains(10.0, 20.0)  # top-left corner of the first pixel
    assert region.contains(109.99, 219.99)  # inside the last pixel
    assert region.contains(110.0, 100.0)  # on the right edge of the last pixel column
    assert not region.contains(110.01, 100.0)
    assert not region.contains(9.99, 100.0)


def test_points_inside_one_region_are_in_mm():
    regions = _regions(_region(0, 0, 99, 99, delta_cm=0.01))
    calibration = calibration_for_points(regions, [(1.5, 2.5), (98.0, 97.0)])
    assert calibration.unit == "mm"
    assert calibration.is_mm
    assert calibration.mm_per_px_x == pytest.approx(0.1)
    assert calibration.mm_per_px_y == pytest.approx(0.15)
    assert calibration.region is regions[0]


def test_points_outside_every_region_are_in_px():
    regions = _regions(_region(0, 50, 99, 99))
    calibration = calibration_for_points(regions, [(10, 10), (20, 20)])
    assert calibration.unit == "px"
    assert "outside" in calibration.reason


def test_points_across_two_regions_are_never_mixed():
    regions = _regions(_region(0, 0, 99, 99), _region(100, 0, 199, 99, delta_cm=0.02))
    calibration = calibration_for_points(regions, [(50, 50), (150, 50)])
    assert calibration.unit == "px"
    assert calibration.reason == (
        "the points lie in regions 1 and 2 (never mixed): point 2 of 2 is outside region 1"
    )


def test_point_half_outside_a_region_is_px():
    regions = _regions(_region(0, 0, 99, 99))
    calibration = calibration_for_points(regions, [(50, 50), (150, 50)])
    assert calibration.unit == "px"
    assert "outside" in calibration.reason


def test_non_cm_units_are_px():
    regions = _regions(_region(0, 0, 99, 99, units=(4, 7), spatial=3, data_type=3))
    # A spectral Doppler strip (seconds x cm/s) is not a 2-D spatial region at all.
    assert calibration_for_points(regions, [(5, 5)]).unit == "px"
    regions = _regions(_region(0, 0, 99, 99, units=(3, 0)))
    calibration = calibration_for_points(regions, [(5, 5)])
    assert calibration.unit == "px"
    assert "not cm" in calibration.reason


def test_nested_regions_use_the_innermost():
    outer = _region(0, 0, 199, 199, delta_cm=0.01)
    colour_box = _region(50, 50, 99, 99, delta_cm=0.01, data_type=2)
    regions = _regions(outer, colour_box)
    inside_box = calibration_for_points(regions, [(60, 60), (70, 70)])
    assert inside_box.region is not None
    assert inside_box.region.data_type == "color_flow"
    spanning = calibration_for_points(regions, [(10, 10), (70, 70)])
    assert spanning.unit == "mm"
    assert spanning.region.data_type == "tissue"


def test_no_regions_or_no_points():
    assert "no ultrasound calibration" in calibration_for_points([], [(1, 1)]).reason
    assert calibration_for_points(_regions(_region(0, 0, 9, 9)), []).unit == "px"


def test_bundled_cine_regions():
    with usannotate.open_cine(get_testdata_file("examples_ybr_color.dcm")) as loop:
        [region] = loop.regions
    assert region.bounds == (84, 31, 595, 414)
    assert region.mm_per_px_x == pytest.approx(0.5105, abs=1e-4)


def test_region_without_location_is_skipped():
    broken = _region(0, 0, 9, 9)
    del broken.RegionLocationMaxX1
    assert _regions(broken, _region(0, 0, 9, 9))[0].bounds == (0, 0, 9, 9)
    assert len(_regions(broken)) == 0


def test_region_beyond_the_image_is_never_used_for_mm():
    """examples_ybr_color.dcm is 320 x 240 but its region spans x 84..595: the image was
    resized after the scanner calibrated it, so its mm per pixel do not apply."""
    with usannotate.open_cine(get_testdata_file("examples_ybr_color.dcm")) as loop:
        calibration = loop.calibration_for_points([(150.0, 100.0)])
        assert any("extends beyond" in warning for warning in loop.warnings)
    assert calibration.unit == "px"
    assert "extends beyond the 320 x 240 image" in calibration.reason
    regions = _regions(_region(0, 0, 99, 99))
    assert calibration_for_points(regions, [(5, 5)], image_size=(100, 100)).unit == "mm"
    assert calibration_for_points(regions, [(5, 5)], image_size=(98, 100)).unit == "px"


# ------------------------------------------- a region 1 px past the image (issue 9)


def _loop_with_region(tmp_path: Path, bounds: tuple[int, int, int, int], **kwargs) -> Path:
    """The factory's 64 x 48 loop with one region of the given (file) bounds."""
    case = factory.make_explicit_le_mono2_8bit(tmp_path / "good")
    region = factory.ultrasound_region(bounds, **kwargs)
    return factory.with_regions(case.path, tmp_path / "with-region.dcm", [region])


@pytest.mark.parametrize(
    "file_bounds",
    [(0, 4, 64, 47), (0, 4, 63, 48), (0, 4, 64, 48)],
    ids=["max_x1_is_columns", "max_y1_is_rows", "both"],
)
def test_region_one_pixel_past_the_image_is_clipped_and_used(
    tmp_path: Path, capsys, file_bounds
) -> None:
    """Philips CX50: RegionLocationMaxX1 = 800 on an 800-column image. Scanners do this:
    the region is clipped to the image and its calibration used."""
    path = _loop_with_region(tmp_path, file_bounds, mm_per_px=(0.2, 0.25))
    with usannotate.open_cine(path) as loop:
        [region] = loop.regions
        assert region.bounds == (0, 4, 63, 47)
        assert region.file_bounds == file_bounds
        assert loop.warnings == []
        # A plane from the image's left edge to its bottom-right corner.
        calibration = loop.calibration_for_points([(0.0, 10.0), (64.0, 48.0)])
    assert calibration.is_mm, calibration.reason
    assert (calibration.mm_per_px_x, calibration.mm_per_px_y) == pytest.approx((0.2, 0.25))
    assert calibration.region_number == 1

    assert main(["info", str(path), "--json"]) == 0
    [info] = json.loads(capsys.readouterr().out)["regions"]
    assert info["bounds"] == [0, 4, 63, 47]
    assert info["file_bounds"] == list(file_bounds)
    assert info["within_image"] is True
    assert main(["info", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "region 1: [0, 4, 63, 47]" in out
    assert f"the file says {list(file_bounds)}" in out
    assert "clipped" in out
    assert err == ""


def test_region_clearly_larger_than_the_image_is_refused(tmp_path: Path, capsys) -> None:
    """2 px past the image: a resized export, not a scanner's rounding."""
    path = _loop_with_region(tmp_path, (0, 4, 65, 47))
    with usannotate.open_cine(path) as loop:
        [region] = loop.regions
        assert (region.bounds, region.file_bounds) == ((0, 4, 65, 47), None)
        assert any("by more than 1 px" in w for w in loop.warnings), loop.warnings
        calibration = loop.calibration_for_points([(10.0, 10.0)])
    assert calibration.unit == "px"
    assert calibration.reason.startswith("region 1 [0, 4, 65, 47] extends beyond the 64 x 48")
    assert main(["info", str(path), "--json"]) == 0
    [info] = json.loads(capsys.readouterr().out)["regions"]
    assert (info["bounds"], info["file_bounds"], info["within_image"]) == (
        [0, 4, 65, 47],
        None,
        False,
    )


def test_regions_inside_the_image_are_not_touched() -> None:
    [region] = _regions(_region(0, 0, 99, 99))
    assert region.clipped_to(100, 100) is region
    assert region.clipped_to(100, 100).file_bounds is None


# ---------------------------------------------- reasons name the point and the region


def _plane(first_x: float, n_points: int = 8) -> list[tuple[float, float]]:
    return [(first_x, 50.0)] + [(20.0 + 10.0 * k, 50.0 + k) for k in range(n_points - 1)]


def test_reason_names_the_point_outside_and_its_region() -> None:
    """A plane whose first vertex lies 0.1 px left of the region."""
    regions = _regions(_region(10, 10, 99, 99))
    calibration = calibration_for_points(regions, _plane(9.9), (120, 120))
    assert calibration.unit == "px"
    assert calibration.reason == "point 1 of 8 is outside region 1"
    assert calibration_for_points(regions, _plane(10.0), (120, 120)).is_mm


def test_reason_lists_several_points_outside() -> None:
    regions = _regions(_region(10, 10, 99, 99))
    two = [*_plane(9.9)[:-1], (100.5, 60.0)]
    assert calibration_for_points(regions, two).reason == "points 1 and 8 of 8 are outside region 1"
    many = [(1.0, 1.0)] * 5 + [(50.0, 50.0)] * 6
    assert (
        calibration_for_points(regions, many).reason
        == "points 1, 2, 3 and 2 more of 11 are outside region 1"
    )


def test_reason_names_the_region_holding_most_points() -> None:
    regions = _regions(_region(0, 0, 99, 99), _region(100, 0, 199, 99))
    points = [(150.0, 10.0), (50.0, 10.0), (160.0, 10.0)]
    assert calibration_for_points(regions, points).reason == (
        "the points lie in regions 1 and 2 (never mixed): point 2 of 3 is outside region 2"
    )


def test_reason_when_no_region_holds_any_point() -> None:
    regions = _regions(_region(0, 50, 99, 99))
    assert (
        calibration_for_points(regions, [(10, 10)]).reason
        == "the point lies outside every 2-D ultrasound region"
    )
    assert (
        calibration_for_points(regions, [(10, 10), (20, 20)]).reason
        == "the points lie outside every 2-D ultrasound region"
    )
    spectral = _regions(_region(0, 0, 99, 99, units=(4, 7), spatial=3, data_type=3))
    assert "no 2-D ultrasound region" in calibration_for_points(spectral, [(5, 5)]).reason


def test_reason_names_the_region_whose_units_are_not_cm() -> None:
    regions = _regions(_region(0, 0, 9, 9), _region(20, 0, 99, 99, units=(3, 0)))
    calibration = calibration_for_points(regions, [(50, 50)])
    assert calibration.reason == "region 2's units are cm x none, not cm"
    assert calibration.region_number == 2


# --------------------------------------------------- position without a reference


def test_position_from_the_reference_pixel() -> None:
    [region] = _regions(_region(10, 20, 109, 219, delta_cm=0.02))  # reference (10, 0)
    lateral, depth = region.position_mm(30.0, 50.0)
    assert lateral == pytest.approx((30.0 - 20.0) * 0.2)
    assert depth == pytest.approx((50.0 - 20.0) * 0.3)


def test_position_without_a_reference_pixel_has_no_lateral() -> None:
    """Without ReferencePixelX0 the region's left edge is no reference: '+135 mm
    lateral' in the middle of a sector was nonsense."""
    item = _region(10, 20, 109, 219, delta_cm=0.02)
    del item.ReferencePixelX0
    del item.ReferencePixelY0
    [region] = _regions(item)
    assert region.reference_pixel is None
    lateral, depth = region.position_mm(60.0, 50.0)
    assert lateral is None
    assert depth == pytest.approx((50.0 - 20.0) * 0.3)  # from the region's top


def test_position_needs_a_region_in_cm() -> None:
    [region] = _regions(_region(0, 0, 99, 99, units=(4, 7), spatial=3))
    with pytest.raises(ValueError, match="no position in mm"):
        region.position_mm(5.0, 5.0)
