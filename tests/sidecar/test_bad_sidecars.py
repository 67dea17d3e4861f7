"""Every kind of bad sidecar gives a typed error that names the file, quotes the bad value,
gives the JSON path and the convention, and leaves the file exactly as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import usannotate
from tests.sidecar.docs import LOOP_A, LOOP_B, good_json, sample_document, write_json
from usannotate.sidecar import (
    SidecarError,
    SidecarMismatchError,
    SidecarReadError,
    SidecarWriteError,
    check_loop,
    document_to_json,
    load_sidecar,
    loop_mismatches,
    save_sidecar,
    schema_problems,
    write_recovery,
)

NAME = "loop.usannotate.json"
Mutation = Callable[[dict[str, Any]], None]


def _set(*path_and_value: Any) -> Mutation:
    *path, key, value = path_and_value

    def mutate(data: dict[str, Any]) -> None:
        target = data
        for part in path:
            target = target[part]
        target[key] = value

    return mutate


def _delete(*path: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def _frames(index: int) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return lambda data: data["objects"][index]["frames"]


def _swap_first_frames(data: dict[str, Any]) -> None:
    frames = data["objects"][0]["frames"]
    frames[0], frames[1] = frames[1], frames[0]


def _needle_with_three_points(data: dict[str, Any]) -> None:
    data["objects"][1]["frames"][0]["points"].append([10.0, 10.0])


def _duplicate_label(data: dict[str, Any]) -> None:
    data["label_set"]["labels"].append(dict(data["label_set"]["labels"][0]))


# (mutation of a good file's JSON, a line expected among the problems)
SCHEMA_INVALID = {
    "wrong type": (_set("dicom", "rows", "480"), 'dicom.rows: expected a whole number, got "480"'),
    "missing key": (
        _delete("objects", 0, "frames", 1, "points"),
        "objects[0].frames[1]: the key 'points' is missing (points are [[x, y], ...] = "
        "(column, row) in image pixels, (0, 0) the top-left corner of the top-left pixel)",
    ),
    "missing top-level key": (_delete("label_set"), "(top level): the key 'label_set' is missing"),
    "bad kind": (
        _set("objects", 2, "kind", "circle"),
        'objects[2].kind: must be one of "polyline", "needle", "region", "point"; got "circle" '
        "(a kind is one of polyline, needle, region, point)",
    ),
    "bad label kind": (
        _set("label_set", "labels", 0, "kind", "line"),
        'label_set.labels[0].kind: must be one of "polyline", "needle", "region", "point"; '
        'got "line"',
    ),
    "bad colour": (
        _set("label_set", "labels", 1, "colour", "green"),
        "label_set.labels[1].colour: \"green\" is not in the expected form (a colour is '#rrggbb')",
    ),
    "negative frame": (
        _set("objects", 0, "frames", 0, "frame", -1),
        "objects[0].frames[0].frame: must be 0 or more, got -1 (frame indices are 0-based whole "
        "numbers)",
    ),
    "frame as text": (
        _set("objects", 0, "frames", 0, "frame", "3"),
        'objects[0].frames[0].frame: expected a whole number, got "3"',
    ),
    "three coordinates": (
        _set("objects", 0, "frames", 2, "points", 1, [1.0, 2.0, 3.0]),
        "objects[0].frames[2].points[1]: needs at most 2 items, got 3 (points are [[x, y], ...]",
    ),
    "boolean coordinate": (
        _set("objects", 3, "frames", 0, "points", 0, [True, 2.0]),
        "objects[3].frames[0].points[0][0]: expected a number, got true",
    ),
    "no points": (
        _set("objects", 2, "frames", 4, "points", []),
        "objects[2].frames[4].points: needs at least 1 item, got 0",
    ),
    "version as text": (
        _set("version", "1"),
        'version: must be one of 1, 2, 3; got "1" (this usannotate reads sidecar format versions '
        "1, 2 and 3)",
    ),
    "bad timestamp": (
        _set("modified", "yesterday"),
        'modified: "yesterday" is not in the expected form (timestamps are ISO-8601 UTC',
    ),
    "manual source without calibration": (
        _set("calibration", "source", "manual"),
        "calibration.manual: expected a JSON object, got null (the manual calibration is an "
        "object when source is 'manual', else null)",
    ),
    "bad region bounds": (
        _set("calibration", "regions", 0, "bounds", [1, 2, 3]),
        "calibration.regions[0].bounds: needs at least 4 items, got 3",
    ),
}
INCONSISTENT = {
    "unknown label": (
        _set("objects", 1, "label", "vessel"),
        'objects[1].label: no label "vessel" in the label set "Hydrodissection — test" '
        "(labels: fascia.superficial, needle, fluid, target)",
    ),
    "kind differs from its label": (
        _set("objects", 0, "kind", "region"),
        'objects[0].kind: "region", but label "fascia.superficial" is drawn as a polyline',
    ),
    "wrong point count": (
        _needle_with_three_points,
        "objects[1].frames[0].points: a needle needs exactly two (x, y) points: entry, then "
        "tip, got 3",
    ),
    "frame out of range": (
        _set("objects", 2, "frames", 4, "frame", 60),
        "objects[2].frames[4].frame: frame 60 is outside the loop's 60 frames (frame indices "
        "are 0-based: 0 to 59)",
    ),
    "duplicate object id": (
        _set("objects", 3, "id", "obj0"),
        'objects[3].id: "obj0" is already the id of objects[0]: object ids must be unique',
    ),
    "duplicate label id": (
        _duplicate_label,
        'label_set.labels[4].id: "fascia.superficial" is already the id of label_set.labels[0]',
    ),
    "point outside the image": (
        _set("objects", 3, "frames", 1, "points", [[700.25, 10.0]]),
        "objects[3].frames[1].points[0]: (x, y) = (700.25, 10.0) lies outside the 640 x 480 "
        "image (x = column from 0 to 640, y = row from 0 to 480 px, 1 px margin allowed)",
    ),
    "frames out of order": (
        _swap_first_frames,
        "objects[0].frames[1].frame: frame 0 comes after frame 1: frames are listed in "
        "increasing order, each at most once",
    ),
    "frame listed twice": (
        _set("objects", 0, "frames", 1, "frame", 0),
        "objects[0].frames[1].frame: frame 0 is listed twice",
    ),
    "impossible date": (
        _set("created", "2025-13-01T00:00:00Z"),
        'created: "2025-13-01T00:00:00Z" is not a valid date and time (UTC)',
    ),
    "dicom source without regions": (
        _set("calibration", "regions", []),
        "calibration.source: 'dicom', but calibration.regions records no ultrasound region",
    ),
}


def _bad_file(tmp_path: Path, mutate: Mutation) -> Path:
    data = good_json()
    mutate(data)
    return write_json(tmp_path / NAME, data)


def _assert_refused(path: Path, expected: str) -> SidecarReadError:
    before = path.read_bytes()
    with pytest.raises(SidecarReadError) as caught:
        load_sidecar(path)
    assert str(caught.value).startswith(f"{NAME}: ")
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems
    assert path.read_bytes() == before
    return caught.value


@pytest.mark.parametrize("case", SCHEMA_INVALID, ids=str)
def test_schema_invalid_file_is_refused_with_path_and_value(tmp_path: Path, case: str):
    mutate, expected = SCHEMA_INVALID[case]
    _assert_refused(_bad_file(tmp_path, mutate), expected)


@pytest.mark.parametrize("case", INCONSISTENT, ids=str)
def test_inconsistent_file_is_refused_with_path_and_convention(tmp_path: Path, case: str):
    mutate, expected = INCONSISTENT[case]
    _assert_refused(_bad_file(tmp_path, mutate), expected)


def test_every_problem_is_listed(tmp_path: Path):
    data = good_json()
    data["objects"][1]["label"] = "vessel"
    data["objects"][2]["frames"][4]["frame"] = 99
    error = _assert_refused(write_json(tmp_path / NAME, data), "objects[1].label")
    assert len(error.problems) == 2
    assert str(error).endswith("(and 1 more problem)")


GOOD_TEXT = json.dumps(good_json(), indent=2)
NOT_SIDECARS = {
    "not JSON": (b"DICM this is not JSON", "is not valid JSON (line 1, column 1: Expecting value)"),
    "truncated JSON": (GOOD_TEXT[: len(GOOD_TEXT) // 2].encode(), "is cut short: the JSON ends"),
    "empty": (b"", "is empty"),
    "only spaces": (b"  \n", "is empty"),
    "not UTF-8": (b'{"format": "\xff\xfe"}', "is not a text (UTF-8) file"),
    "NaN": (GOOD_TEXT.replace('"rows": 480', '"rows": NaN').encode(), "is not valid JSON"),
    "a list": (b"[1, 2]", "is not a usannotate sidecar (a JSON object), but a list"),
    "another JSON file": (b'{"name": "package.json"}', 'is not a usannotate sidecar: "format"'),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON"),
}


@pytest.mark.parametrize("case", NOT_SIDECARS, ids=str)
def test_file_that_is_not_a_sidecar_is_refused(tmp_path: Path, case: str):
    content, expected = NOT_SIDECARS[case]
    path = tmp_path / NAME
    path.write_bytes(content)
    with pytest.raises(SidecarReadError) as caught:
        load_sidecar(path)
    assert str(caught.value).startswith(f"{NAME}: {expected}"), str(caught.value)
    assert path.read_bytes() == content


def test_missing_file_and_folder_are_refused(tmp_path: Path):
    with pytest.raises(SidecarReadError, match=f"^{NAME}: no such file$"):
        load_sidecar(tmp_path / NAME)
    (tmp_path / "folder.usannotate.json").mkdir()
    with pytest.raises(SidecarReadError, match="is a folder"):
        load_sidecar(tmp_path / "folder.usannotate.json")


def test_messages_name_the_file_not_its_folder(tmp_path: Path):
    folder = tmp_path / "SMITH^JOHN 1970"
    folder.mkdir()
    path = write_json(folder / NAME, [1])
    with pytest.raises(SidecarError) as caught:
        load_sidecar(path)
    assert "SMITH" not in str(caught.value)


# ------------------------------------------------------------------ identity
def test_sidecar_of_another_dicom_is_refused_naming_both_files(tmp_path: Path):
    path = write_json(tmp_path / NAME, good_json())  # made for loop A
    with usannotate.open_cine(LOOP_B, prefetch_frames=0) as loop_b:
        uid_b = loop_b.identity.sop_instance_uid
        with pytest.raises(SidecarMismatchError) as caught:
            load_sidecar(path, dicom_uid=uid_b, dicom_name=LOOP_B.name)
        message = str(caught.value)
        assert message.startswith(f"{NAME}: belongs to another DICOM file")
        assert LOOP_A.name in message
        assert LOOP_B.name in message
        assert uid_b not in message
        assert "1.2.826" not in message

        doc = load_sidecar(path)
        with pytest.raises(SidecarMismatchError, match=LOOP_B.name):
            check_loop(doc, loop_b, path=path)
    with usannotate.open_cine(LOOP_A, prefetch_frames=0) as loop_a:
        check_loop(doc, loop_a, path=path)  # its own DICOM: no error
        assert load_sidecar(path, dicom_uid=loop_a.identity.sop_instance_uid) == doc


def test_same_uid_but_other_size_or_length_is_reported():
    doc = sample_document(n_frames=1)
    from dataclasses import replace

    doc.dicom = replace(doc.dicom, rows=400, n_frames=61)
    with usannotate.open_cine(LOOP_A, prefetch_frames=0) as loop:
        problems = loop_mismatches(doc, loop)
    assert problems == [
        'dicom: made for a 640 x 400 image, but "hydrodissection_linear_a.dcm" is 640 x 480 '
        "(columns x rows)",
        'dicom.n_frames: made for 61 frames, but "hydrodissection_linear_a.dcm" has 60',
    ]


# --------------------------------------------------------------- newer files
def _newer(data: dict[str, Any]) -> dict[str, Any]:
    data["version"] = 4
    data["layers"] = [{"name": "future"}]
    data["objects"][0]["frames"][0]["velocity"] = [1, 2]
    return data


def test_newer_version_opens_read_only_and_is_never_saved(tmp_path: Path):
    path = write_json(tmp_path / NAME, _newer(good_json()))
    before = path.read_bytes()
    doc = load_sidecar(path)
    assert doc.read_only
    assert doc.format_version == 4
    assert doc.warnings == []
    assert doc.extra.top == {"layers": [{"name": "future"}]}
    assert len(doc.annotations.objects) == 4
    assert document_to_json(doc)["version"] == 4  # what it is, not what this version writes
    with pytest.raises(SidecarWriteError, match="read-only because a newer usannotate"):
        save_sidecar(doc, path)
    with pytest.raises(SidecarWriteError, match="read-only"):
        write_recovery(doc, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]


def test_newer_version_shows_what_it_can_and_says_what_it_left_out(tmp_path: Path):
    data = _newer(good_json())
    data["objects"][2]["kind"] = "ellipse"  # a kind this version does not know
    data["objects"][3]["frames"][4]["frame"] = 600  # beyond this loop: v3 may mean otherwise
    doc = load_sidecar(write_json(tmp_path / NAME, data))
    assert doc.read_only
    assert [o.id for o in doc.annotations.objects] == ["obj0", "obj1"]
    assert len(doc.warnings) == 2
    assert doc.warnings[0].startswith("not shown (newer format): objects[2].kind: must be one of")
    assert doc.warnings[1].startswith("not shown (newer format): objects[3].frames[4].frame")


def test_newer_version_without_a_readable_core_is_refused(tmp_path: Path):
    data = _newer(good_json())
    data["dicom"] = {"uids": ["1.2.3"]}
    path = write_json(tmp_path / NAME, data)
    with pytest.raises(SidecarReadError) as caught:
        load_sidecar(path)
    assert "newer usannotate (sidecar format version 4" in str(caught.value)
    assert "update usannotate" in str(caught.value)


def test_version_zero_is_not_a_version(tmp_path: Path):
    _assert_refused(
        _bad_file(tmp_path, _set("version", 0)), "version: must be one of 1, 2, 3; got 0"
    )


# ------------------------------------------------- the fast schema shortcut
frame_like = st.fixed_dictionaries(
    {},
    optional={
        "frame": st.one_of(
            st.integers(-2, 5), st.floats(-1, 3), st.booleans(), st.text(max_size=2)
        ),
        "points": st.one_of(
            st.lists(
                st.one_of(
                    st.lists(st.one_of(st.floats(0, 9), st.integers(0, 9)), min_size=2, max_size=2),
                    st.lists(st.one_of(st.booleans(), st.none(), st.text(max_size=1)), max_size=3),
                ),
                max_size=3,
            ),
            st.none(),
        ),
        "source": st.sampled_from(
            ["keyframe", "tracked", "interpolated", "absent", "absent", "guessed", None]
        ),
        "extra": st.integers(),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(frame_like, max_size=4), st.none(), st.text(max_size=2)))
def test_fast_schema_check_gives_jsonschemas_verdict_and_messages(frames):
    data = good_json()
    data["objects"][0]["frames"] = frames
    assert schema_problems(data) == schema_problems(data, exhaustive=True)


def test_a_null_source_is_refused_by_the_fast_check_too():
    """Found by the property test above: a missing source means keyframe, a null one is
    wrong, and the fast check used to take the second for the first."""
    data = good_json()
    data["objects"][0]["frames"] = [{"frame": 0, "source": None, "points": [[1.0, 2.0]]}]
    problems = schema_problems(data)
    assert len(problems) == 1
    assert "objects[0].frames[0].source" in problems[0]
    assert "got null" in problems[0]
