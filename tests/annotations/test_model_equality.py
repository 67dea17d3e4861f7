"""Tracks and annotations compare by content: points exactly, ids, frames, gaps, keys."""

from __future__ import annotations

import numpy as np
import pytest

from usannotate.annotations import AnnotatedObject, Annotations, FrameSource, LabelSet, ShapeKind
from usannotate.annotations.labels import default_label_set

PLANE = [[10.0, 20.0], [110.0, 25.5], [210.0, 22.25]]


def _plane(object_id: str = "plane1", points: list[list[float]] = PLANE) -> AnnotatedObject:
    obj = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE, id=object_id, name="deep")
    obj.set_points(3, points)
    obj.set_points(9, np.array(points) + 4.0, FrameSource.TRACKED)
    obj.mark_absent(12)
    obj.set_points(15, points)
    obj.extra["reviewer_note"] = "checked"
    return obj


def test_tracks_built_apart_with_the_same_points_are_equal():
    # Arrays made apart (not shared): the generated dataclass equality raised here.
    a, b = _plane(), _plane()
    assert a.frames[3] is not b.frames[3]
    assert a == b
    assert a.same_work(b)
    assert not (a != b)  # noqa: SIM202  (__ne__ follows __eq__)


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.set_points(3, np.array(PLANE) + np.array([[0, 0], [0, 0.001], [0, 0]])),
        lambda o: o.set_points(3, PLANE[:2]),
        lambda o: o.set_points(20, PLANE),
        lambda o: o.set_points(9, np.array(PLANE) + 4.0),  # tracked -> keyframe
        lambda o: o.clear_frame(12),  # the gap goes
        lambda o: o.extra.update(reviewer_note="not checked"),
        lambda o: setattr(o, "name", "deeper"),
        lambda o: setattr(o, "label_id", "fascia.superficial"),
    ],
    ids=[
        "a point moved",
        "fewer points",
        "another frame",
        "confirmed",
        "gap",
        "key",
        "name",
        "label",
    ],
)
def test_any_difference_in_the_work_makes_tracks_unequal(change):
    a, b = _plane(), _plane()
    change(b)
    assert a != b
    assert not a.same_work(b)
    assert not b.same_work(a)


def test_same_work_ignores_the_id_and_equality_does_not():
    a, b = _plane("plane1"), _plane("plane2")
    assert a.same_work(b)
    assert a != b


def test_a_kind_given_as_its_string_is_the_same_kind():
    a = _plane()
    b = _plane()
    b.kind = "polyline"  # as a script may build it
    assert a == b


def test_interpolated_frames_are_not_compared_but_follow_from_stored_ones():
    a, b = _plane(), _plane()
    a.points(5), a.points(7)  # fills a's interpolation cache, not b's
    assert a == b


def test_tracks_are_not_hashable_since_they_change():
    with pytest.raises(TypeError):
        hash(_plane())


def test_a_track_never_equals_something_else():
    assert _plane() != "plane1"
    assert _plane() != {"id": "plane1"}


def test_annotations_compare_their_tracks_by_content():
    labels = default_label_set()
    a = Annotations(LabelSet(labels.name, list(labels.labels)), [_plane("p1"), _plane("p2")])
    b = Annotations(LabelSet(labels.name, list(labels.labels)), [_plane("p1"), _plane("p2")])
    assert a == b
    b.objects[1].set_points(15, np.array(PLANE) + 1.0)
    assert a != b
    b.objects.reverse()  # drawing order is part of the work
    assert a != b
