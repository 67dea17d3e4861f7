"""Label sets: the bundled default, the JSON round trip, and errors that quote the bad value."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from usannotate.annotations.kinds import ShapeKind
from usannotate.annotations.labels import (
    DEFAULT_LABEL_SET_PATH,
    FORMAT,
    LabelSetError,
    default_label_set,
    label_set_from_json,
    label_set_to_json,
    load_label_set,
    user_label,
)
from usannotate.annotations.model import Label, LabelSet

REQUIRED = {
    "fascia.superficial": ShapeKind.POLYLINE,
    "fascia.deep": ShapeKind.POLYLINE,
    "fascia.interfascial": ShapeKind.POLYLINE,
    "needle": ShapeKind.NEEDLE,
    "fluid.injectate": ShapeKind.REGION,
    "target": ShapeKind.POINT,
    "avoid.nerve": ShapeKind.REGION,
    "avoid.vessel": ShapeKind.REGION,
    "avoid.pleura": ShapeKind.REGION,
}


def _relative_luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.fixture
def document() -> dict:
    """The default label set's JSON, decoded, to break in each test."""
    return json.loads(DEFAULT_LABEL_SET_PATH.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------- the default
def test_default_label_set_loads_with_every_required_label():
    labels = default_label_set()
    assert isinstance(labels, LabelSet)
    assert labels.name
    for label_id, kind in REQUIRED.items():
        assert labels[label_id].kind is kind, label_id
    assert labels["needle"].group == "needle"
    assert labels["fluid.injectate"].group == "fluid"
    assert {labels[i].group for i in REQUIRED if i.startswith("fascia.")} == {"fascial plane"}
    assert {labels[i].group for i in REQUIRED if i.startswith("avoid.")} == {"avoid"}


def test_default_ids_shortcuts_and_colours_are_unique():
    labels = default_label_set()
    ids = [label.id for label in labels]
    shortcuts = [label.shortcut for label in labels]
    colours = [label.colour.lower() for label in labels]
    assert len(set(ids)) == len(ids)
    assert len(set(colours)) == len(colours)
    assert sorted(shortcuts) == [str(i) for i in range(1, 10)]
    # Planes first (what is traced most), then needle, fluid, target, what to avoid.
    assert [labels[i].shortcut for i in REQUIRED] == [str(i) for i in range(1, 10)]


def test_default_colours_stand_out_on_dark_ultrasound():
    # WCAG's 3:1 for graphics, against black (anechoic fluid, the dark background).
    for label in default_label_set():
        contrast = (_relative_luminance(label.colour) + 0.05) / 0.05
        assert contrast >= 3.0, (label.id, label.colour, contrast)


def test_default_label_set_is_fresh_on_every_call():
    first = default_label_set()
    first.add(Label("user.extra", "Extra", ShapeKind.POINT, "#99ddff"))
    assert default_label_set().get("user.extra") is None


def test_default_file_is_written_as_label_set_to_json_writes_it(document):
    # The resource is in the canonical key order, so re-saving it changes nothing.
    assert label_set_to_json(default_label_set()) == document
    assert list(document) == ["format", "version", "name", "labels"]


# ------------------------------------------------------------------------ round trip
def test_json_round_trip_is_equal():
    labels = default_label_set()
    labels.add(user_label(labels, "Thoracolumbar fascia", "polyline"))
    data = label_set_to_json(labels)
    again = label_set_from_json(json.loads(json.dumps(data)))
    assert again == labels
    assert label_set_to_json(again) == data
    assert list(data["labels"][0]) == [
        "id",
        "name",
        "kind",
        "colour",
        "shortcut",
        "group",
        "description",
    ]


def test_optional_keys_may_be_left_out(document):
    for item in document["labels"]:
        for key in ("shortcut", "group", "description"):
            del item[key]
    labels = label_set_from_json(document)
    assert all(label.shortcut is None and label.group == "" for label in labels)


def test_load_label_set_reads_a_file(tmp_path: Path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(label_set_to_json(default_label_set())), encoding="utf-8")
    assert load_label_set(path) == default_label_set()


# ----------------------------------------------------------------------- bad input
def _error(data: object) -> str:
    with pytest.raises(LabelSetError) as info:
        label_set_from_json(data)  # type: ignore[arg-type]
    return str(info.value)


def test_unknown_kind_is_quoted_with_the_allowed_kinds(document):
    document["labels"][2]["kind"] = "circle"
    message = _error(document)
    assert "label 3 ('Interfascial plane')" in message
    assert "'circle'" in message
    assert "polyline, needle, region, point" in message


@pytest.mark.parametrize("colour", ["red", "#12345", "#gg0000", "0072b2", 255])
def test_bad_colour_is_quoted(document, colour):
    document["labels"][0]["colour"] = colour
    message = _error(document)
    assert repr(colour) in message
    assert "'#rrggbb'" in message
    assert "label 1 ('Superficial fascia')" in message


def test_duplicate_id_is_quoted(document):
    document["labels"][1]["id"] = "fascia.superficial"
    message = _error(document)
    assert "'fascia.superficial'" in message
    assert "'Superficial fascia'" in message
    assert "'Deep fascia'" in message


def test_duplicate_shortcut_is_quoted(document):
    document["labels"][8]["shortcut"] = "1"
    message = _error(document)
    assert "shortcut '1'" in message
    assert "'Pleura'" in message


@pytest.mark.parametrize("name", [None, "", "   ", 7])
def test_missing_or_empty_name_is_reported(document, name):
    if name is None:
        del document["labels"][3]["name"]
    else:
        document["labels"][3]["name"] = name
    message = _error(document)
    assert "label 4 (id 'needle')" in message
    assert "'name'" in message or repr(name) in message


@pytest.mark.parametrize(
    ("data", "quoted"),
    [
        ([1, 2, 3], "list"),
        ("labels", "str"),
        ({"format": "usannotate-sidecar", "version": 1}, "'usannotate-sidecar'"),
        ({"version": 1, "labels": []}, "'usannotate-labels'"),
    ],
)
def test_not_a_label_set_file(data, quoted):
    message = _error(data)
    assert message.startswith("not a label set file")
    assert quoted in message


def test_other_bad_values_are_quoted(document):
    bad = copy.deepcopy(document)
    bad["labels"][0]["id"] = "Fascia Superficial"
    assert "'Fascia Superficial'" in _error(bad)
    bad = copy.deepcopy(document)
    bad["labels"][0]["shortcut"] = "ab"
    assert "shortcut 'ab' must be a single key" in _error(bad)
    bad = copy.deepcopy(document)
    bad["labels"][0]["color"] = "#ffffff"
    assert "unknown key 'color'" in _error(bad)
    bad = copy.deepcopy(document)
    bad["version"] = 2
    assert "version 2 is newer" in _error(bad)
    bad = copy.deepcopy(document)
    bad["labels"] = {"needle": {}}
    assert '"labels" must be a list' in _error(bad)
    bad = copy.deepcopy(document)
    bad["labels"][0] = "needle"
    assert "label 1: must be a JSON object, got str 'needle'" in _error(bad)


def test_load_errors_name_the_file(tmp_path: Path):
    not_json = tmp_path / "labels.json"
    not_json.write_text("{ not json", encoding="utf-8")
    with pytest.raises(LabelSetError, match=r"^labels\.json: not a label set file \(not JSON"):
        load_label_set(not_json)
    wrong = tmp_path / "other.json"
    wrong.write_text(json.dumps({"format": "something-else"}), encoding="utf-8")
    with pytest.raises(LabelSetError, match=r"^other\.json: not a label set file"):
        load_label_set(wrong)
    with pytest.raises(LabelSetError, match=r"^missing\.json: cannot read"):
        load_label_set(tmp_path / "missing.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(LabelSetError, match="not UTF-8"):
        load_label_set(binary)


def test_label_set_error_is_a_value_error():
    assert issubclass(LabelSetError, ValueError)
    assert FORMAT == "usannotate-labels"


# ------------------------------------------------------------------------ user labels
def test_user_label_gets_a_unique_id_colour_and_shortcut():
    labels = default_label_set()
    first = user_label(labels, "Thoracolumbar fascia", ShapeKind.POLYLINE)
    assert first.id == "user.thoracolumbar_fascia"
    assert first.name == "Thoracolumbar fascia"
    assert first.kind is ShapeKind.POLYLINE
    assert first.group == "fascial plane"
    assert first.shortcut == "0"
    assert first.colour not in {label.colour for label in labels}
    labels.add(first)
    second = user_label(labels, "Thoracolumbar  fascia!", "polyline")
    assert second.id == "user.thoracolumbar_fascia-2"
    assert second.colour != first.colour
    assert second.shortcut is None
    labels.add(second)
    assert user_label(labels, "Thoracolumbar fascia", "polyline").id.endswith("-3")


def test_user_label_copes_with_names_that_are_not_ascii():
    labels = default_label_set()
    assert user_label(labels, "Fascia lata (Oberschenkel, außen)", "polyline").id == (
        "user.fascia_lata_oberschenkel_auen"
    )
    assert user_label(labels, "筋膜", "polyline").id == "user.label"
    assert user_label(labels, "Bursa", "region").group == ""


def test_user_label_rejects_bad_input():
    labels = default_label_set()
    with pytest.raises(LabelSetError, match=r"'circle' must be one of polyline"):
        user_label(labels, "Ring", "circle")
    with pytest.raises(LabelSetError, match=r"label name '  ' must be"):
        user_label(labels, "  ", "polyline")
    with pytest.raises(LabelSetError, match=r"colour 'blue' must be '#rrggbb'"):
        user_label(labels, "Plane", "polyline", colour="blue")
