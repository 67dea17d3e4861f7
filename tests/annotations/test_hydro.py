"""The hydrodissection measures against the phantom's truth, in mm, and in px without a
calibration: plane separation, fluid thickness, insertion depth, the rates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import usannotate
from usannotate.annotations.hydro import frame_hydro_rows, loop_hydro_rows, thickest_chord
from usannotate.annotations.kinds import ShapeKind
from usannotate.annotations.labels import default_label_set
from usannotate.annotations.model import AnnotatedObject, Annotations
from usannotate.cine.calibration import Calibration

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"


def _layers(outline: np.ndarray, plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The target plane split by the fluid, as an annotator traces it: the upper layer
    along the lens' upper side, the lower along its lower side, the plane beyond."""
    n = (len(outline) + 2) // 2
    upper = outline[:n]
    lower = np.vstack([outline[:1], outline[n:][::-1], outline[n - 1 : n]])
    left = plane[plane[:, 0] < upper[0, 0] - 1]
    right = plane[plane[:, 0] > upper[-1, 0] + 1]
    return np.vstack([left, upper, right]), np.vstack([left, lower, right])


@pytest.fixture(scope="module", params=["hydrodissection_linear_a", "hydrodissection_linear_b"])
def phantom(request):
    truth = json.loads((SAMPLES / f"{request.param}.truth.json").read_text(encoding="utf-8"))
    annotations = Annotations(default_label_set())
    labels = {
        "superficial_fascia": "fascia.superficial",
        "deep_fascia": "fascia.deep",
        "interfascial_plane": "fascia.interfascial",
    }
    target = truth["target_plane"]
    # The other planes as they are; the target plane as the two layers the fluid splits
    # it into (an annotator traces those, not the line through the fluid).
    others = {
        name: annotations.add(AnnotatedObject(label, ShapeKind.POLYLINE))
        for name, label in labels.items()
        if name != target
    }
    upper = annotations.add(AnnotatedObject(labels[target], ShapeKind.POLYLINE))
    lower = annotations.add(AnnotatedObject(labels[target], ShapeKind.POLYLINE))
    needle = annotations.add(AnnotatedObject("needle", ShapeKind.NEEDLE))
    fluid = annotations.add(AnnotatedObject("fluid.injectate", ShapeKind.REGION))
    for item in truth["frames"]:
        f = item["index"]
        planes = {p["name"]: np.array(p["points"]) for p in item["fascial_planes"]}
        for name, obj in others.items():
            obj.set_points(f, planes[name])
        if item["needle"] is not None:
            needle.set_points(f, [item["needle"]["entry"], item["needle"]["tip"]])
        if item["fluid"] is not None:
            outline = np.array(item["fluid"]["outline"])
            fluid.set_points(f, outline)
            a, b = _layers(outline, planes[target])
            upper.set_points(f, a)
            lower.set_points(f, b)
    with usannotate.open_cine(SAMPLES / f"{request.param}.dcm") as loop:
        yield loop, truth, annotations


def _truth_lens(item, mm_y):
    """Vertical thickness (mm) of the truth lens at each of its x, and those x."""
    outline = np.array(item["fluid"]["outline"])
    n = (len(outline) + 2) // 2
    upper = outline[:n]
    lower = np.vstack([outline[:1], outline[n:][::-1], outline[n - 1 : n]])
    return upper[:, 0], (lower[:, 1] - upper[:, 1]) * mm_y


def test_plane_separation_and_thickness_match_the_phantom(phantom):
    loop, truth, annotations = phantom
    mm_y = truth["mm_per_px_y"]
    with_fluid = [i for i in truth["frames"] if i["fluid"] is not None]
    assert len(with_fluid) > 10
    for item in with_fluid:
        rows = {
            r.measurement: r
            for r in frame_hydro_rows(annotations, item["index"], loop.calibration_for_points)
            if r.label_id == "fluid.injectate"
        }
        _, thickness = _truth_lens(item, mm_y)
        expected = thickness.max()
        for name in ("plane_separation", "fluid_thickness"):
            assert rows[name].unit == "mm", (item["index"], name)
            # Perpendicular to a gently sloping plane: within 4 % (or 0.05 mm) of the
            # truth's vertical thickness.
            assert rows[name].value == pytest.approx(expected, rel=0.04, abs=0.05), (
                item["index"],
                name,
            )
    last = with_fluid[-1]["index"]
    rows = {
        r.measurement: r
        for r in frame_hydro_rows(annotations, last, loop.calibration_for_points)
        if r.label_id == "fluid.injectate"
    }
    full = truth["generator"]["parameters"]["fluid_thickness_mm"]
    assert rows["plane_separation"].value == pytest.approx(full, rel=0.04)


def test_separation_at_the_tip_and_insertion_depth_match_the_phantom(phantom):
    loop, truth, annotations = phantom
    mm_x, mm_y = truth["mm_per_px_x"], truth["mm_per_px_y"]
    checked = 0
    for item in truth["frames"]:
        if item["needle"] is None:
            continue
        rows = {
            r.measurement: r
            for r in frame_hydro_rows(annotations, item["index"], loop.calibration_for_points)
            if r.label_id == "needle"
        }
        entry, tip = np.array(item["needle"]["entry"]), np.array(item["needle"]["tip"])
        depth = float(np.hypot(*((tip - entry) * [mm_x, mm_y])))
        assert rows["insertion_depth"].unit == "mm"
        assert rows["insertion_depth"].value == pytest.approx(depth, abs=1e-6)
        if item["fluid"] is None:
            continue
        xs, thickness = _truth_lens(item, mm_y)
        if not xs[2] < tip[0] < xs[-3]:
            continue  # the tip beside the lens: the layers meet there
        expected = float(np.interp(tip[0], xs, thickness))
        assert rows["plane_separation_at_tip"].value == pytest.approx(
            expected, rel=0.05, abs=0.05
        ), item["index"]
        checked += 1
    assert checked > 5


def test_rates_are_per_second_from_the_frame_times(phantom):
    loop, truth, annotations = phantom
    times = loop.frame_start_times_ms() / 1000.0
    rows = loop_hydro_rows(annotations, loop.n_frames, loop.calibration_for_points, times)
    by = {(r.frame, r.label_id, r.measurement): r for r in rows}
    needle_frames = [i["index"] for i in truth["frames"] if i["needle"] is not None]
    f = needle_frames[len(needle_frames) // 2]
    rate = by[f, "needle", "advance_rate"]
    assert rate.unit == "mm/s"
    expected = (
        by[f + 1, "needle", "insertion_depth"].value - by[f - 1, "needle", "insertion_depth"].value
    ) / (times[f + 1] - times[f - 1])
    assert rate.value == pytest.approx(expected)
    fluid_frames = [i["index"] for i in truth["frames"] if i["fluid"] is not None]
    spread = [by[g, "fluid.injectate", "spread_rate"] for g in fluid_frames[1:-1]]
    assert {r.unit for r in spread} == {"mm/s"}
    assert all(r.value > 0 for r in spread)  # the fluid keeps spreading
    area = [by[g, "fluid.injectate", "area_rate"] for g in fluid_frames[1:-1]]
    assert {r.unit for r in area} == {"mm2/s"}


def test_some_frames_give_the_same_rows_as_every_frame(phantom):
    """An export of some frames measures only those (and their neighbours, for the
    rates): the rows of those frames are the same, rates at a track's ends included."""
    loop, truth, annotations = phantom
    times = loop.frame_start_times_ms() / 1000.0
    cal_for = loop.calibration_for_points
    every = loop_hydro_rows(annotations, loop.n_frames, cal_for, times)
    fluid_frames = [i["index"] for i in truth["frames"] if i["fluid"] is not None]
    some = {0, 7, fluid_frames[0], fluid_frames[-1], loop.n_frames - 1, loop.n_frames + 5}
    rows = loop_hydro_rows(annotations, loop.n_frames, cal_for, times, frames=some)
    assert {r.measurement for r in rows} >= {"fluid_thickness", "spread_rate", "area_rate"}
    assert rows == [r for r in every if r.frame in some]


def test_without_calibration_everything_is_in_px(phantom):
    _, truth, annotations = phantom
    px = Calibration("px", 1.0, 1.0, reason="the test measures in px")
    item = next(i for i in reversed(truth["frames"]) if i["fluid"] is not None)
    rows = {
        (r.label_id, r.measurement): r
        for r in frame_hydro_rows(annotations, item["index"], lambda _points: px)
    }
    _, thickness_mm = _truth_lens(item, truth["mm_per_px_y"])
    sep = rows["fluid.injectate", "plane_separation"]
    assert (sep.unit, sep.unit_reason) == ("px", "the test measures in px")
    assert sep.value == pytest.approx(thickness_mm.max() / truth["mm_per_px_y"], rel=0.04)
    assert rows["needle", "insertion_depth"].unit == "px"


def test_a_lens_across_a_tilted_plane_is_measured_perpendicular_to_it():
    # A 10 x 4 rectangle along a 30 degree plane: 4 thick, whatever the tilt.
    angle = np.radians(30)
    t, n = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    corners = np.array([c * 5 * t + d * 2 * n for c, d in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
    plane = np.array([-20 * t, 20 * t])
    px = Calibration("px", 1.0, 1.0, reason="test")
    thickness, middle, normal = thickest_chord(corners + 100, plane + 100, px)
    assert thickness == pytest.approx(4.0, rel=1e-6)
    assert abs(float(normal @ n)) == pytest.approx(1.0)
    # Every chord of a rectangle is as long: the middle lies on its mid-line, inside it.
    assert float((middle - 100.0) @ n) == pytest.approx(0.0, abs=1e-6)
    assert abs(float((middle - 100.0) @ t)) <= 5.0
