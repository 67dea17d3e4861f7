"""One history for every edit: undo, redo, drags as one step, unsaved state."""

from __future__ import annotations

import numpy as np
import pytest

from usannotate.annotations import AnnotatedObject, Annotations, Label, LabelSet, ShapeKind
from usannotate.annotations.edits import (
    AddObject,
    ChangeLabel,
    Compound,
    EditHistory,
    RemoveObject,
    SetPoints,
    confirm_tracked,
    copy_frame,
    end_track_after,
    hide_on_frame,
    store_tracked,
)


@pytest.fixture
def history():
    labels = LabelSet(
        "test",
        [
            Label("fascia.deep", "Deep fascia", ShapeKind.POLYLINE, "#0072b2", "1"),
            Label("fascia.superficial", "Superficial fascia", ShapeKind.POLYLINE, "#56b4e9"),
            Label("needle", "Needle", ShapeKind.NEEDLE, "#e69f00", "n"),
        ],
    )
    changes: list[int] = []
    result = EditHistory(Annotations(labels), on_change=lambda: changes.append(1))
    result.changes = changes
    return result


def _needle(history: EditHistory) -> AnnotatedObject:
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [(10, 10), (50, 40)])
    history.push(AddObject(needle))
    return needle


def test_add_undo_redo(history):
    needle = _needle(history)
    assert history.annotations.get(needle.id) is needle
    assert history.is_modified
    assert history.undo_text == "Add mark"
    assert history.undo()
    assert history.annotations.objects == []
    assert history.redo()
    assert history.annotations.get(needle.id) is needle
    assert len(history.changes) == 3


def test_a_drag_is_one_step(history):
    needle = _needle(history)
    start = needle.points(0).copy()
    # The item moved the points live during the drag; at release the tool puts back what
    # the frame held and records one edit.
    needle.frames[0] = start + 5
    needle.frames[0] = start
    history.push(SetPoints(needle.id, 0, start + 12))
    assert history.undo()
    np.testing.assert_array_equal(needle.points(0), start)
    assert history.redo()
    np.testing.assert_array_equal(needle.points(0), start + 12)


def test_set_points_records_what_was_there(history):
    needle = _needle(history)
    history.push(SetPoints(needle.id, 3, [(1, 1), (2, 2)]))
    assert 3 in needle.frames
    history.undo()
    assert 3 not in needle.frames  # the frame had no geometry before


def test_remove_object_restores_its_place(history):
    first = _needle(history)
    plane = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE)
    plane.set_points(0, [(0, 20), (100, 22)])
    history.push(AddObject(plane))
    history.push(RemoveObject(first.id))
    assert history.annotations.objects == [plane]
    history.undo()
    assert history.annotations.objects == [first, plane]


def test_change_label_keeps_the_kind(history):
    plane = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE)
    plane.set_points(0, [(0, 20), (100, 22)])
    history.push(AddObject(plane))
    history.push(ChangeLabel(plane.id, "fascia.superficial"))
    assert plane.label_id == "fascia.superficial"
    with pytest.raises(ValueError, match="drawn as a needle"):
        history.push(ChangeLabel(plane.id, "needle"))
    assert plane.label_id == "fascia.superficial"
    history.undo()
    assert plane.label_id == "fascia.deep"


def test_copy_frame_copies_geometry_not_references(history):
    needle = _needle(history)
    history.push(copy_frame(history.annotations, 0, 1))
    np.testing.assert_array_equal(needle.points(1), needle.points(0))
    needle.points(1)[0, 0] = 99.0
    assert needle.points(0)[0, 0] == 10.0  # each frame owns its geometry
    history.undo()
    assert 1 not in needle.frames


def test_compound_is_all_or_nothing(history):
    needle = _needle(history)
    bad = Compound(
        [SetPoints(needle.id, 2, [(1, 1), (2, 2)]), SetPoints("missing", 2, [(0, 0), (1, 1)])]
    )
    with pytest.raises(KeyError):
        history.push(bad)
    assert 2 not in needle.frames
    assert history.undo_text == "Add mark"


def test_unsaved_state_follows_undo_and_redo(history):
    needle = _needle(history)
    history.mark_saved()
    assert not history.is_modified
    history.push(SetPoints(needle.id, 0, [(0, 0), (5, 5)]))
    assert history.is_modified
    history.undo()
    assert not history.is_modified  # back to what is on disk
    history.undo()
    assert history.is_modified
    history.redo()
    assert not history.is_modified
    history.undo()
    assert history.annotations.objects == []
    _needle(history)  # a different first edit: the saved state's branch is gone
    assert history.is_modified
    assert not history.can_redo


# ------------------------------------------------------------------------ tracks
def test_editing_an_interpolated_frame_makes_it_a_keyframe_and_undo_restores(history):
    needle = _needle(history)
    history.push(SetPoints(needle.id, 10, [(10, 10), (150, 140)]))
    assert needle.source(5) == "interpolated"
    history.push(SetPoints(needle.id, 5, [(10, 10), (90, 60)]))
    assert needle.source(5) == "keyframe"
    history.undo()
    assert needle.source(5) == "interpolated"
    np.testing.assert_allclose(needle.points(5), [(10, 10), (100, 90)])


def test_tracked_frames_are_stored_as_tracked_and_editing_confirms_them(history):
    needle = _needle(history)
    history.push(store_tracked(needle.id, {1: np.array([(10, 10), (55, 44)])}, "Track"))
    assert needle.source(1) == "tracked"
    history.push(SetPoints(needle.id, 1, [(10, 10), (56, 45)]))
    assert needle.source(1) == "keyframe"
    history.undo()
    assert needle.source(1) == "tracked"  # undo restores the status, not only the points
    history.undo()
    assert needle.source(1) is None


def test_confirming_tracked_frames_keeps_their_points(history):
    needle = _needle(history)
    tracked = {f: np.array([(10, 10), (50 + f, 40 + f)]) for f in (1, 2, 3)}
    history.push(store_tracked(needle.id, tracked, "Track"))
    history.push(confirm_tracked(needle, [2]))
    assert needle.tracked == {1, 3}
    history.push(confirm_tracked(needle))
    assert needle.tracked == set()
    np.testing.assert_allclose(needle.points(3), [(10, 10), (53, 43)])
    history.undo()
    history.undo()
    assert needle.tracked == {1, 2, 3}


def test_hiding_on_one_frame_changes_only_that_frame(history):
    needle = _needle(history)
    history.push(SetPoints(needle.id, 10, [(10, 10), (150, 140)]))
    before = {f: needle.points(f) for f in range(11)}
    history.push(hide_on_frame(needle, 5))
    assert needle.points(5) is None
    for f in (*range(5), *range(6, 11)):
        np.testing.assert_allclose(needle.points(f), before[f])
    history.undo()
    assert needle.source(5) == "interpolated"
    assert sorted(needle.frames) == [0, 10]


def test_ending_a_track_leaves_a_gap_until_its_next_stored_frame(history):
    needle = _needle(history)
    history.push(SetPoints(needle.id, 10, [(10, 10), (150, 140)]))
    history.push(SetPoints(needle.id, 20, [(10, 10), (160, 150)]))
    history.push(end_track_after(needle, 4))
    assert needle.source(4) == "keyframe"
    assert [needle.points(f) for f in range(5, 10)] == [None] * 5
    assert needle.source(10) == "keyframe"  # starts again
    assert needle.source(15) == "interpolated"
    history.push(end_track_after(needle, 15))
    assert needle.points(16) is None
    assert needle.source(20) == "keyframe"
    history.undo()
    history.push(end_track_after(needle, 19, n_frames=60))  # nothing beyond: it stops
    assert needle.span() == (0, 19)
    assert needle.source(19) == "keyframe"
    assert 20 in needle.absent  # a needle drawn later does not join across the gap
    needle.set_points(30, [(10, 10), (170, 160)])
    assert needle.points(25) is None
    history.undo()
    needle.clear_frame(30)
    history.push(end_track_after(needle, 59, n_frames=60))  # the last frame: no marker
    assert 60 not in needle.absent
    history.undo()
    assert needle.span() == (0, 20)
