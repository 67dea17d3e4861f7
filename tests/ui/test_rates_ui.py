"""The Measurements dock lists the rates of the frame (advance per second, spread and
area rates) in mm/s from the frames either side, px/s without a calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.ui.paths import SAMPLE_A
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject


def _rows(window) -> dict[str, tuple[str, str]]:
    table = window.measurement_panel.table
    return {
        table.item(r, 1).text(): (table.item(r, 2).text(), table.item(r, 3).text())
        for r in range(table.rowCount())
    }


def test_the_dock_shows_the_needles_advance_per_second(opened, qtbot):
    window = opened
    truth = json.loads(SAMPLE_A.with_name("hydrodissection_linear_a.truth.json").read_text())
    entry = np.array(truth["frames"][40]["needle"]["entry"], float)
    tip = np.array(truth["frames"][40]["needle"]["tip"], float)
    along = (tip - entry) / np.hypot(*(tip - entry))
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    for frame in (4, 5, 6):  # the tip 5 px further along the shaft each frame
        needle.set_points(frame, [entry, entry + along * (60 + 5 * (frame - 4))])
    window.session.history.push(AddObject(needle))
    window.navigator.jump(5)
    window.state.select(needle.id)
    rows = _rows(window)
    value, unit = rows["Advance per second"]
    assert unit == "mm/s"
    times = window.state.loop.frame_start_times_ms() / 1000.0
    depth_mm = float(rows["Insertion depth"][0])
    per_px = depth_mm / 65.0  # mm per px along the shaft at frame 5
    assert float(value) == pytest.approx(5 * per_px / (times[6] - times[5]), rel=0.02)
    window.navigator.jump(8)  # no needle there: no rate
    assert "Advance per second" not in _rows(window)
