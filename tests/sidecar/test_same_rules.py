"""Issue 10, item 3: what the reader accepts, the writer writes (and reads back equal).

``1e400`` (infinity) in a number, a frame time of ``1e-320``, a lone surrogate in a string:
``validate`` said OK and the window opened the file, but every save then failed. Reading
and writing now apply the same rules, refused on load with the JSON path; a property test
checks that anything ``load_sidecar`` accepts, ``save_sidecar`` writes and reads back
equal, and a seeded fuzz run (tests/sidecar/sidecar_fuzz.py) checks it over mutations.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sidecar import sidecar_fuzz
from tests.sidecar.docs import NOW, good_json, sample_document
from usannotate.cli import main
from usannotate.sidecar import (
    SidecarReadError,
    SidecarWriteError,
    load_sidecar,
    save_sidecar,
)

NAME = "loop.usannotate.json"
#: Trials of the quick fuzz run: every mutation kind 40 times.
QUICK_TRIALS = 40 * len(sidecar_fuzz.MUTATIONS)


def _text(data: dict[str, Any]) -> str:
    """JSON text as another tool may write it: infinity spelled 1e400, lone surrogates
    as \\ud800 escapes (json.dumps writes both so with ensure_ascii)."""
    text = json.dumps(data, indent=1, allow_nan=True)
    return text.replace("-Infinity", "-1e400").replace("Infinity", "1e400")


def _write(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / NAME
    path.write_text(_text(data), encoding="ascii")
    return path


def _manual(data: dict[str, Any], **values: float) -> None:
    data["calibration"]["source"] = "manual"
    manual = {"mm_per_px": 0.1, "line": [[10.0, 10.0], [110.0, 10.0]], "length_mm": 10.0}
    data["calibration"]["manual"] = manual | values


ISSUE_FILES = {
    "frame time 1e400": (
        lambda d: d["dicom"].update(frame_time_ms=float("inf")),
        "dicom.frame_time_ms: infinity",
    ),
    "mm_per_px_x 1e400": (
        lambda d: d["calibration"]["regions"][0].update(mm_per_px_x=float("inf")),
        "calibration.regions[0].mm_per_px_x: infinity",
    ),
    "x_ key 1e400": (lambda d: d.update(x_mylab_score=float("inf")), "x_mylab_score: infinity"),
    "x_ key -1e400 in a frame entry": (
        lambda d: d["objects"][1]["frames"][0].update(x_conf=[1.0, float("-inf")]),
        "objects[1].frames[0].x_conf[1]: -infinity",
    ),
    "frame time 1e-320": (
        lambda d: d["dicom"].update(frame_time_ms=1e-320),
        "dicom.frame_time_ms: must be 1e-06 or more, got 1e-320",
    ),
    "manual mm per px 1e-320": (
        lambda d: _manual(d, mm_per_px=1e-320),
        "calibration.manual.mm_per_px: must be 1e-09 or more",
    ),
    "lone surrogate": (
        lambda d: d.update(annotator="Dr \ud800"),
        'annotator: "Dr \\ud800" holds an unpaired UTF-16 surrogate',
    ),
    "lone surrogate in a key": (
        lambda d: d["label_set"]["labels"][0].update({"x_\udfff": 1}),
        'label_set.labels[0]["x_\\udfff"]: the key "x_\\udfff" holds an unpaired',
    ),
}


@pytest.mark.parametrize("case", ISSUE_FILES, ids=list(ISSUE_FILES))
def test_values_no_save_could_write_are_refused_on_load_with_their_path(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    change, problem = ISSUE_FILES[case]
    data = good_json()
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(SidecarReadError) as caught:
        load_sidecar(path)
    assert caught.value.problems[0].startswith(problem), caught.value.problems
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usannotate: {NAME}: {problem}"), err
    assert len(err.splitlines()) == 1


def test_values_json_cannot_hold_are_refused_before_saving_with_their_path(tmp_path: Path):
    path = tmp_path / NAME
    doc = sample_document(n_frames=2)
    save_sidecar(doc, path, now=NOW)
    before = path.read_bytes()
    cases = {
        "x_ratio: infinity": lambda d: d.extra.top.update(x_ratio=float("inf")),
        "objects[0].x_tags: set is not a JSON value": lambda d: d.annotations.objects[
            0
        ].extra.update(x_tags={"a"}),
        'annotator: "\\udc80" holds an unpaired': lambda d: setattr(d, "annotator", "\udc80"),
    }
    for problem, change in cases.items():
        doc = sample_document(n_frames=2)
        doc.modified = NOW
        change(doc)
        with pytest.raises(SidecarWriteError) as caught:
            save_sidecar(doc, path)
        assert caught.value.problems[0].startswith(f"not saved: {problem}"), caught.value
        assert doc.modified == NOW  # unchanged, still unsaved
        assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]


def test_timestamps_of_early_years_are_written_with_four_digits(tmp_path: Path):
    """Python writes year 999 as "999" with strftime: the schema wants 4 digits."""
    data = good_json()
    data["created"] = "0999-01-02T03:04:05.5Z"
    doc = load_sidecar(_write(tmp_path, data))
    save_sidecar(doc, tmp_path / "saved.usannotate.json", now=datetime(1, 1, 1, tzinfo=UTC))
    saved = json.loads((tmp_path / "saved.usannotate.json").read_text())
    assert saved["created"] == "0999-01-02T03:04:05.500Z"
    assert saved["modified"] == "0001-01-01T00:00:00.000Z"
    assert load_sidecar(tmp_path / "saved.usannotate.json") == doc


def test_what_is_read_is_kept_as_a_save_writes_it(tmp_path: Path):
    """Points with 6 decimals, a frame time with 9, microseconds: read as a save would
    write them, so the document read back after a save is the document saved."""
    data = good_json()
    data["objects"][1]["frames"][0]["points"] = [[10.1234567, 20.0000004], [30.5, 40.25]]
    data["dicom"]["frame_time_ms"] = 33.333333333
    data["created"] = "2025-01-02T03:04:05.123456Z"
    doc = load_sidecar(_write(tmp_path, data))
    assert doc.annotations.objects[1].frames[0].tolist() == [[10.123, 20.0], [30.5, 40.25]]
    assert doc.dicom.frame_time_ms == 33.333333
    assert doc.created.microsecond == 123000
    save_sidecar(doc, tmp_path / "saved.usannotate.json")
    assert load_sidecar(tmp_path / "saved.usannotate.json") == doc


def test_unknown_keys_of_an_entry_where_the_track_is_not_go_as_a_save_drops_them(
    tmp_path: Path,
):
    data = good_json()
    frames = data["objects"][3]["frames"]  # the target, frames 0 to 4
    frames.append({"frame": 9, "source": "interpolated", "points": [[1, 1]], "x_note": "old"})
    frames[2]["x_kept"] = 1  # a keyframe's
    doc = load_sidecar(_write(tmp_path, data))
    target = doc.annotations.objects[3]
    assert doc.extra.frames == {(target.id, 2): {"x_kept": 1}}
    save_sidecar(doc, tmp_path / "saved.usannotate.json")
    assert load_sidecar(tmp_path / "saved.usannotate.json") == doc


# ------------------------------------------------------------- property test
_floats = st.one_of(
    st.floats(allow_nan=False),  # infinity included: written as 1e400
    st.sampled_from([1e-320, 5e-324, 4e-7, 1e-6, 1e-9, 0.1 + 0.2, 1e300, -0.0]),
)
_text_values = st.text(st.characters(exclude_categories=()), max_size=8)  # surrogates too
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), _floats, _text_values)
_json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=()), max_size=4), inner, max_size=3
        )
    ),
    max_leaves=12,
)


def _deep(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def sidecar_texts(draw: st.DrawFn) -> str:
    data = sidecar_fuzz.base_json()
    dicom = data["dicom"]
    if draw(st.booleans()):
        dicom["frame_time_ms"] = draw(_floats)
    if draw(st.booleans()):
        key = draw(st.sampled_from(["rows", "columns", "n_frames"]))
        dicom[key] = draw(st.integers(min_value=-1, max_value=200_000))
    if draw(st.booleans()):
        data["calibration"]["regions"][0]["mm_per_px_x"] = draw(_floats)
    if draw(st.booleans()):
        _manual(data, mm_per_px=draw(_floats), length_mm=draw(_floats))
        data["calibration"]["manual"]["mm_per_px"] = (
            data["calibration"]["manual"]["length_mm"] / 100
        )
    for _ in range(draw(st.integers(0, 3))):
        obj = draw(st.sampled_from(data["objects"]))
        entry = draw(st.sampled_from(obj["frames"]))
        if "points" in entry and draw(st.booleans()):
            entry["points"] = [
                [draw(st.floats(-2, 700)), draw(st.floats(-2, 500))] for _ in entry["points"]
            ]
        else:
            entry["x_value"] = draw(_json_values)
    places = [data, data["dicom"], data["calibration"], data["label_set"], *data["objects"]]
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(places))
        name = draw(st.sampled_from(["x_a", "x_b", "x_\ud800", "x_é"]))
        target[name] = (
            _deep(draw(st.integers(20, 40))) if draw(st.booleans()) else draw(_json_values)
        )
    if draw(st.booleans()):
        data["annotator"] = draw(_text_values)
    if draw(st.booleans()):
        year = draw(st.integers(1, 9999))
        decimals = draw(st.sampled_from(["", ".5", ".123456", ".9999"]))
        data["created"] = f"{year:04d}-06-07T08:09:10{decimals}Z"
    return _text(data)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=sidecar_texts())
def test_anything_load_accepts_save_writes_and_load_reads_back_equal(tmp_path: Path, text: str):
    _, problems = sidecar_fuzz.check_text(text, tmp_path)
    assert problems == []


def test_seeded_fuzz_of_sidecars_finds_nothing_load_accepts_and_save_cannot_write(
    tmp_path: Path,
):
    report = sidecar_fuzz.run(QUICK_TRIALS, seed=20251001, folder=tmp_path)
    assert report.total_trials == QUICK_TRIALS
    assert all(report.accepted[m] > 0 for m in sidecar_fuzz.MUTATIONS if m != "text")
    assert report.total_failures == 0, "\n".join(report.examples)
