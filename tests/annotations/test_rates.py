"""Rates over time (spread, area, needle advance per second): known motion, px/s without a
calibration, the same values as measure --hydro's."""

from __future__ import annotations

import pytest

from usannotate.annotations import AnnotatedObject, Annotations, ShapeKind, default_label_set
from usannotate.annotations.hydro import RATE_OF, loop_hydro_rows
from usannotate.annotations.rates import central_rates, frame_rate_rows
from usannotate.cine import Calibration

TIMES_S = [f * 0.04 for f in range(12)]  # 25 fps


def _mm(p) -> Calibration:
    return Calibration("mm", 0.1, 0.1)


def _px(p) -> Calibration:
    return Calibration("px", 1.0, 1.0, reason="uncalibrated")


def _advancing_needle() -> Annotations:
    """A needle whose tip goes 3 px further along the shaft each frame (frames 2-8), a
    fluid region growing 2 px to each side per frame on frames 4-7."""
    labels = default_label_set()
    annotations = Annotations(labels)
    needle = annotations.add(AnnotatedObject("needle", ShapeKind.NEEDLE))
    for frame in range(2, 9):
        depth = 30.0 + 3.0 * (frame - 2)
        needle.set_points(frame, [(10.0, 10.0), (10.0 + depth * 0.6, 10.0 + depth * 0.8)])
    fluid = annotations.add(AnnotatedObject("fluid.injectate", ShapeKind.REGION))
    for frame in range(4, 8):
        half = 10.0 + 2.0 * (frame - 4)
        fluid.set_points(
            frame, [(50 - half, 60), (50 + half, 60), (50 + half, 64), (50 - half, 64)]
        )
    return annotations


def _rates(annotations, frame, calibration_for):
    return {
        (r.measurement, r.unit): r.value
        for r in frame_rate_rows(annotations, frame, calibration_for, TIMES_S)
    }


def test_a_needle_advancing_at_a_known_speed():
    annotations = _advancing_needle()
    # 3 px a frame at 25 fps is 75 px/s; at 0.1 mm/px 7.5 mm/s; the same at both ends.
    for frame in (2, 5, 8):
        assert _rates(annotations, frame, _px)[("advance_rate", "px/s")] == pytest.approx(75.0)
        assert _rates(annotations, frame, _mm)[("advance_rate", "mm/s")] == pytest.approx(7.5)
    assert ("advance_rate", "px/s") not in _rates(annotations, 9, _px)  # no needle there


def test_the_fluids_spread_and_area_rates():
    annotations = _advancing_needle()
    rates = _rates(annotations, 5, _px)
    # 4 px longer a frame, 4 px high: 100 px/s along, 400 px²/s of area.
    assert rates[("area_rate", "px2/s")] == pytest.approx(400.0)
    rates = _rates(annotations, 5, _mm)
    assert rates[("area_rate", "mm2/s")] == pytest.approx(4.0)


def test_the_rates_are_those_of_measure_hydro():
    annotations = _advancing_needle()
    n = len(TIMES_S)
    loop_rows = {
        (r.object_id, r.frame, r.measurement): (r.value, r.unit)
        for r in loop_hydro_rows(annotations, n, _mm, TIMES_S)
        if r.measurement in RATE_OF
    }
    frame_rows = {
        (r.object_id, r.frame, r.measurement): (r.value, r.unit)
        for f in range(n)
        for r in frame_rate_rows(annotations, f, _mm, TIMES_S)
    }
    assert loop_rows.keys() == frame_rows.keys()
    assert {k[2] for k in loop_rows} == {"advance_rate", "area_rate"}  # no plane: no spread
    for key, (value, unit) in loop_rows.items():
        assert frame_rows[key][1] == unit
        assert frame_rows[key][0] == pytest.approx(value)


def test_central_differences_stop_at_gaps_and_unit_changes():
    rates = central_rates(
        [0, 1, 2, 5, 6, 7], [0, 1, 4, 0, 2, 4], ["mm"] * 3 + ["mm", "px", "px"], range(8)
    )
    assert rates == [1.0, 2.0, 3.0, None, 2.0, 2.0]
