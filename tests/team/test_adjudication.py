"""Adjudication in the core: accept one rater's version on a frame range, average
needles, undo, provenance (accepted / averaged / edited) found truthfully at save."""

from __future__ import annotations

import numpy as np
import pytest

from usannotate.annotations import AnnotatedObject, Annotations, ShapeKind, default_label_set
from usannotate.annotations.edits import EditHistory, SetPoints
from usannotate.team.adjudication import (
    ADJUDICATION_KEY,
    AdjudicationError,
    accept_edit,
    average_edit,
    group_tracks,
    raters_comments,
    record_provenance,
)

N_FRAMES = 20


def _needle(object_id: str, shifts: dict[int, float]) -> AnnotatedObject:
    obj = AnnotatedObject("needle", ShapeKind.NEEDLE, id=object_id)
    for frame, dx in shifts.items():
        obj.set_points(frame, np.array([[10.0 + dx, 10.0], [50.0 + dx, 40.0]]))
    return obj


def _region(object_id: str, dx: float) -> AnnotatedObject:
    obj = AnnotatedObject("fluid.injectate", ShapeKind.REGION, id=object_id)
    square = np.array([[20.0, 20.0], [40.0, 20.0], [40.0, 40.0], [20.0, 40.0]])
    obj.set_points(0, square + np.array([dx, 0.0]))
    obj.set_points(10, square + np.array([dx + 5.0, 5.0]))
    return obj


@pytest.fixture
def sources() -> dict[str, Annotations]:
    labels = default_label_set()
    alice = Annotations(labels, [_needle("a1", {0: 0.0, 10: 0.0}), _region("a2", 0.0)])
    bob = Annotations(labels, [_needle("b1", {0: 4.0, 19: 4.0}), _region("b2", 3.0)])
    return {"alice": alice, "bob": bob}


def test_tracks_are_grouped_by_label(sources):
    groups = group_tracks(sources)
    assert [(g.label_id, g.members) for g in groups] == [
        ("needle", {"alice": "a1", "bob": "b1"}),
        ("fluid.injectate", {"alice": "a2", "bob": "b2"}),
    ]


def test_accept_then_average_then_edit_with_undo(sources):
    result = Annotations(default_label_set())
    history = EditHistory(result)
    needle, fluid = group_tracks(sources)
    history.push(accept_edit(result, sources, needle, "alice", 0, 9))
    obj = result.get(needle.result_id)
    for frame in range(10):
        assert np.allclose(obj.points(frame), sources["alice"].get("a1").points(frame))
    history.push(average_edit(result, sources, needle, ["alice", "bob"], 10, 10))
    mean = (sources["alice"].get("a1").points(10) + sources["bob"].get("b1").points(10)) / 2
    assert np.allclose(result.get(needle.result_id).points(10), mean)
    history.push(accept_edit(result, sources, fluid, "bob", 0, 10))
    region = result.get(fluid.result_id)
    for frame in range(11):  # interpolation inside the range gives bob's outline
        assert np.allclose(region.points(frame), sources["bob"].get("b2").points(frame), atol=0.01)
    # A hand edit on frame 4 of the needle.
    history.push(SetPoints(needle.result_id, 4, np.array([[30.0, 30.0], [60.0, 60.0]])))
    record_provenance(result, sources, N_FRAMES)
    entries = result.get(needle.result_id).extra[ADJUDICATION_KEY]
    how = {
        frame: (e["how"], e["raters"])
        for e in entries
        for frame in range(e["first_frame"], e["last_frame"] + 1)
    }
    assert sorted(how) == list(range(11))  # every frame of the track, once
    assert how[0] == ("accepted", ["alice"])
    assert how[4] == ("edited", ["alice"])  # the hand edit, and what it moved around it
    assert how[10] == ("averaged", ["alice", "bob"])
    alice = sources["alice"].get("a1")
    for frame, (kind, _raters) in how.items():
        same = np.allclose(result.get(needle.result_id).points(frame), alice.points(frame))
        assert same == (kind == "accepted") or kind == "averaged"
    # Every step undoes; the raters' annotations never change.
    while history.can_undo:
        history.undo()
    assert result.objects == []
    assert sources["alice"].get("a1").keyframes() == [0, 10]


def test_what_cannot_be_done_says_why(sources):
    result = Annotations(default_label_set())
    needle, fluid = group_tracks(sources)
    with pytest.raises(AdjudicationError, match="only needles and points"):
        average_edit(result, sources, fluid, ["alice", "bob"], 0, 10)
    with pytest.raises(AdjudicationError, match="no mark"):
        accept_edit(result, sources, needle, "alice", 15, 19)  # alice's needle ends at 10
    with pytest.raises(AdjudicationError, match="two raters"):
        average_edit(result, sources, needle, ["alice"], 0, 5)


def test_a_track_drawn_by_the_adjudicator_is_edited_by_no_rater(sources):
    result = Annotations(default_label_set())
    result.add(_needle("mine", {2: 0.0, 3: 0.0}))
    record_provenance(result, sources, N_FRAMES)
    assert result.get("mine").extra[ADJUDICATION_KEY] == [
        {"first_frame": 2, "last_frame": 3, "how": "edited", "raters": []}
    ]


def test_the_raters_comments_are_listed_and_an_accepted_version_carries_its_own(sources):
    """Beside a group: each rater's comments on its tracks, frames and the loop (not on
    other tracks); accepting alice's needle carries her comments on it (on the range, or
    on the whole track) into the result, by her, in the same undo step."""
    from usannotate.annotations.details import Comment

    alice, bob = sources["alice"], sources["bob"]
    alice.details.comments = [
        Comment("tip hidden by the shadow", "alice", frame=3, object_id="a1"),
        Comment("needle bends", "alice", object_id="a1"),
        Comment("after the range", "alice", frame=15, object_id="a1"),
        Comment("fluid edge unclear", "alice", frame=4, object_id="a2"),
    ]
    bob.details.comments = [Comment("probe moved", "bob", frame=2), Comment("good loop", "bob")]
    needle, fluid = group_tracks(sources)
    listed = [(rater, c.text) for rater, c in raters_comments(sources, needle)]
    assert listed == [
        ("alice", "needle bends"),
        ("bob", "good loop"),
        ("bob", "probe moved"),
        ("alice", "tip hidden by the shadow"),
        ("alice", "after the range"),
    ]
    assert ("alice", "fluid edge unclear") in [
        (r, c.text) for r, c in raters_comments(sources, fluid)
    ]
    result = Annotations(default_label_set())
    history = EditHistory(result)
    history.push(accept_edit(result, sources, needle, "alice", 0, 9))
    carried = sorted((c.text, c.author, c.object_id) for c in result.details.comments)
    assert carried == [
        ("needle bends", "alice", needle.result_id),
        ("tip hidden by the shadow", "alice", needle.result_id),
    ]
    history.push(accept_edit(result, sources, needle, "alice", 0, 9))  # again: no copies
    assert len(result.details.comments) == 2
    history.undo()
    history.undo()
    assert result.details.comments == []
    assert result.get(needle.result_id) is None
