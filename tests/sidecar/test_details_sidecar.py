"""Details in the sidecar: optional keys, older files read, new ones round-trip, bad
values refused with the field and the allowed values named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sidecar.docs import LATER, sample_document
from usannotate.annotations.detail_edits import AddComment, AddEvent, SetAttribute, SetCaseValue
from usannotate.annotations.details import Comment, Event, definitions_from_json
from usannotate.annotations.edits import EditHistory
from usannotate.sidecar import SidecarReadError, load_sidecar, save_sidecar


def _with_details():
    doc = sample_document(n_frames=5)
    history = EditHistory(doc.annotations)
    needle = doc.annotations.objects[1]
    history.push(SetCaseValue("procedure", "hydrodissection"))
    history.push(SetCaseValue("injectate_volume_ml", 4.5))
    history.push(SetCaseValue("teaching_case", True))
    history.push(AddEvent(Event("injection_start", 2, "ev1")))
    history.push(AddEvent(Event("needle_lost", 4, "ev2")))
    history.push(SetAttribute(needle.id, "tip_visible", True, frame=0))
    history.push(SetAttribute(needle.id, "tip_visible", False, frame=3))
    history.push(SetAttribute(needle.id, "confidence", "medium"))
    history.push(
        AddComment(Comment("Check the tip", "Dr A", "2026-01-02T03:04:05Z", 3, None, "c1"))
    )
    history.push(
        AddComment(Comment("Re-marked", "Dr B", "2026-01-02T03:05:00Z", None, needle.id, "c2"))
    )
    return doc


def test_a_file_without_details_reads_as_before_and_writes_no_new_keys(tmp_path: Path):
    doc = sample_document(n_frames=3)
    path = tmp_path / "a.usannotate.json"
    save_sidecar(doc, path, now=LATER)
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("case", "events", "comments"):
        assert key not in data
    assert "case_fields" not in data["label_set"]
    assert all("attributes" not in o for o in data["objects"])
    loaded = load_sidecar(path)
    assert loaded.annotations.details.is_empty()


def test_details_round_trip_through_the_sidecar_with_identical_bytes(tmp_path: Path):
    doc = _with_details()
    path = tmp_path / "a.usannotate.json"
    save_sidecar(doc, path, now=LATER)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["case"] == {
        "procedure": "hydrodissection",
        "injectate_volume_ml": 4.5,
        "teaching_case": True,
    }
    assert data["events"] == [
        {"id": "ev1", "type": "injection_start", "frame": 2},
        {"id": "ev2", "type": "needle_lost", "frame": 4},
    ]
    assert data["objects"][1]["attributes"] == {
        "confidence": "medium",
        "tip_visible": [[0, True], [3, False]],
    }
    assert data["comments"][1] == {
        "id": "c2",
        "text": "Re-marked",
        "author": "Dr B",
        "time": "2026-01-02T03:05:00Z",
        "object": data["objects"][1]["id"],
    }
    loaded = load_sidecar(path)
    assert loaded.annotations.details == doc.annotations.details
    save_sidecar(loaded, tmp_path / "b.usannotate.json", now=LATER)
    assert (tmp_path / "b.usannotate.json").read_bytes() == path.read_bytes()


def test_custom_definitions_are_kept_in_the_label_set(tmp_path: Path):
    doc = sample_document(n_frames=1)
    doc.annotations.details.definitions = definitions_from_json(
        {"case_fields": [{"id": "block", "type": "choice", "choices": ["esp", "tap"]}]}
    )
    EditHistory(doc.annotations).push(SetCaseValue("block", "tap"))
    path = tmp_path / "a.usannotate.json"
    save_sidecar(doc, path, now=LATER)
    loaded = load_sidecar(path)
    assert loaded.annotations.details.case == {"block": "tap"}
    assert [f.id for f in loaded.annotations.details.definitions.case_fields] == ["block"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update(case={"side": "up"}),
            "case.side: Side: 'up' is not allowed (one of left, right, bilateral, midline)",
        ),
        (
            lambda d: d["objects"][1].update(attributes={"tip_visible": [[0, "sometimes"]]}),
            "objects[1].attributes.tip_visible: Tip visible: 'sometimes' is not allowed "
            "(yes or no)",
        ),
        (lambda d: d.update(case={"colour": "x"}), "case.colour: no case field 'colour'"),
        (lambda d: d.update(events=[{"id": "e", "type": "x", "frame": -1}]), "events[0].frame"),
    ],
)
def test_a_bad_value_in_a_file_is_refused_naming_the_field(tmp_path: Path, change, message):
    doc = sample_document(n_frames=3)
    path = tmp_path / "a.usannotate.json"
    save_sidecar(doc, path, now=LATER)
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SidecarReadError) as caught:
        load_sidecar(path)
    assert message in str(caught.value)
