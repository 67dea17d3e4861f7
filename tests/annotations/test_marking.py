"""The marking rules in the core: which track a new mark continues, what Delete removes,
and the outline geometry the tools hit-test with and the measurements project with."""

from __future__ import annotations

import numpy as np
import pytest

from usannotate.annotations import AnnotatedObject, Annotations, ShapeKind, default_label_set
from usannotate.annotations.edits import EditHistory
from usannotate.annotations.geometry import nearest_on_outline, nearest_vertex, segments
from usannotate.annotations.marking import continued_track, delete_on_frame

PLANE = [(10.0, 20.0), (50.0, 22.0), (90.0, 25.0)]


def model_with(*objects: AnnotatedObject) -> Annotations:
    return Annotations(default_label_set(), list(objects))


def plane_on(*frames: int) -> AnnotatedObject:
    obj = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE)
    for frame in frames:
        obj.set_points(frame, PLANE)
    return obj


def test_a_new_mark_continues_the_nearest_track_of_its_label_missing_here():
    early, late = plane_on(0, 10), plane_on(40, 50)
    other = AnnotatedObject("fascia.superficial", ShapeKind.POLYLINE)
    other.set_points(30, PLANE)
    annotations = model_with(early, late, other)
    assert continued_track(annotations, "fascia.deep", 35) is late  # 5 from frame 40
    assert continued_track(annotations, "fascia.deep", 12) is early
    assert continued_track(annotations, "fascia.deep", 10) is late  # early has frame 10
    assert continued_track(annotations, "needle", 5) is None


def test_a_tie_goes_to_the_earlier_track():
    first, second = plane_on(0), plane_on(20)
    assert continued_track(model_with(first, second), "fascia.deep", 10) is first


def test_delete_takes_the_point_under_the_cursor_when_the_mark_can_spare_it():
    plane = plane_on(0)
    annotations = model_with(plane)
    deletion = delete_on_frame(annotations, plane.id, 0, vertex=1)
    assert not deletion.mark_removed
    EditHistory(annotations).push(deletion.edit)
    assert np.array_equal(plane.frames[0], np.array([PLANE[0], PLANE[2]]))
    # Two points left: a plane cannot spare another, so the mark goes.
    deletion = delete_on_frame(annotations, plane.id, 0, vertex=1)
    assert deletion.mark_removed
    assert "deleted on frame 1" in deletion.message


def test_delete_hides_a_track_on_one_frame_and_removes_a_one_frame_track():
    plane = plane_on(0, 10)
    annotations = model_with(plane)
    history = EditHistory(annotations)
    history.push(delete_on_frame(annotations, plane.id, 5).edit)  # an interpolated frame
    assert plane.points(5) is None
    assert plane.points(4) is not None  # the frames around it are not joined across it
    assert annotations.get(plane.id) is plane
    lone = plane_on(3)
    annotations.add(lone)
    history.push(delete_on_frame(annotations, lone.id, 3).edit)
    assert annotations.get(lone.id) is None
    history.undo()
    assert annotations.get(lone.id) is lone


def test_delete_never_takes_a_needles_point():
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [(10.0, 10.0), (40.0, 30.0)])
    assert delete_on_frame(model_with(needle), needle.id, 0, vertex=0).mark_removed


def test_delete_of_a_mark_not_there_says_so():
    plane = plane_on(0)
    with pytest.raises(KeyError):
        delete_on_frame(model_with(plane), plane.id, 30)
    with pytest.raises(KeyError):
        delete_on_frame(model_with(plane), "no-such-id", 0)


def test_min_points_per_kind():
    assert [kind.min_points for kind in ShapeKind] == [2, 2, 3, 1]


def test_nearest_on_outline_open_and_closed():
    square = np.array([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)])
    open_ = nearest_on_outline(square, False, np.array([-3.0, 7.0]))
    assert open_.segment == 2  # the open outline has no left side: nearest is the corner
    assert np.allclose(open_.foot, (0.0, 10.0))
    closed = nearest_on_outline(square, True, np.array([-3.0, 7.0]))
    assert closed.segment == 3
    assert np.allclose(closed.foot, (0.0, 7.0))
    assert closed.distance == pytest.approx(3.0)
    assert closed.arc_length(square, closed=True) == pytest.approx(33.0)
    assert len(segments(square, True)[0]) == 4
    assert len(segments(square, False)[0]) == 3


def test_nearest_on_outline_degenerate_cases():
    one = nearest_on_outline(np.array([(5.0, 5.0)]), False, np.array([8.0, 9.0]))
    assert one.distance == pytest.approx(5.0)
    assert one.arc_length(np.array([(5.0, 5.0)])) == 0.0
    repeated = np.array([(1.0, 1.0), (1.0, 1.0), (4.0, 5.0)])
    hit = nearest_on_outline(repeated, False, np.array([4.0, 5.0]))
    assert hit.distance == pytest.approx(0.0)
    assert hit.arc_length(repeated) == pytest.approx(5.0)
    assert nearest_vertex(repeated, np.array([3.9, 5.0]))[1] == 2
