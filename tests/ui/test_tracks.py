"""Tracks in the window: timeline and curves synced with the playhead both ways, keyframe
keys, tracking in the background (progress, cancel, undo, confirm), ending a track."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.ui.paths import SAMPLE_A
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.sidecar import load_sidecar, sidecar_path_for

TRUTH = json.loads(SAMPLE_A.with_name("hydrodissection_linear_a.truth.json").read_text())
MM_PER_PX = TRUTH["mm_per_px_x"]


@pytest.fixture
def opened(window, tmp_path):
    path = tmp_path / "case_01.dcm"
    shutil.copy(SAMPLE_A, path)
    assert window.open_path(str(path))
    window.loop_path = path
    return window


def true_needle(frame: int) -> np.ndarray:
    needle = TRUTH["frames"][frame]["needle"]
    return np.array([needle["entry"], needle["tip"]])


def add(window, label_id: str, kind: ShapeKind, frames: dict[int, np.ndarray]) -> AnnotatedObject:
    obj = AnnotatedObject(label_id, kind)
    for frame, points in frames.items():
        obj.set_points(frame, points)
    window.session.history.push(AddObject(obj))
    return obj


def fluid_outline(frame: int) -> np.ndarray:
    outline = np.array(TRUTH["frames"][frame]["fluid"]["outline"])
    return outline[np.linspace(0, len(outline), 12, endpoint=False).astype(int)]


def slow_frames(window, delay_s: float = 0.05) -> None:
    read = window.loop.frame

    def slow_frame(index: int):
        time.sleep(delay_s)
        return read(index)

    window.loop.frame = slow_frame


def start_tracking(window, obj: AnnotatedObject, frame: int, direction=1, count=None) -> None:
    """Select ``obj`` on ``frame`` and start tracking it (in the background)."""
    window.jump(frame)
    window.tools.select(obj.id)
    window.tracks.track(direction, count)


def wait_for_tracking(window, qtbot) -> None:
    qtbot.waitUntil(lambda: not window.tracks.is_tracking, timeout=60_000)


# --------------------------------------------------------------- timeline sync
def test_timeline_shows_tracks_and_a_click_jumps_there(opened, qtbot):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {10: true_needle(10), 20: true_needle(20)})
    timeline = window.tracks.timeline
    qtbot.waitExposed(timeline)
    lanes = {lane.object_id: lane for lane in window.tracks.lanes()}
    assert lanes[needle.id].frame_sources[15] == "interpolated"
    assert lanes[needle.id].frame_sources[20] == "keyframe"
    lane = timeline.lane_rect(needle.id)
    target = QPoint(round(timeline.x_of_frame(15)), lane.center().y())
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=target)
    assert window.index == 15
    assert window.tools.selected == needle.id  # a click on a lane selects its track
    # ... and the playhead follows the window, whatever moved it.
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert timeline.current_frame() == 16
    assert window.tracks.curves.current_frame() == 16


def test_curves_plot_fluid_area_and_tip_depth_and_seek(opened, qtbot):
    window = opened
    add(window, "needle", ShapeKind.NEEDLE, {5: true_needle(5), 25: true_needle(25)})
    add(window, "fluid.injectate", ShapeKind.REGION, {f: fluid_outline(f) for f in (30, 40)})
    fluid_panel, needle_panel = window.tracks.curves.panels()
    assert (fluid_panel.unit, needle_panel.unit) == ("mm²", "mm")
    [fluid_curve] = fluid_panel.curves
    assert [s.frame for s in fluid_curve.samples] == list(range(30, 41))
    assert fluid_curve.samples[5].source == "interpolated"
    true_area = TRUTH["frames"][40]["fluid"]["area_mm2"]
    assert fluid_curve.samples[-1].value == pytest.approx(true_area, rel=0.05)
    [needle_curve] = needle_panel.curves
    assert needle_curve.samples[-1].value > needle_curve.samples[0].value  # going deeper

    curves = window.tracks.curves
    window.tracks.curves_dock.show()
    window.tracks.curves_dock.raise_()
    qtbot.waitExposed(curves)
    rect = curves.panel_rect(0)
    qtbot.mouseClick(
        curves.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(round(curves.x_of_frame(33)), round(rect.center().y())),
    )
    assert window.index == 33


def test_next_and_previous_keyframe_keys(opened, qtbot):
    window = opened
    add(window, "needle", ShapeKind.NEEDLE, {10: true_needle(10), 20: true_needle(20)})
    add(window, "fluid.injectate", ShapeKind.REGION, {35: fluid_outline(35)})
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert window.index == 10
    qtbot.keyClick(window, Qt.Key.Key_Period)
    assert window.index == 20
    qtbot.keyClick(window, Qt.Key.Key_Period)
    assert window.index == 35
    qtbot.keyClick(window, Qt.Key.Key_Comma)
    assert window.index == 20


# --------------------------------------------------------------------- tracking
def test_track_forward_follows_the_needle_and_is_one_undo_step(opened, qtbot):
    window = opened
    start = 4
    needle = add(window, "needle", ShapeKind.NEEDLE, {start: true_needle(start)})
    window.jump(start)
    window.tools.select(needle.id)
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert window.tracks.is_tracking
    assert window.tracks.progress_bar.isVisible()
    wait_for_tracking(window, qtbot)
    assert not window.tracks.progress_bar.isVisible()
    assert needle.tracked == set(range(start + 1, 60))  # no keyframe ahead: to the end
    errors_mm = [
        np.hypot(*(needle.points(f)[1] - true_needle(f)[1])) * MM_PER_PX
        for f in range(start + 1, start + 31)
    ]
    assert np.mean(errors_mm) < 1.0  # the target
    assert "Tracked Needle forward" in window.statusBar().currentMessage()
    # Shown as tracked on the timeline, in the measurements and in the sidecar.
    window.jump(start + 10)
    assert window.layer.items[needle.id].source == "tracked"
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = load_sidecar(sidecar_path_for(window.loop_path))
    assert saved.annotations.objects[0].tracked == needle.tracked
    # One undo step removes every tracked frame.
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert needle.tracked == set()
    assert sorted(needle.frames) == [start]


def test_tracking_stops_before_the_next_keyframe_and_never_overwrites_it(opened, qtbot):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {10: true_needle(10), 18: true_needle(18)})
    start_tracking(window, needle, 10)
    wait_for_tracking(window, qtbot)
    assert needle.tracked == set(range(11, 18))
    np.testing.assert_array_equal(needle.points(18), true_needle(18))
    # Tracking backward from the keyframe fills nothing before 10: no keyframe there
    # means the loop's start, and the needle is out of the image before frame 3.
    window.jump(18)
    window.tracks.track(-1)
    wait_for_tracking(window, qtbot)
    assert needle.source(10) == "keyframe"


def test_cancel_keeps_the_frames_done(opened, qtbot):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {30: true_needle(30)})
    slow_frames(window)
    start_tracking(window, needle, 30)
    qtbot.waitUntil(lambda: window.tracks.progress_bar.value() >= 2, timeout=10_000)
    qtbot.mouseClick(window.tracks.cancel_button, Qt.MouseButton.LeftButton)
    wait_for_tracking(window, qtbot)
    assert 2 <= len(needle.tracked) < 29
    assert "cancelled" in window.statusBar().currentMessage()


def test_confirm_and_edit_turn_tracked_frames_into_keyframes(opened, qtbot):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {30: true_needle(30)})
    start_tracking(window, needle, 30, count=5)
    wait_for_tracking(window, qtbot)
    assert needle.tracked == {31, 32, 33, 34, 35}
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert needle.tracked == set()
    assert needle.keyframes() == [30, 31, 32, 33, 34, 35]


def test_end_track_leaves_a_gap_until_the_next_keyframe(opened, qtbot):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {10: true_needle(10), 30: true_needle(30)})
    window.jump(14)
    window.tools.select(needle.id)
    qtbot.keyClick(window, Qt.Key.Key_E)
    assert needle.source(14) == "keyframe"
    assert needle.points(20) is None
    assert needle.source(30) == "keyframe"
    lane = next(lane for lane in window.tracks.lanes() if lane.object_id == needle.id)
    assert 20 not in lane.frame_sources
    qtbot.keyClick(window, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.document.annotations.objects == []


def test_read_only_sidecars_cannot_be_tracked(opened, qtbot, tmp_path):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {10: true_needle(10)})
    window.session.document.read_only = True  # as for a sidecar of a newer version
    start_tracking(window, needle, 10)
    assert not window.tracks.is_tracking
    assert needle.tracked == set()


def test_tracking_keeps_marks_inside_their_calibrated_region(opened, qtbot):
    """The needle enters at the region's left edge: tracked entry points must not drift
    out of it, or its measurements would turn from mm to px."""
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {30: true_needle(30)})
    start_tracking(window, needle, 30, count=10)
    wait_for_tracking(window, qtbot)
    region = window.loop.regions[0]
    for frame in needle.tracked:
        assert all(region.contains(x, y) for x, y in needle.points(frame))


def test_tracking_needs_a_mark_on_the_frame(opened, qtbot):
    window = opened
    add(window, "needle", ShapeKind.NEEDLE, {10: true_needle(10)})
    window.jump(40)
    window.tracks.track(1)
    assert not window.tracks.is_tracking
    assert "Nothing to track" in window.statusBar().currentMessage()


def test_closing_while_tracking_neither_hangs_nor_crashes(window, tmp_path: Path, qtbot):
    path = tmp_path / "case_02.dcm"
    shutil.copy(SAMPLE_A, path)
    window.open_path(str(path))
    needle = add(window, "needle", ShapeKind.NEEDLE, {30: true_needle(30)})
    start_tracking(window, needle, 30)
    window.session.history.mark_saved()
    window.close()
    assert window.tracks.wait(0)  # its worker has left (close waited for it)


def test_confirm_with_a_mark_selected_that_has_nothing_tracked_confirms_the_others(opened, qtbot):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {30: true_needle(30)})
    plane = add(
        window,
        "fascia.superficial",
        ShapeKind.POLYLINE,
        {f: np.array([(120.0, 200.0), (500.0, 210.0)]) for f in (30, 40)},
    )
    start_tracking(window, needle, 30, count=3)
    wait_for_tracking(window, qtbot)
    window.tools.select(plane.id)  # e.g. after correcting the plane
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert needle.tracked == set()
    assert "3 tracked frame(s) confirmed" in window.statusBar().currentMessage()


def test_ending_the_track_while_it_is_tracked_is_respected(opened, qtbot):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {10: true_needle(10), 40: true_needle(40)})
    slow_frames(window)
    start_tracking(window, needle, 10)
    qtbot.waitUntil(lambda: window.tracks.progress_bar.value() >= 1, timeout=10_000)
    window.jump(20)
    window.tools.select(needle.id)
    qtbot.keyClick(window, Qt.Key.Key_E)  # out of view after frame 20
    wait_for_tracking(window, qtbot)
    assert needle.points(25) is None
    assert max(needle.tracked) <= 20
    assert needle.source(40) == "keyframe"


def test_tracking_from_an_interpolated_frame_keeps_that_frame_where_it_was(opened, qtbot):
    window = opened
    needle = add(window, "needle", ShapeKind.NEEDLE, {30: true_needle(30), 50: true_needle(50)})
    shown = needle.points(40).copy()
    start_tracking(window, needle, 40, count=3)
    wait_for_tracking(window, qtbot)
    assert needle.tracked == {41, 42, 43}
    assert needle.source(40) == "keyframe"
    np.testing.assert_allclose(needle.points(40), shown)
    window.undo()  # one step: the start frame and the tracked frames together
    assert needle.source(40) == "interpolated"
    assert needle.tracked == set()


def test_a_curve_panel_never_mixes_mm_and_px(opened):
    window = opened
    add(window, "needle", ShapeKind.NEEDLE, {30: true_needle(30)})
    outside = np.array([(20.0, 20.0), (60.0, 40.0)])  # left of the calibrated region
    add(window, "needle", ShapeKind.NEEDLE, {30: outside})
    _, needle_panel = window.tracks.curves.panels()
    assert needle_panel.unit == "mm"
    inside_curve, outside_curve = needle_panel.curves
    assert [s.frame for s in inside_curve.samples] == [30]
    assert outside_curve.samples == []  # px values are not drawn on the mm scale
