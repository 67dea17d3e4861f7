"""The usable calibration region, defined once: which regions give mm, which one is the
B-mode image, and a sidecar's region dicts read back as regions."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydicom.data import get_testdata_file

import usannotate
from tests.cine import dicom_factory as factory
from usannotate.cine import Region, measuring_region, usable_regions

IMAGE = (100, 80)  # columns, rows


def _region(bounds, *, units=("cm", "cm"), spatial="2d", mm=(0.1, 0.1), reference=None):
    return Region(
        bounds=bounds,
        spatial_format=spatial,
        data_type="tissue",
        flags=0,
        units_x=units[0],
        units_y=units[1],
        physical_delta_x=mm[0] / 10,
        physical_delta_y=mm[1] / 10,
        reference_pixel=reference,
    )


def test_only_2d_cm_regions_with_a_pixel_size_inside_the_image_are_usable():
    good = _region((0, 0, 49, 79))
    regions = [
        _region((0, 0, 99, 79), spatial="m-mode"),
        _region((0, 0, 99, 79), units=("cm", "s")),
        _region((0, 0, 99, 79), mm=(0.1, 0.0)),
        _region((0, 0, 101, 79)),  # 2 px past the image: a resized export
        good,
    ]
    assert usable_regions(regions, IMAGE) == [good]
    assert usable_regions(regions, IMAGE)[0] is good  # no clipping needed: as given
    assert measuring_region(regions, IMAGE) is good


@pytest.mark.parametrize("bounds", [(0, 0, 100, 79), (0, 0, 99, 80), (-1, 0, 99, 79)])
def test_a_region_one_pixel_past_the_image_is_clipped_and_usable(bounds):
    [usable] = usable_regions([_region(bounds)], IMAGE)
    assert usable.bounds == (0, 0, 99, 79)
    assert usable.file_bounds == bounds


def test_the_measuring_region_is_the_largest_usable_one_the_first_of_equals():
    small, large, twin = (
        _region((10, 10, 29, 29)),
        _region((0, 0, 59, 79)),
        _region((40, 0, 99, 79)),
    )
    assert measuring_region([small, large, twin], IMAGE) is large
    assert measuring_region([small, twin, large], IMAGE) is twin
    assert usable_regions([small, large, twin], IMAGE) == [small, large, twin]  # file order


def test_no_usable_region_means_no_measuring_region():
    assert measuring_region([], IMAGE) is None
    assert measuring_region([_region((0, 0, 99, 79), units=("cm", "Hz"))], IMAGE) is None


def test_the_bundled_resized_export_has_no_measuring_region():
    """examples_ybr_color.dcm: its region is larger than the 320 x 240 image."""
    with usannotate.open_cine(get_testdata_file("examples_ybr_color.dcm")) as loop:
        assert loop.regions
        assert measuring_region(loop.regions, (loop.columns, loop.rows)) is None


def test_a_scanner_like_region_1_px_too_large_is_the_measuring_region(tmp_path):
    case = factory.make_explicit_le_mono2_8bit(tmp_path / "good")
    region = factory.ultrasound_region((0, 4, 64, 48), mm_per_px=(0.2, 0.25))
    path = factory.with_regions(case.path, tmp_path / "with-region.dcm", [region])
    with usannotate.open_cine(path) as loop:
        found = measuring_region(loop.regions, (loop.columns, loop.rows))
        assert found is loop.regions[0]
    assert found.bounds == (0, 4, 63, 47)


# ------------------------------------------------------- a sidecar's region dicts
@pytest.mark.parametrize(
    "region",
    [
        _region((0, 0, 49, 79), reference=(25, 0)),
        replace(_region((0, 0, 99, 79)), bounds=(0, 0, 99, 79), file_bounds=(0, 0, 100, 79)),
        _region((0, 0, 99, 79), units=("cm", "s")),
        _region((0, 0, 99, 79), spatial="m-mode"),
    ],
    ids=["reference pixel", "clipped", "not cm", "m-mode"],
)
def test_a_region_read_from_its_json_measures_the_same(region):
    again = Region.from_json(region.to_json())
    assert again.to_json() == region.to_json()
    assert again.is_spatial_cm == region.is_spatial_cm
    assert (again.mm_per_px_x, again.mm_per_px_y) == pytest.approx(
        (region.mm_per_px_x, region.mm_per_px_y)
    )
    assert [r.to_json() for r in usable_regions([again], IMAGE)] == [
        r.to_json() for r in usable_regions([region], IMAGE)
    ]


def test_json_whole_numbers_written_as_floats_are_bounds():
    data = _region((0, 0, 49, 79)).to_json() | {"bounds": [0.0, 0, 49.0, 79]}
    assert Region.from_json(data).bounds == (0, 0, 49, 79)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"bounds": [0, 0, 49]}, "bounds are 4 whole numbers"),
        ({"bounds": [0, 0, 49.5, 79]}, "bounds are 4 whole numbers"),
        ({"bounds": [0, 0, True, 79]}, "bounds are 4 whole numbers"),
        ({"units_x": 3}, "units_x is a string"),
        ({"mm_per_px_y": "0.1"}, "mm_per_px_y is a number or null"),
        ({"reference_pixel": [1, 2, 3]}, "reference_pixel are 2 whole numbers"),
    ],
)
def test_a_malformed_region_dict_is_refused_with_what_is_wrong(change, says):
    with pytest.raises(ValueError, match=says):
        Region.from_json(_region((0, 0, 49, 79)).to_json() | change)


def test_a_region_dict_is_a_mapping():
    with pytest.raises(ValueError, match="a region is a JSON object, not list"):
        Region.from_json([0, 0, 49, 79])  # type: ignore[arg-type]
