"""Suggested marks in the window (issue 15): the needle found with N, a fascial plane
snapped to its ridge, both shown as suggestions until accepted with Y (one undo step)."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt

from tests.tracking.loops import densified, distance_to_polyline
from tests.ui.events import click
from tests.ui.paths import SAMPLE_A
from usannotate.annotations import FrameSource

TRUTH = json.loads(SAMPLE_A.with_name("hydrodissection_linear_a.truth.json").read_text())
MM_PER_PX = TRUTH["mm_per_px_x"]


def _objects(window, label_id: str):
    return [o for o in window.session.history.annotations.objects if o.label_id == label_id]


def test_find_needle_suggests_it_and_y_accepts_it(opened, qtbot):
    window = opened
    window.jump(30)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    suggestion = window.suggestions.suggestion
    assert suggestion is not None
    item = window.suggestions.item
    assert item.isVisible()
    assert "suggested" in item.caption.text()
    assert not _objects(window, "needle")  # a suggestion is not a mark
    truth_tip = np.array(TRUTH["frames"][30]["needle"]["tip"])
    assert np.linalg.norm(suggestion.points[1] - truth_tip) * MM_PER_PX < 1.0

    qtbot.keyClick(window.view, Qt.Key.Key_Y)
    [needle] = _objects(window, "needle")
    assert needle.source(30) is FrameSource.KEYFRAME
    assert np.allclose(needle.points(30), suggestion.points)
    assert not item.isVisible()
    assert window.tools.selected == needle.id
    window.session.history.undo()  # one undo step takes it back
    assert not _objects(window, "needle")


def test_a_suggestion_goes_away_on_another_frame_and_with_shift_y(opened, qtbot):
    window = opened
    window.jump(30)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    assert window.suggestions.suggestion is not None
    qtbot.keyClick(window.view, Qt.Key.Key_Right)
    assert window.suggestions.suggestion is None
    assert not window.suggestions.item.isVisible()
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    qtbot.keyClick(window.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ShiftModifier)
    assert window.suggestions.suggestion is None
    assert not _objects(window, "needle")


def _draw_plane(window, qtbot, frame: int, clicks: np.ndarray, modifier=None) -> None:
    window.jump(frame)
    window.tools.set_label("fascia.superficial")
    window.tools.start_drawing()
    for x, y in clicks:
        click(window.view, float(x), float(y))
    if modifier is None:
        qtbot.keyClick(window.view, Qt.Key.Key_Return)
    else:
        qtbot.keyClick(window.view, Qt.Key.Key_Return, modifier)  # Alt+Enter


def test_a_plane_of_three_clicks_is_snapped_to_its_ridge_as_a_suggestion(opened, qtbot):
    window = opened
    truth = np.array(TRUTH["frames"][20]["fascial_planes"][0]["points"])
    clicks = truth[[1, len(truth) // 2, len(truth) - 2]] + np.array([[0, 2.5], [0, -2.5], [0, 2]])
    _draw_plane(window, qtbot, 20, clicks)
    [plane] = _objects(window, "fascia.superficial")
    clicked = plane.points(20).copy()
    assert np.allclose(clicked, clicks, atol=1.0)  # kept as clicked (to the screen pixel)
    suggestion = window.suggestions.suggestion
    assert suggestion is not None
    assert suggestion.object_id == plane.id
    assert "snapped" in window.suggestions.item.caption.text()
    assert "suggested" in window.suggestions.item.caption.text()

    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Y)
    snapped = plane.points(20)
    assert len(snapped) > len(clicks)
    assert distance_to_polyline(densified(snapped, False), truth, False).mean() < 1.0
    assert distance_to_polyline(densified(clicks, False), truth, False).mean() > 1.0
    window.session.history.undo()  # the snap is one undo step: back to the clicks
    assert np.array_equal(plane.points(20), clicked)


def test_alt_held_while_finishing_a_plane_offers_no_snap(opened, qtbot):
    window = opened
    truth = np.array(TRUTH["frames"][20]["fascial_planes"][0]["points"])
    clicks = truth[[1, len(truth) // 2, len(truth) - 2]]
    _draw_plane(window, qtbot, 20, clicks, Qt.KeyboardModifier.AltModifier)
    assert _objects(window, "fascia.superficial")
    assert window.suggestions.suggestion is None
