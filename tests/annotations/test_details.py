"""Case details, attributes, events and comments: definitions, checks, undoable edits."""

from __future__ import annotations

import pytest

from usannotate.annotations import Annotations, LabelSet, ShapeKind, default_label_set
from usannotate.annotations.detail_edits import (
    AddComment,
    AddEvent,
    EditComment,
    RemoveComment,
    RemoveEvent,
    SetAttribute,
    SetCaseValue,
)
from usannotate.annotations.details import (
    Comment,
    DetailError,
    Event,
    FieldDef,
    FieldType,
    attribute_value,
    default_definitions,
    definitions_from_json,
    definitions_to_json,
)
from usannotate.annotations.edits import AddObject, EditHistory
from usannotate.annotations.model import AnnotatedObject


def _history() -> tuple[EditHistory, AnnotatedObject, AnnotatedObject]:
    annotations = Annotations(default_label_set())
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [(10, 10), (50, 60)])
    needle.set_points(20, [(10, 10), (80, 90)])
    fluid = AnnotatedObject("fluid.injectate", ShapeKind.REGION)
    fluid.set_points(5, [(60, 60), (80, 60), (70, 70)])
    history = EditHistory(annotations)
    history.push(AddObject(needle))
    history.push(AddObject(fluid))
    return history, needle, fluid


def test_default_case_fields_are_the_issues_list_and_collect_nothing_identifying():
    ids = [f.id for f in default_definitions().case_fields]
    assert ids == [
        "procedure",
        "target",
        "side",
        "injectate_type",
        "injectate_volume_ml",
        "needle_gauge",
        "needle_length_mm",
        "approach",
        "image_quality",
        "teaching_case",
        "teaching_title",
        "learning_points",
    ]
    types = {f.type for f in default_definitions().case_fields}
    assert types == set(FieldType)
    with pytest.raises(DetailError, match="type 'date' is not one of"):
        FieldDef("scan_day", "Scan day", "date")
    with pytest.raises(DetailError, match="name or a date"):
        FieldDef("patient_initials", "Initials", FieldType.TEXT)


@pytest.mark.parametrize(
    ("field_id", "bad", "allowed"),
    [
        ("side", "up", "one of left, right, bilateral, midline"),
        ("injectate_volume_ml", "lots", "a number from 0 to 100 (ml)"),
        ("injectate_volume_ml", 150, "a number from 0 to 100 (ml)"),
        ("needle_gauge", 25.5, "a whole number from 10 to 34 (G)"),
        ("teaching_case", "maybe", "yes or no"),
        ("image_quality", 0, "a whole number from 1 to 5"),
    ],
)
def test_a_bad_value_names_the_field_and_the_allowed_values(field_id, bad, allowed):
    history, _, _ = _history()
    before = dict(history.annotations.details.case)
    with pytest.raises(DetailError) as caught:
        history.push(SetCaseValue(field_id, bad))
    field = default_definitions().case_field(field_id)
    assert str(caught.value).startswith(f"{field.title}: {bad!r} is not allowed")
    assert allowed in str(caught.value)
    assert history.annotations.details.case == before  # nothing changed
    assert not history.can_undo or history.undo_text != f"Set {field.title}"


def test_case_values_are_checked_stored_and_undone_one_step_each():
    history, _, _ = _history()
    details = history.annotations.details
    history.push(SetCaseValue("side", "left"))
    history.push(SetCaseValue("needle_gauge", "25"))
    history.push(SetCaseValue("target", "  infraspinatus "))  # free text allowed
    history.push(SetCaseValue("teaching_case", "yes"))
    assert details.case == {
        "side": "left",
        "needle_gauge": 25,
        "target": "infraspinatus",
        "teaching_case": True,
    }
    history.push(SetCaseValue("side", None))
    assert "side" not in details.case
    history.undo()
    assert details.case["side"] == "left"
    for _ in range(4):
        history.undo()
    assert details.case == {}
    history.redo()
    assert details.case == {"side": "left"}


def test_per_frame_attributes_hold_until_changed_and_are_never_interpolated():
    history, needle, fluid = _history()
    details = history.annotations.details
    history.push(SetAttribute(needle.id, "tip_visible", "yes", frame=2))
    history.push(SetAttribute(needle.id, "tip_visible", False, frame=12))
    values = [attribute_value(details, needle.id, "tip_visible", f) for f in range(16)]
    assert values == [None, None] + [True] * 10 + [False] * 4
    history.push(SetAttribute(fluid.id, "spread", "pooling", frame=5))
    history.push(SetAttribute(fluid.id, "confidence", "high"))  # every label's, per track
    assert attribute_value(details, fluid.id, "confidence") == "high"
    with pytest.raises(DetailError, match=r"Spread: 'everywhere' is not allowed \(one of along"):
        history.push(SetAttribute(fluid.id, "spread", "everywhere", frame=6))
    with pytest.raises(DetailError, match="have no attribute 'spread'"):
        history.push(SetAttribute(needle.id, "spread", "pooling", frame=6))
    with pytest.raises(DetailError, match="set per frame"):
        history.push(SetAttribute(needle.id, "tip_visible", True))
    history.undo()  # confidence
    assert attribute_value(details, fluid.id, "confidence") is None
    history.undo()
    history.undo()  # tip_visible at 12
    assert attribute_value(details, needle.id, "tip_visible", 14) is True


def test_events_including_user_types_are_added_removed_and_found_in_order():
    history, _, _ = _history()
    details = history.annotations.details
    start = Event("injection_start", 8)
    history.push(AddEvent(Event("key_image", 30)))
    history.push(AddEvent(start))
    history.push(AddEvent(Event("patient_moved", 15)))  # user-defined type
    assert [e.frame for e in details.events_sorted()] == [8, 15, 30]
    assert details.injection_start() == 8
    assert details.next_event_frame(8, +1) == 15
    assert details.next_event_frame(8, -1) is None
    assert details.next_event_frame(31, -1) == 30
    assert details.definitions.event_title("patient_moved") == "patient moved"
    history.push(RemoveEvent(start.id))
    assert details.injection_start() is None
    history.undo()
    assert details.injection_start() == 8
    with pytest.raises(DetailError, match="event type 'Bad Type'"):
        Event("Bad Type", 1)


def test_comments_on_loop_frame_and_track_with_author_and_time():
    history, needle, _ = _history()
    details = history.annotations.details
    loop_note = Comment("Good teaching loop", author="Dr A")
    frame_note = Comment("Tip lost here", author="Dr A", frame=12)
    track_note = Comment("Needle re-marked", author="Dr B", object_id=needle.id)
    for c in (loop_note, frame_note, track_note):
        history.push(AddComment(c))
    assert [c.target for c in details.comments] == ["loop", "frame", "track"]
    assert loop_note.time.endswith("Z")
    assert len(loop_note.time) == 20
    history.push(EditComment(frame_note.id, "Tip lost from here"))
    assert details.comments[1].text == "Tip lost from here"
    assert details.comments[1].time == frame_note.time
    with pytest.raises(DetailError, match="needs some text"):
        history.push(EditComment(frame_note.id, "  "))
    history.push(RemoveComment(loop_note.id))
    assert len(details.comments) == 2
    history.undo()
    history.undo()
    assert details.comments[1].text == "Tip lost here"
    with pytest.raises(DetailError, match="no mark 'nope'"):
        history.push(AddComment(Comment("x", object_id="nope")))


def test_label_set_definitions_parse_and_only_differences_are_written():
    assert definitions_to_json(default_definitions()) == {}
    custom = definitions_from_json(
        {
            "case_fields": [
                {"id": "block", "title": "Block", "type": "choice", "choices": ["esp", "tap"]}
            ],
            "event_types": [{"id": "bolus", "title": "Bolus"}],
        }
    )
    assert [f.id for f in custom.case_fields] == ["block"]
    assert custom.attributes == default_definitions().attributes  # missing: the default
    out = definitions_to_json(custom)
    assert set(out) == {"case_fields", "event_types"}
    assert definitions_from_json(out) == custom
    with pytest.raises(DetailError, match=r"case_fields\[0\]: .*type 'date'"):
        definitions_from_json({"case_fields": [{"id": "when", "type": "date"}]})
    assert LabelSet("x") is not None
