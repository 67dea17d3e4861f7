"""Measurements: hand-computed cases, units, regions never mixed, and the sample loops' truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import usannotate
from usannotate.annotations.kinds import ShapeKind
from usannotate.annotations.labels import default_label_set
from usannotate.annotations.measurements import (
    MEASUREMENT_TITLES,
    Measurement,
    Row,
    distance_point_to_polyline,
    fluid_extent_along_plane,
    is_fluid_label,
    measure_frame,
    needle_measurements,
    point_depth,
    polyline_length,
    region_area,
    tip_to_nearest_plane,
)
from usannotate.annotations.model import AnnotatedObject, Annotations
from usannotate.cine.calibration import Calibration, Region, calibration_for_points

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
SAMPLE_STEMS = ["hydrodissection_linear_a", "hydrodissection_linear_b"]
TRUTH_PLANE_LABELS = {
    "superficial_fascia": "fascia.superficial",
    "deep_fascia": "fascia.deep",
    "interfascial_plane": "fascia.interfascial",
}

PX = Calibration("px", 1.0, 1.0, reason="uncalibrated")


def _region(bounds, mm_x=0.1, mm_y=0.1, reference_pixel=None) -> Region:
    return Region(
        bounds=bounds,
        spatial_format="2d",
        data_type="tissue",
        flags=0,
        units_x="cm",
        units_y="cm",
        physical_delta_x=mm_x / 10,
        physical_delta_y=mm_y / 10,
        reference_pixel=reference_pixel,
    )


def _mm(mm_x: float, mm_y: float, region: Region | None = None) -> Calibration:
    return Calibration("mm", mm_x, mm_y, region=region)


# ---------------------------------------------------------------------- hand computed
def test_polyline_length_3_4_5():
    points = [(0, 0), (3, 4), (3, 10)]
    assert polyline_length(points, PX) == Measurement("length", 11.0, "px")
    length = polyline_length(points, _mm(0.5, 0.5))
    assert length.unit == "mm"
    assert length.value == pytest.approx(5.5)


def test_anisotropic_pixels_scale_x_and_y_separately():
    # 3 px across at 0.4 mm/px and 4 px down at 0.3 mm/px: 1.2 mm and 1.2 mm.
    cal = _mm(0.4, 0.3)
    assert polyline_length([(0, 0), (3, 4)], cal).value == pytest.approx(math.hypot(1.2, 1.2))
    needle = needle_measurements([(0, 0), (3, 4)], cal)
    assert needle["angle"].value == pytest.approx(45.0)  # in mm space, not atan(4/3)
    assert needle["length"].value == pytest.approx(1.2 * math.sqrt(2))
    assert region_area([(0, 0), (10, 0), (10, 10), (0, 10)], cal).value == pytest.approx(12.0)


def test_needle_angle_is_acute_and_positive_whichever_way_it_points():
    for entry, tip in [
        ((0, 0), (10, 10)),
        ((10, 10), (0, 0)),
        ((10, 0), (0, 10)),
        ((0, 10), (10, 0)),
    ]:
        m = needle_measurements([entry, tip], PX)["angle"]
        assert m == Measurement("angle", pytest.approx(45.0), "deg")
    assert needle_measurements([(0, 5), (10, 5)], PX)["angle"].value == 0.0
    assert needle_measurements([(5, 0), (5, 9)], PX)["angle"].value == pytest.approx(90.0)
    steep = needle_measurements([(0, 0), (4, 3)], _mm(0.2, 0.2))["angle"]
    assert steep.value == pytest.approx(math.degrees(math.atan2(3, 4)))
    assert steep.unit == "deg"


def test_zero_length_needle_has_no_angle():
    needle = needle_measurements([(3, 3), (3, 3)], PX)
    assert math.isnan(needle["angle"].value)
    assert needle["length"].value == 0.0


def test_needle_length_and_tip_depth_below_the_skin_line():
    region = _region((10, 20, 209, 219), mm_x=0.2, mm_y=0.25, reference_pixel=(100, 4))
    cal = _mm(0.2, 0.25, region)
    needle = needle_measurements([(20, 30), (20 + 30, 30 + 40)], cal)
    assert needle["length"].value == pytest.approx(math.hypot(30 * 0.2, 40 * 0.25))
    assert needle["length"].unit == "mm"
    # Skin line at row 20 + 4 = 24; tip at row 70: 46 px * 0.25 mm/px.
    assert needle["tip_depth"] == Measurement("tip_depth", pytest.approx(11.5), "mm")
    # Without a reference pixel the skin line is the region's top edge.
    plain = _region((10, 20, 209, 219), mm_x=0.2, mm_y=0.25)
    depth = needle_measurements([(20, 30), (50, 70)], _mm(0.2, 0.25, plain))["tip_depth"]
    assert depth.value == pytest.approx(50 * 0.25)


def test_uncalibrated_tip_depth_is_px_below_the_image_top():
    needle = needle_measurements([(20, 30), (50, 70)], PX)
    assert needle["tip_depth"] == Measurement("tip_depth", 70.0, "px")
    assert needle["length"] == Measurement("length", 50.0, "px")
    assert point_depth([(5, 12.5)], PX) == Measurement("depth", 12.5, "px")
    # An explicit region gives the skin line even when the calibration is in px.
    region = _region((0, 10, 99, 99), reference_pixel=(50, 2))
    assert needle_measurements([(20, 30), (50, 70)], PX, region)["tip_depth"].value == 58.0


def test_point_depth_in_mm():
    region = _region((0, 10, 99, 99), mm_x=0.1, mm_y=0.2)
    assert point_depth([(50, 60)], _mm(0.1, 0.2, region)) == Measurement(
        "depth", pytest.approx(10.0), "mm"
    )


def test_square_region_area():
    square = [(10, 10), (20, 10), (20, 20), (10, 20)]
    assert region_area(square, PX) == Measurement("area", 100.0, "px2")
    assert region_area(square[::-1], PX).value == 100.0  # either direction
    area = region_area(square, _mm(0.1, 0.1))
    assert area.unit == "mm2"
    assert area.value == pytest.approx(1.0)
    triangle = [(0, 0), (4, 0), (4, 3)]
    assert region_area(triangle, PX).value == 6.0


def test_distance_point_to_polyline():
    line = [(0, 0), (10, 0), (10, 10)]
    assert distance_point_to_polyline((5, 4), line, PX).value == 4.0
    assert distance_point_to_polyline((13, 14), line, PX).value == 5.0  # past the end: 3-4-5
    assert distance_point_to_polyline((-3, -4), line, PX).value == 5.0  # before the start
    assert distance_point_to_polyline((7, 3), line, PX).value == 3.0  # closest to 2nd segment
    mm = distance_point_to_polyline((5, 4), [(0, 0), (10, 0)], _mm(0.2, 0.5))
    assert mm == Measurement("distance", pytest.approx(2.0), "mm")


def test_tip_to_nearest_plane_picks_the_closest_polyline():
    planes = {
        "superficial": [(0, 10), (100, 10)],
        "deep": [(0, 40), (100, 40)],
    }
    name, m = tip_to_nearest_plane([(0, 0), (30, 34)], planes, PX)
    assert name == "deep"
    assert m == Measurement("tip_to_plane", 6.0, "px")
    name, m = tip_to_nearest_plane([(0, 0), (30, 34)], planes, _mm(0.1, 0.1))
    assert (name, m.unit) == ("deep", "mm")
    assert m.value == pytest.approx(0.6)
    with pytest.raises(ValueError, match="no fascial plane"):
        tip_to_nearest_plane([(0, 0), (1, 1)], {}, PX)


def test_fluid_extent_along_a_bent_plane():
    # A plane bent at a right angle; the fluid's vertices project onto both legs.
    plane = [(0, 0), (10, 0), (10, 10)]
    fluid = [(2, -1), (8, 1), (11, 6), (9, 2)]
    extent = fluid_extent_along_plane(fluid, plane, PX)
    # Closest points at arc lengths 2, 8, 10 + 6 = 16 and 10 + 2 = 12: extent 16 - 2.
    assert extent == Measurement("extent_along_plane", 14.0, "px")
    lens = [(20, 50), (50, 45), (80, 50), (50, 55)]
    flat = [(0, 50), (100, 50)]
    assert fluid_extent_along_plane(lens, flat, _mm(0.1, 0.3)) == Measurement(
        "extent_along_plane", pytest.approx(6.0), "mm"
    )


def test_units_and_titles():
    assert {"length", "angle", "tip_depth", "tip_to_plane", "area"} <= set(MEASUREMENT_TITLES)
    assert is_fluid_label("fluid.injectate")
    assert is_fluid_label("user.saline", "fluid")
    assert not is_fluid_label("avoid.vessel", "avoid")


def test_bad_points_are_refused():
    with pytest.raises(ValueError, match="exactly two"):
        needle_measurements([(0, 0), (1, 1), (2, 2)], PX)
    with pytest.raises(ValueError, match="3 or more"):
        region_area([(0, 0), (1, 1)], PX)
    with pytest.raises(ValueError, match="finite"):
        polyline_length([(0, 0), (math.nan, 1)], PX)


# --------------------------------------------------------------------- measure_frame
def _two_region_calibration(points) -> Calibration:
    """Two side-by-side B-mode regions of 0.1 mm/px (a dual view)."""
    regions = [_region((0, 0, 99, 99)), _region((100, 0, 199, 99))]
    return calibration_for_points(regions, points, (200, 100))


def _scene() -> tuple[Annotations, dict[str, AnnotatedObject]]:
    annotations = Annotations(default_label_set())
    objects = {
        "plane": AnnotatedObject("fascia.deep", ShapeKind.POLYLINE),
        "needle": AnnotatedObject("needle", ShapeKind.NEEDLE),
        "fluid": AnnotatedObject("fluid.injectate", ShapeKind.REGION),
        "vessel": AnnotatedObject("avoid.vessel", ShapeKind.REGION),
        "target": AnnotatedObject("target", ShapeKind.POINT),
    }
    for obj in objects.values():
        annotations.add(obj)
    objects["plane"].set_points(0, [(0, 50), (99, 50)])
    objects["needle"].set_points(0, [(10, 10), (40, 50)])
    objects["fluid"].set_points(0, [(30, 50), (50, 47), (70, 50), (50, 53)])
    objects["vessel"].set_points(0, [(80, 80), (90, 80), (90, 90), (80, 90)])
    objects["target"].set_points(0, [(50, 50)])
    objects["plane"].set_points(1, [(0, 50), (99, 50)])
    return annotations, objects


def test_measure_frame_lists_every_object_and_measurement():
    annotations, objects = _scene()
    rows = measure_frame(annotations, 0, _two_region_calibration)
    table = {(r.object_id, r.measurement): r for r in rows}
    plane_id = objects["plane"].id
    needle_id = objects["needle"].id
    assert [(r.label_id, r.measurement) for r in rows] == [
        ("fascia.deep", "length"),
        ("needle", "length"),
        ("needle", "angle"),
        ("needle", "tip_depth"),
        ("needle", "tip_to_plane"),
        ("fluid.injectate", "area"),
        ("fluid.injectate", "extent_along_plane"),
        ("avoid.vessel", "area"),
        ("target", "depth"),
    ]
    assert all(isinstance(r, Row) and r.frame == 0 for r in rows)
    assert table[plane_id, "length"].value == pytest.approx(9.9)
    assert table[needle_id, "length"].value == pytest.approx(5.0)  # 30-40-50 px
    assert table[needle_id, "angle"].value == pytest.approx(math.degrees(math.atan2(4, 3)))
    assert table[needle_id, "tip_depth"].value == pytest.approx(5.0)
    tip = table[needle_id, "tip_to_plane"]
    assert (tip.value, tip.unit, tip.reference) == (pytest.approx(0.0), "mm", plane_id)
    fluid = table[objects["fluid"].id, "extent_along_plane"]
    assert (fluid.value, fluid.unit, fluid.reference) == (pytest.approx(4.0), "mm", plane_id)
    assert table[objects["fluid"].id, "area"].value == pytest.approx(1.2)
    assert table[objects["vessel"].id, "area"].unit == "mm2"
    assert table[objects["target"].id, "depth"] == Row(
        0,
        objects["target"].id,
        "target",
        "Target / trigger point",
        "point",
        "depth",
        pytest.approx(5.0),
        "mm",
    )
    assert table[needle_id, "length"].label_name == "Needle"
    assert table[needle_id, "length"].kind == "needle"
    # Frame 1 holds only the plane; frame 2 nothing.
    assert [r.measurement for r in measure_frame(annotations, 1, _two_region_calibration)] == [
        "length"
    ]
    assert measure_frame(annotations, 2, _two_region_calibration) == []


def test_points_across_two_regions_are_measured_in_px():
    annotations, objects = _scene()
    # The needle starts in the left view and ends in the right one: 3-4-5 in px.
    objects["needle"].set_points(0, [(90, 10), (120, 50)])
    objects["fluid"].set_points(0, [(90, 50), (110, 47), (130, 50), (110, 53)])
    objects["plane"].set_points(0, [(0, 50), (199, 50)])
    rows = measure_frame(annotations, 0, _two_region_calibration)
    table = {(r.label_id, r.measurement): r for r in rows}
    assert (table["needle", "length"].value, table["needle", "length"].unit) == (50.0, "px")
    assert table["needle", "angle"].unit == "deg"
    across = "the points lie in regions 1 and 2 (never mixed): point 2 of 2 is outside region 1"
    assert table["needle", "tip_depth"] == Row(
        0,
        objects["needle"].id,
        "needle",
        "Needle",
        "needle",
        "tip_depth",
        50.0,
        "px",
        unit_reason=across,
    )
    assert table["needle", "angle"].unit_reason == across  # measured on the pixel grid
    fluid_reason = (
        "the points lie in regions 1 and 2 (never mixed): point 1 of 4 is outside region 2"
    )
    assert table["fluid.injectate", "area"].unit == "px2"
    assert table["fluid.injectate", "area"].unit_reason == fluid_reason
    assert table["fluid.injectate", "extent_along_plane"].unit == "px"
    assert table["fluid.injectate", "extent_along_plane"].unit_reason == fluid_reason
    assert table["fascia.deep", "length"] == Row(
        0,
        objects["plane"].id,
        "fascia.deep",
        "Deep fascia",
        "polyline",
        "length",
        199.0,
        "px",
        unit_reason=across,
    )
    # A plane that crosses both views does not stop a tip-to-plane distance inside one.
    assert table["needle", "tip_to_plane"].unit == "mm"
    assert table["avoid.vessel", "area"].unit == "mm2"


def test_tip_to_plane_in_px_when_the_nearest_point_is_in_another_region():
    annotations, objects = _scene()
    objects["needle"].set_points(0, [(60, 10), (95, 50)])
    objects["plane"].set_points(0, [(105, 0), (105, 99)])
    rows = measure_frame(annotations, 0, _two_region_calibration)
    tip = next(r for r in rows if r.measurement == "tip_to_plane")
    assert (tip.value, tip.unit) == (10.0, "px")
    assert tip.unit_reason == "the plane's closest point to the needle tip is outside region 1"
    assert next(r for r in rows if r.measurement == "length" and r.kind == "needle").unit == "mm"


def test_unit_reason_names_the_point_outside_the_region():
    """Issue 9: a plane whose first vertex lies 0.1 px left of the region was measured
    in px, and nothing said which mark or point was the cause."""
    annotations = Annotations(default_label_set())
    plane = annotations.add(AnnotatedObject("fascia.deep", ShapeKind.POLYLINE))
    plane.set_points(0, [(9.9, 50.0)] + [(20.0 + 10 * k, 50.0 + k) for k in range(7)])
    needle = annotations.add(AnnotatedObject("needle", ShapeKind.NEEDLE))
    needle.set_points(0, [(30.0, 10.0), (40.0, 30.0)])
    regions = [_region((10, 0, 99, 99))]
    rows = measure_frame(annotations, 0, lambda p: calibration_for_points(regions, p, (100, 100)))
    length = next(r for r in rows if r.object_id == plane.id)
    assert (length.unit, length.unit_reason) == ("px", "point 1 of 8 is outside region 1")
    assert all(r.unit_reason == "" for r in rows if r.object_id == needle.id)
    assert {r.unit for r in rows if r.object_id == needle.id} == {"mm", "deg"}


def test_unit_reason_of_an_extent_whose_plane_leaves_the_region():
    annotations = Annotations(default_label_set())
    plane = annotations.add(AnnotatedObject("fascia.deep", ShapeKind.POLYLINE))
    # The plane dips out of the region (below row 99) under the fluid.
    plane.set_points(0, [(0, 50), (50, 50), (50, 120), (60, 120), (60, 50), (99, 50)])
    fluid = annotations.add(AnnotatedObject("fluid.injectate", ShapeKind.REGION))
    fluid.set_points(0, [(30, 50), (50, 45), (70, 50), (50, 55)])
    regions = [_region((0, 0, 99, 99))]
    rows = measure_frame(annotations, 0, lambda p: calibration_for_points(regions, p, (100, 130)))
    table = {(r.object_id, r.measurement): r for r in rows}
    assert table[fluid.id, "area"].unit == "mm2"
    extent = table[fluid.id, "extent_along_plane"]
    assert extent.unit == "px"
    assert extent.unit_reason == "the stretch of plane the fluid spans leaves region 1"


def test_zero_length_needle_angle_is_left_out():
    annotations, objects = _scene()
    objects["needle"].set_points(0, [(40, 50), (40, 50)])
    rows = measure_frame(annotations, 0, _two_region_calibration)
    assert "angle" not in {r.measurement for r in rows if r.label_id == "needle"}


# ----------------------------------------------------------------------- ground truth
@pytest.fixture(scope="module", params=SAMPLE_STEMS)
def sample(request):
    """(loop, truth, annotations entered from the truth) for one bundled sample loop."""
    truth = json.loads((SAMPLES / f"{request.param}.truth.json").read_text(encoding="utf-8"))
    annotations = Annotations(default_label_set())
    planes = {
        name: annotations.add(AnnotatedObject(label_id, ShapeKind.POLYLINE))
        for name, label_id in TRUTH_PLANE_LABELS.items()
    }
    needle = annotations.add(AnnotatedObject("needle", ShapeKind.NEEDLE))
    fluid = annotations.add(AnnotatedObject("fluid.injectate", ShapeKind.REGION))
    for item in truth["frames"]:
        index = item["index"]
        for plane in item["fascial_planes"]:
            planes[plane["name"]].set_points(index, plane["points"])
        if item["needle"] is not None:
            needle.set_points(index, [item["needle"]["entry"], item["needle"]["tip"]])
        if item["fluid"] is not None:
            fluid.set_points(index, item["fluid"]["outline"])
    with usannotate.open_cine(SAMPLES / f"{request.param}.dcm") as loop:
        yield loop, truth, annotations, planes


def _rows_by_frame(loop, annotations, truth) -> dict[int, dict[tuple[str, str], Row]]:
    return {
        item["index"]: {
            (r.label_id, r.measurement): r
            for r in measure_frame(annotations, item["index"], loop.calibration_for_points)
        }
        for item in truth["frames"]
    }


def test_needle_angle_matches_the_truth_on_every_frame(sample):
    loop, truth, annotations, _ = sample
    rows = _rows_by_frame(loop, annotations, truth)
    with_needle = [item["index"] for item in truth["frames"] if item["needle"] is not None]
    assert len(with_needle) > 20
    for index in with_needle:
        angle = rows[index]["needle", "angle"]
        assert angle.unit == "deg"
        assert angle.value == pytest.approx(truth["needle_angle_deg"], abs=1.0), index
        assert rows[index]["needle", "length"].unit == "mm"


def test_fluid_area_matches_the_truth_on_every_frame(sample):
    loop, truth, annotations, _ = sample
    rows = _rows_by_frame(loop, annotations, truth)
    with_fluid = [item for item in truth["frames"] if item["fluid"] is not None]
    assert len(with_fluid) > 10
    for item in with_fluid:
        area = rows[item["index"]]["fluid.injectate", "area"]
        assert area.unit == "mm2", item["index"]
        assert area.value == pytest.approx(item["fluid"]["area_mm2"], rel=0.03), item["index"]


def test_tip_depth_matches_the_truth_tip_in_region_millimetres(sample):
    loop, truth, annotations, _ = sample
    (region,) = loop.regions
    assert list(region.bounds) == truth["region_bounds"]
    # The samples put the reference pixel (the skin line) on the region's top row.
    assert region.reference_pixel is not None
    assert region.reference_pixel[1] == 0
    rows = _rows_by_frame(loop, annotations, truth)
    for item in truth["frames"]:
        if item["needle"] is None:
            continue
        expected = (item["needle"]["tip"][1] - truth["region_bounds"][1]) * truth["mm_per_px_y"]
        depth = rows[item["index"]]["needle", "tip_depth"]
        assert depth.unit == "mm"
        assert depth.value == pytest.approx(expected, abs=1e-6), item["index"]


def test_fluid_spreads_along_the_target_plane(sample):
    loop, truth, annotations, planes = sample
    last = truth["frames"][-1]
    rows = _rows_by_frame(loop, annotations, truth)[last["index"]]
    target_id = planes[truth["target_plane"]].id
    extent = rows["fluid.injectate", "extent_along_plane"]
    assert (extent.unit, extent.reference) == ("mm", target_id)
    # On the last frame the lens is its full length (measured along x; the plane is wavy).
    assert extent.value == pytest.approx(
        truth["generator"]["parameters"]["fluid_length_mm"], rel=0.03
    )
    tip = rows["needle", "tip_to_plane"]
    assert (tip.unit, tip.reference) == ("mm", target_id)
    assert tip.value < 0.5


def test_projection_onto_a_polyline_matches_the_nearest_point_of_each_vertex():
    """The vectorised projection (all outline vertices against all segments at once)
    gives, per vertex, the closest segment, foot and arc length that
    ``nearest_on_outline`` gives for that vertex alone, ties and zero-length segments
    included."""
    import numpy as np

    from usannotate.annotations.geometry import nearest_on_outline
    from usannotate.annotations.measurements import _project_onto_polyline

    rng = np.random.default_rng(5)
    for trial in range(300):
        polyline = rng.uniform(0, 100, (int(rng.integers(1, 10)), 2))
        if trial % 3 == 0 and len(polyline) > 2:
            polyline[2] = polyline[1]  # a zero-length segment
        points = rng.uniform(-20, 120, (int(rng.integers(1, 40)), 2))
        if trial % 4 == 0:  # whole numbers: equally near segments
            polyline, points = np.round(polyline), np.round(points)
        arcs, feet = _project_onto_polyline(points, polyline)
        for k, point in enumerate(points):
            nearest = nearest_on_outline(polyline, False, point)
            assert arcs[k] == pytest.approx(nearest.arc_length(polyline), abs=1e-9)
            assert feet[k] == pytest.approx(nearest.foot, abs=1e-9)
