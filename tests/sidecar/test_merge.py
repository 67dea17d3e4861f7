"""The merge of two versions of one sidecar: tracks by id, both sides' work kept."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.sidecar.docs import LATER, NOW, sample_document
from usannotate.annotations import AnnotatedObject, Label, ShapeKind
from usannotate.cine.calibration import ManualCalibration
from usannotate.sidecar import document_to_json, load_sidecar, save_sidecar, schema_problems
from usannotate.sidecar._conflict import snapshot
from usannotate.sidecar.merge import (
    CONFLICT_KEY,
    THEIR_VERSION_SUFFIX,
    conflict_flag,
    merge_annotations,
)

WHEN = datetime(2025, 3, 14, 11, 0, tzinfo=UTC)


@pytest.fixture
def sides():
    """(base, mine, theirs): three copies of one document's annotations."""
    doc = sample_document(n_frames=3)
    base = snapshot(doc.annotations)
    return base, snapshot(base), snapshot(base)


def _move(annotations, object_id: str, dx: float) -> None:
    obj = annotations.get(object_id)
    obj.set_points(0, obj.frames[0] + (dx, 0.0))


def _merge(base, mine, theirs):
    return merge_annotations(base, mine, theirs, their_annotator="B. Rater", their_modified=WHEN)


def test_a_track_changed_on_one_side_only_is_taken_from_that_side(sides):
    base, mine, theirs = sides
    _move(theirs, "obj0", 5)
    _move(mine, "obj1", 3)
    result = _merge(base, mine, theirs)
    merged = result.annotations
    assert merged.get("obj0").same_work(theirs.get("obj0"))
    assert merged.get("obj1").same_work(mine.get("obj1"))
    assert result.taken == ["obj0"]
    assert not result.kept_twice
    assert [o.id for o in merged.objects] == ["obj0", "obj1", "obj2", "obj3"]


def test_their_new_tracks_are_added_and_mine_kept(sides):
    base, mine, theirs = sides
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE, id="their-needle")
    needle.set_points(1, [(10, 10), (40, 50)])
    theirs.add(needle)
    plane = AnnotatedObject("fascia.superficial", ShapeKind.POLYLINE, id="my-plane")
    plane.set_points(2, [(10, 10), (40, 50)])
    mine.add(plane)
    result = _merge(base, mine, theirs)
    ids = [o.id for o in result.annotations.objects]
    assert ids == ["obj0", "obj1", "obj2", "obj3", "my-plane", "their-needle"]
    assert result.added == ["their-needle"]
    assert conflict_flag(result.annotations.get("their-needle")) is None


def test_a_track_changed_on_both_sides_is_kept_twice_and_flagged(sides):
    base, mine, theirs = sides
    _move(mine, "obj2", 4)
    _move(theirs, "obj2", -4)
    result = _merge(base, mine, theirs)
    [(own_id, their_id)] = result.kept_twice
    assert own_id == "obj2"
    merged = result.annotations
    ids = [o.id for o in merged.objects]
    assert ids.index(their_id) == ids.index("obj2") + 1  # theirs right beside mine
    assert merged.get("obj2").same_work(mine.get("obj2"))
    copy_ = merged.get(their_id)
    assert copy_.name.endswith(THEIR_VERSION_SUFFIX)
    assert (copy_.frames[0] == theirs.get("obj2").frames[0]).all()
    assert conflict_flag(copy_) == {
        "with": "obj2",
        "annotator": "B. Rater",
        "modified": "2025-03-14T11:00:00.000Z",
    }
    assert "kept twice" in result.summary("B. Rater")


def test_deletions_follow_the_side_that_made_them(sides):
    base, mine, theirs = sides
    theirs.remove("obj0")  # they deleted it, I left it alone: it goes
    mine.remove("obj1")  # I deleted it, they left it alone: it stays deleted
    mine.remove("obj2")  # I deleted it, they changed it: theirs comes back, flagged
    _move(theirs, "obj2", 7)
    theirs.remove("obj3")  # they deleted it, I changed it: mine stays
    _move(mine, "obj3", 1)
    result = _merge(base, mine, theirs)
    merged = result.annotations
    assert merged.get("obj0") is None
    assert result.removed == ["obj0"]
    assert merged.get("obj1") is None
    assert merged.get("obj3") is not None
    [(own_id, their_id)] = result.kept_twice
    assert own_id is None
    assert conflict_flag(merged.get(their_id))["with"] is None


def test_without_a_base_every_differing_track_is_kept_twice(sides):
    _, mine, theirs = sides
    _move(theirs, "obj0", 5)
    result = _merge(None, mine, theirs)
    assert [pair[0] for pair in result.kept_twice] == ["obj0"]
    assert len(result.annotations.objects) == 5


def test_their_labels_are_added_a_clashing_kind_renamed(sides):
    base, mine, theirs = sides
    theirs.label_set.add(Label("nerve", "Nerve", ShapeKind.REGION, "#ffffff", "9"))
    theirs.label_set.labels[3] = Label("target", "Target", ShapeKind.POLYLINE, "#ffffff", "4")
    for obj in list(theirs.objects):
        if obj.label_id == "target":
            theirs.remove(obj.id)
    track = AnnotatedObject("target", ShapeKind.POLYLINE, id="their-line")
    track.set_points(0, [(1, 1), (5, 5)])
    theirs.add(track)
    result = _merge(base, mine, theirs)
    label_set = result.annotations.label_set
    assert label_set.get("nerve") is not None
    assert label_set.get("target").kind == ShapeKind.POINT  # mine kept
    renamed = label_set.get("target.theirs1")
    assert renamed.kind == ShapeKind.POLYLINE
    assert result.annotations.get("their-line").label_id == "target.theirs1"


def test_the_manual_calibration_merges_like_a_track(sides):
    base, mine, theirs = sides
    line = ((10.0, 10.0), (110.0, 10.0))
    theirs.manual_calibration = ManualCalibration.from_line(line, 10.0)
    result = _merge(base, mine, theirs)
    assert result.annotations.manual_calibration == theirs.manual_calibration
    mine.manual_calibration = ManualCalibration.from_line(line, 20.0)
    result = _merge(base, mine, theirs)
    assert result.annotations.manual_calibration == mine.manual_calibration
    assert any("calibration" in note for note in result.notes)


def test_the_flag_round_trips_through_the_sidecar_and_the_schema(sides, tmp_path: Path):
    base, mine, theirs = sides
    _move(mine, "obj2", 4)
    _move(theirs, "obj2", -4)
    result = _merge(base, mine, theirs)
    doc = sample_document(n_frames=3)
    doc.annotations = result.annotations
    path = tmp_path / "loop.usannotate.json"
    save_sidecar(doc, path, now=NOW)
    again = load_sidecar(path)
    [(_, their_id)] = result.kept_twice
    assert conflict_flag(again.annotations.get(their_id)) == conflict_flag(
        result.annotations.get(their_id)
    )
    data = document_to_json(again)
    assert schema_problems(data, exhaustive=True) == []
    broken = copy.deepcopy(data)
    flagged = next(o for o in broken["objects"] if CONFLICT_KEY in o)
    flagged[CONFLICT_KEY]["modified"] = "yesterday"
    assert any(CONFLICT_KEY in p for p in schema_problems(broken))  # load refuses it too
    save_sidecar(again, path, now=LATER)  # and writes what it read
    assert load_sidecar(path) == again.with_modified(LATER)
