"""Ultrasound regions and the mm-or-px decision for a set of points."""

from __future__ import annotations

import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

import usannotate
from usannotate.cine import calibration_for_points, parse_regions


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
    assert "different" in calibration.reason


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
    assert calibration_for_points(regions, [(5, 5)], image_size=(99, 100)).unit == "px"
