"""The series the Curves dock plots: every track's measurements, the defaults, one unit per
panel, and values that agree with the Measurements dock's frame by frame (no Qt)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import usannotate
from usannotate.annotations import (
    AnnotatedObject,
    Annotations,
    ShapeKind,
    calibration_lookup,
    default_label_set,
    measure_frame,
    measures_in_mm,
)
from usannotate.annotations.edits import EditHistory, SetManualCalibration
from usannotate.annotations.hydro import frame_hydro_rows
from usannotate.annotations.rates import frame_rate_rows
from usannotate.annotations.series import (
    CurveChoice,
    SeriesKey,
    SeriesSource,
    curve_panels,
    measurement_series,
    panel_unit,
    series_options,
    series_values,
    track_measurements,
)
from usannotate.cine import Calibration, ManualCalibration, Region

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicoms" / "hydrodissection_linear_a.dcm"
TRUTH = json.loads(SAMPLE.with_name("hydrodissection_linear_a.truth.json").read_text())
FRAMES = TRUTH["frames"]


@pytest.fixture(scope="module")
def loop():
    with usannotate.open_cine(SAMPLE) as opened:
        yield opened


def _plane(frame: int, index: int) -> np.ndarray:
    points = np.array(FRAMES[frame]["fascial_planes"][index]["points"])
    return points[np.linspace(0, len(points) - 1, 8).astype(int)]


def _outline(frame: int) -> np.ndarray:
    points = np.array(FRAMES[frame]["fluid"]["outline"])
    return points[np.linspace(0, len(points), 12, endpoint=False).astype(int)]


def _needle(frame: int) -> np.ndarray:
    return np.array([FRAMES[frame]["needle"]["entry"], FRAMES[frame]["needle"]["tip"]])


def _add(annotations: Annotations, label_id: str, kind: ShapeKind, frames: dict) -> AnnotatedObject:
    obj = AnnotatedObject(label_id, kind)
    for frame, points in frames.items():
        obj.set_points(frame, points)
    return annotations.add(obj)


@pytest.fixture
def marked() -> tuple[Annotations, dict[str, AnnotatedObject]]:
    """Sample A marked from its truth: two planes, fluid, a needle (one frame tracked),
    two vessels (the same label twice) and a target point."""
    annotations = Annotations(default_label_set())
    objs = {
        "superficial": _add(
            annotations,
            "fascia.superficial",
            ShapeKind.POLYLINE,
            {f: _plane(f, 0) for f in (0, 30, 59)},
        ),
        "fluid": _add(
            annotations, "fluid.injectate", ShapeKind.REGION, {f: _outline(f) for f in (30, 40)}
        ),
        "needle": _add(annotations, "needle", ShapeKind.NEEDLE, {10: _needle(10)}),
        "vessel_1": _add(
            annotations,
            "avoid.vessel",
            ShapeKind.REGION,
            {f: np.array([(300, 300), (340, 300), (320, 330)]) + f for f in (5, 15)},
        ),
        "vessel_2": _add(
            annotations,
            "avoid.vessel",
            ShapeKind.REGION,
            {20: np.array([(200, 350), (240, 350), (220, 380)])},
        ),
        "target": _add(annotations, "target", ShapeKind.POINT, {25: [(330.0, 260.0)]}),
    }
    objs["needle"].set_points(20, _needle(20), source="tracked")
    return annotations, objs


def _px() -> Calibration:
    return Calibration("px", 1.0, 1.0, reason="uncalibrated")


def _source(annotations: Annotations, loop) -> SeriesSource:
    return SeriesSource.of_loop(annotations, loop)


# ------------------------------------------------------------------ what can be picked
def test_every_track_offers_every_measurement_its_kind_has(marked):
    annotations, objs = marked
    titles = [option.title for option in series_options(annotations)]
    assert titles == [
        "Superficial fascia · Length",
        "Injected fluid · Area",
        "Injected fluid · Extent along plane",
        "Injected fluid · Thickness",
        "Injected fluid · Plane separation",
        "Injected fluid · Spread rate",
        "Injected fluid · Area rate",
        "Needle · Length",
        "Needle · Insertion angle",
        "Needle · Tip depth",
        "Needle · Tip to nearest plane",
        "Needle · Insertion depth",
        "Needle · Plane separation at tip",
        "Needle · Advance per second",
        "Vessel 1 · Area",
        "Vessel 1 · Area rate",
        "Vessel 2 · Area",
        "Vessel 2 · Area rate",
        "Target / trigger point · Depth",
    ]
    # The measurements the Measurements dock lists for each kind of track; those of
    # plane separation only where two planes bound the fluid or the tip (none here).
    times_s = [f / 25.0 for f in range(TRUTH["n_frames"])]
    measured = {
        (row.object_id, row.measurement)
        for frame in range(TRUTH["n_frames"])
        for measure in (measure_frame, frame_hydro_rows)
        for row in measure(annotations, frame, lambda p: _px())
    } | {
        (row.object_id, row.measurement)
        for frame in range(TRUTH["n_frames"])
        for row in frame_rate_rows(annotations, frame, lambda p: _px(), times_s)
    }
    offered = {(o.key.object_id, o.key.measurement) for o in series_options(annotations)}
    assert offered >= measured
    # ... and a rate only where a track is on consecutive frames (vessel 2 is on one).
    single = {o.id for o in annotations.objects if len(o.frame_sources(TRUTH["n_frames"])) == 1}
    unmeasured = {(i, m) for i, m in offered - measured if not (i in single and m == "area_rate")}
    assert {m for _, m in unmeasured} <= {"plane_separation", "plane_separation_at_tip"}
    # A region that is not fluid has no extent along the plane.
    assert track_measurements(objs["vessel_1"]) == ("area", "area_rate")


def test_the_defaults_are_fluid_area_and_needle_tip_depth(marked):
    annotations, objs = marked
    defaults = [o.key for o in series_options(annotations) if o.default]
    assert defaults == [
        SeriesKey(objs["fluid"].id, "area"),
        SeriesKey(objs["needle"].id, "tip_depth"),
    ]


def test_a_choice_adds_and_removes_series_and_follows_new_tracks(marked, loop):
    annotations, objs = marked
    options = {o.key: o for o in series_options(annotations)}
    vessel = options[SeriesKey(objs["vessel_1"].id, "area")]
    needle = options[SeriesKey(objs["needle"].id, "tip_depth")]
    choice = CurveChoice().showing(vessel, True).showing(needle, False)
    assert [o.title for o in choice.plotted(options.values())] == [
        "Injected fluid · Area",
        "Vessel 1 · Area",
    ]
    panels = curve_panels(_source(annotations, loop), choice)
    # The needle's tip depth was removed: its panel goes, not shown empty.
    assert [p.title for p in panels] == ["Area"]
    assert [c.name for c in panels[0].curves] == ["Injected fluid", "Vessel 1"]
    # A second fluid region marked later is plotted by the rule (it is a default).
    _add(annotations, "fluid.injectate", ShapeKind.REGION, {45: _outline(45)})
    [area] = curve_panels(_source(annotations, loop), choice)
    assert [c.name for c in area.curves] == ["Injected fluid 1", "Vessel 1", "Injected fluid 2"]
    # Shown again, the removed default is no longer remembered as removed.
    assert choice.showing(needle, True).removed == frozenset()


# ------------------------------------------------------------------ the panels
def test_default_panels_plot_fluid_area_and_needle_depth(marked, loop):
    annotations, _ = marked
    fluid_panel, needle_panel = curve_panels(_source(annotations, loop))
    assert (fluid_panel.title, fluid_panel.unit, fluid_panel.invert_y) == (
        "Fluid area",
        "mm2",
        False,
    )
    assert (needle_panel.title, needle_panel.unit, needle_panel.invert_y) == (
        "Needle tip depth",
        "mm",
        True,
    )
    [fluid] = fluid_panel.curves
    assert [v.frame for v in fluid.values] == list(range(30, 41))
    assert fluid.values[-1].value == pytest.approx(FRAMES[40]["fluid"]["area_mm2"], rel=0.05)
    assert {v.source for v in fluid.values[1:-1]} == {"interpolated"}
    [needle] = needle_panel.curves
    assert needle.values[-1].source == "tracked"
    assert needle.values[-1].value > needle.values[0].value  # deeper as it goes in
    assert (fluid.colour, needle.colour) == ("#56b4e9", "#ffffff")  # the labels' colours


def test_every_option_panel_in_order_with_titles(marked, loop):
    annotations, _ = marked
    options = series_options(annotations)
    choice = CurveChoice()
    for option in options:
        choice = choice.showing(option, True)
    panels = curve_panels(_source(annotations, loop), choice)
    assert [(p.title, p.unit, p.invert_y) for p in panels] == [
        ("Area", "mm2", False),
        ("Needle tip depth", "mm", True),
        ("Needle insertion angle", "deg", False),
        ("Needle tip to nearest plane", "mm", False),
        ("Length", "mm", False),
        ("Fluid extent along plane", "mm", False),
        ("Target depth", "mm", True),
        ("Fluid plane separation", "mm", False),
        ("Fluid thickness", "mm", False),
        ("Needle plane separation at tip", "mm", False),
        ("Needle insertion depth", "mm", False),
        ("Fluid spread rate", "mm/s", False),
        ("Area rate", "mm2/s", False),
        ("Needle advance per second", "mm/s", False),
    ]
    # One series per option, none lost.
    assert sum(len(p.curves) for p in panels) == len(options)


def test_series_agree_with_the_measurements_dock_on_every_frame(marked, loop):
    annotations, _ = marked
    calibration_for = calibration_lookup(annotations, loop.regions, (loop.columns, loop.rows))
    times_s = [t / 1000.0 for t in loop.frame_start_times_ms()]
    rows = {
        (row.object_id, row.measurement, row.frame): row
        for frame in range(loop.n_frames)
        for measure in (measure_frame, frame_hydro_rows)
        for row in measure(annotations, frame, calibration_for)
    }
    rows |= {  # the rates, as the dock has them (from the frames either side)
        (row.object_id, row.measurement, row.frame): row
        for frame in range(loop.n_frames)
        for row in frame_rate_rows(annotations, frame, calibration_for, times_s)
    }
    for option in series_options(annotations):
        values = series_values(annotations, option.key, calibration_for, loop.n_frames, times_s)
        expected = [
            (f, r.value, r.unit, r.source)
            for (oid, m, f), r in sorted(rows.items(), key=lambda item: item[0][2])
            if (oid, m) == (option.key.object_id, option.key.measurement)
        ]
        got = [(v.frame, v.value, v.unit, v.source.value) for v in values]
        assert [g[0] for g in got] == [e[0] for e in expected], option.title
        for g, e in zip(got, expected, strict=True):
            assert g[1] == pytest.approx(e[1], abs=1e-9), option.title
            assert g[2:] == e[2:], option.title
        # Every series has values on this loop but plane separation: no two planes bound
        # the fluid or the tip here.
        alone = len(annotations.get(option.key.object_id).frame_sources(loop.n_frames)) == 1
        rate_of_one_frame = option.key.measurement.endswith("_rate") and alone
        assert values or "separation" in option.key.measurement or rate_of_one_frame, option.title


def test_a_panel_never_mixes_mm_and_px(loop):
    annotations = Annotations(default_label_set())
    inside = _add(annotations, "needle", ShapeKind.NEEDLE, {30: _needle(30), 32: _needle(32)})
    # Frame 31 (interpolated) stays inside; frame 33 is stored left of the region.
    inside.set_points(33, [(20.0, 20.0), (60.0, 40.0)])
    outside = _add(annotations, "needle", ShapeKind.NEEDLE, {30: [(20.0, 20.0), (60.0, 40.0)]})
    _, needle_panel = curve_panels(_source(annotations, loop))
    assert needle_panel.unit == "mm"
    first, second = needle_panel.curves
    assert [v.frame for v in first.values] == [30, 31, 32]  # frame 33 in px: a gap
    assert {v.unit for v in first.values} == {"mm"}
    assert second.values == []  # px values are not drawn on the mm scale
    assert second.key == SeriesKey(outside.id, "tip_depth")
    # Nothing in mm at all: the panel is in px, with every value.
    only_outside = Annotations(default_label_set(), [outside])
    _, needle_panel = curve_panels(_source(only_outside, loop))
    assert needle_panel.unit == "px"
    assert [v.frame for v in needle_panel.curves[0].values] == [30]


def test_empty_panels_take_the_unit_of_the_calibration(loop):
    annotations = Annotations(default_label_set())
    fluid, needle = curve_panels(_source(annotations, loop))
    assert (fluid.curves, needle.curves) == ([], [])
    assert (fluid.unit, needle.unit) == ("mm2", "mm")
    assert (fluid.empty_text, needle.empty_text) == ("No injected fluid marked", "No needle marked")
    # Without a usable region: px; a manual calibration then gives mm again.
    uncalibrated = SeriesSource(
        annotations, 60, calibration_lookup(annotations, [], (640, 480)), calibrated_mm=False
    )
    assert [p.unit for p in curve_panels(uncalibrated)] == ["px2", "px"]
    lookup = calibration_lookup(annotations, [], (640, 480))
    assert not measures_in_mm([], (640, 480), lookup)
    EditHistory(annotations).push(
        SetManualCalibration(ManualCalibration.from_line([(0, 0), (0, 50)], 10.0))
    )
    assert measures_in_mm([], (640, 480), lookup)


def test_measures_in_mm_asks_the_regions_rules():
    annotations = Annotations(default_label_set())
    region = Region(
        bounds=(10, 10, 89, 89),
        spatial_format="2d",
        data_type="tissue",
        flags=0,
        units_x="cm",
        units_y="cm",
        physical_delta_x=0.01,
        physical_delta_y=0.01,
    )
    lookup = calibration_lookup(annotations, [region], (100, 100))
    assert measures_in_mm([region], (100, 100), lookup)
    # A region larger than the image (a resized export) is never used for mm.
    small = calibration_lookup(annotations, [region], (40, 40))
    assert not measures_in_mm([region], (40, 40), small)


def test_plane_measurements_without_a_plane_say_so(loop):
    annotations = Annotations(default_label_set())
    needle = _add(annotations, "needle", ShapeKind.NEEDLE, {10: _needle(10)})
    option = next(o for o in series_options(annotations) if o.key.measurement == "tip_to_plane")
    panels = curve_panels(_source(annotations, loop), CurveChoice().showing(option, True))
    [to_plane] = [p for p in panels if p.measurement == "tip_to_plane"]
    assert to_plane.curves[0].values == []
    assert "plane" in to_plane.empty_text
    assert series_values(annotations, SeriesKey("gone", "area"), lambda p: _px()) == []
    with pytest.raises(ValueError, match="no 'area' series for a needle"):
        series_values(annotations, SeriesKey(needle.id, "area"), lambda p: _px())


def test_panel_unit_rule():
    assert panel_unit("area", ["mm2", "px2"], calibrated_mm=False) == "mm2"
    assert panel_unit("length", ["px"], calibrated_mm=True) == "px"
    assert panel_unit("tip_depth", [], calibrated_mm=True) == "mm"
    assert panel_unit("depth", [], calibrated_mm=False) == "px"
    assert panel_unit("angle", ["deg"], calibrated_mm=True) == "deg"


def test_measurement_series_of_own_points(marked, loop):
    annotations, objs = marked
    lookup = calibration_lookup(annotations, loop.regions, (loop.columns, loop.rows))
    length = measurement_series(objs["superficial"], "length", lookup, loop.n_frames)
    assert [v.frame for v in length] == list(range(60))
    depth = measurement_series(objs["target"], "depth", lookup)
    assert [(v.frame, v.unit) for v in depth] == [(25, "mm")]
    assert depth[0].value == pytest.approx((260.0 - 52) * TRUTH["mm_per_px_y"], rel=1e-6)
    with pytest.raises(ValueError, match="no 'area' series for a polyline"):
        measurement_series(objs["superficial"], "area", lookup)
