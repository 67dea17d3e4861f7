"""Round trips: document -> JSON -> document is the identity, save -> load -> save is
byte-identical, and unknown keys at every level come back where they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sidecar.docs import (
    LABELS,
    LATER,
    NOW,
    empty_document,
    sample_document,
    write_json,
)
from usannotate.annotations import AnnotatedObject, Annotations, FrameSource
from usannotate.sidecar import (
    COORDINATE_SYSTEM,
    ManualCalibration,
    SidecarCalibration,
    SidecarDocument,
    SidecarReadError,
    UnknownKeys,
    WorkStatus,
    document_from_json,
    document_to_json,
    load_sidecar,
    save_sidecar,
    schema_problems,
)
from usannotate.sidecar._jsonfmt import dumps, points_json
from usannotate.sidecar.encode import writable_json

BASE = empty_document()  # loop A: 60 frames of 640 x 480
COLUMNS, ROWS, N_FRAMES = BASE.dicom.columns, BASE.dicom.rows, BASE.dicom.n_frames
KNOWN = {
    "format", "version", "coordinate_system", "dicom", "calibration", "label_set",
    "annotator", "created", "modified", "app_version", "objects", "sop_instance_uid",
    "file_name", "rows", "columns", "n_frames", "frame_time_ms", "source", "regions",
    "manual", "mm_per_px", "line", "length_mm", "name", "labels", "id", "kind", "colour",
    "shortcut", "group", "description", "label", "frames", "frame", "points",
}  # fmt: skip
# Region keys, and the optional keys of merges and saves: drawn as unknown keys, they
# would override the known ones with values of another type.
KNOWN |= {
    "bounds", "file_bounds", "spatial_format", "data_type", "units_x", "units_y",
    "mm_per_px_x", "mm_per_px_y", "reference_pixel", "conflict", "saved_by", "autosave",
    "suggestions",
}  # fmt: skip
COUNTS = {
    "polyline": st.integers(2, 7),
    "needle": st.just(2),
    "region": st.integers(3, 8),
    "point": st.just(1),
}
PROFILE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ strategies
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
unknown_keys = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k not in KNOWN), json_values, max_size=2
)
# Coordinates with at most 3 decimals (what the file keeps), 1 px margin around the image.
xs = st.integers(-1000, (COLUMNS + 1) * 1000).map(lambda k: k / 1000)
ys = st.integers(-1000, (ROWS + 1) * 1000).map(lambda k: k / 1000)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@st.composite
def annotated_objects(draw: st.DrawFn, number: int) -> tuple[AnnotatedObject, dict]:
    label_id, kind, _ = draw(st.sampled_from(LABELS))
    obj = AnnotatedObject(
        label_id,
        kind,
        id=f"o{number}-" + draw(st.text("abcdef0123456789", min_size=1, max_size=6)),
        name=draw(st.text(max_size=12)),
        extra=draw(unknown_keys),
    )
    frame_extra = {}
    # A track: keyframes and tracked frames, with gap markers between some of them.
    for frame in draw(st.sets(st.integers(0, N_FRAMES - 1), max_size=4)):
        n = draw(COUNTS[kind.value])
        points = np.array(draw(st.lists(st.tuples(xs, ys), min_size=n, max_size=n)))
        source = draw(st.sampled_from([FrameSource.KEYFRAME, FrameSource.TRACKED]))
        obj.set_points(frame, points, source)
        extra = draw(unknown_keys)
        if extra:
            frame_extra[(obj.id, frame)] = extra
    for frame in draw(st.sets(st.integers(0, N_FRAMES - 1), max_size=2)):
        if frame not in obj.frames:
            obj.mark_absent(frame)
    return obj, frame_extra


@st.composite
def calibrations(draw: st.DrawFn) -> tuple[SidecarCalibration, ManualCalibration | None]:
    source = draw(st.sampled_from(["dicom", "manual", "none"]))
    regions = [{**region, **draw(unknown_keys)} for region in BASE.calibration.regions]
    manual = None
    if source == "manual":
        x0 = draw(st.integers(0, 300_000)) / 1000
        y0 = draw(ys)
        length_px = draw(st.integers(1_000, 300_000)) / 1000
        line = ((x0, y0), (round(x0 + length_px, 3), y0))
        length_mm = round(draw(st.floats(1, 100)), 6)
        auto = ManualCalibration.from_line(line, length_mm)
        manual = ManualCalibration(round(auto.mm_per_px, 9), line, length_mm)
    return SidecarCalibration(source, regions if source == "dicom" else []), manual


@st.composite
def documents(draw: st.DrawFn) -> SidecarDocument:
    base = BASE
    objects, frame_extra = [], {}
    for number in range(draw(st.integers(0, 5))):
        obj, extra = draw(annotated_objects(number))
        objects.append(obj)
        frame_extra.update(extra)
    label_extra = {}
    for label in base.label_set:
        extra = draw(unknown_keys)
        if extra:
            label_extra[label.id] = extra
    calibration, manual = draw(calibrations())
    return SidecarDocument(
        annotations=Annotations(base.label_set, objects, manual_calibration=manual),
        dicom=base.dicom,
        calibration=calibration,
        annotator=draw(st.text(max_size=20)),
        created=draw(moments),
        modified=draw(moments),
        app_version=draw(st.text(max_size=8)),
        extra=UnknownKeys(
            top=draw(unknown_keys),
            dicom=draw(unknown_keys),
            calibration=draw(unknown_keys),
            manual=draw(unknown_keys) if manual else {},
            label_set=draw(unknown_keys),
            labels=label_extra,
            frames=frame_extra,
        ),
    )


# ----------------------------------------------------------------------- tests
@PROFILE
@given(documents())
def test_from_json_of_to_json_is_the_same_document(doc: SidecarDocument):
    data = document_to_json(doc)
    assert schema_problems(data) == []
    assert schema_problems(data, exhaustive=True) == []
    again = document_from_json(json.loads(json.dumps(data)), path="x.usannotate.json")
    assert again == doc
    assert document_to_json(again) == data


@PROFILE
@given(documents())
def test_save_load_save_gives_identical_bytes(tmp_path_factory, doc: SidecarDocument):
    folder = tmp_path_factory.mktemp("rt")
    first, second = folder / "a.usannotate.json", folder / "b.usannotate.json"
    save_sidecar(doc, first, now=NOW)
    loaded = load_sidecar(first)
    save_sidecar(loaded, second, now=NOW)
    assert first.read_bytes() == second.read_bytes()
    assert loaded == doc  # save changed doc.modified to NOW, as it did loaded's
    # The fast writer's text is the generic writer's text of the same document.
    assert first.read_bytes() == dumps(document_to_json(loaded)).encode("utf-8")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.floats(-1e13, 1e13, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False)
            ),
            min_size=1,
            max_size=6,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_bulk_point_text_equals_json_of_the_rounded_floats(point_lists):
    arrays = [np.array(points, dtype=np.float64) for points in point_lists]
    expected = [
        json.dumps((np.round(a, 3) + 0.0).tolist(), separators=(", ", ": ")) for a in arrays
    ]
    assert points_json(arrays) == expected


def test_coordinates_are_rounded_to_3_decimals_and_rounding_is_stable():
    doc = sample_document(n_frames=1)
    doc.annotations.objects[1].set_points(0, [[10.123456, 20.0004], [-0.0004, 479.99951]])
    data = document_to_json(doc)
    assert data["objects"][1]["frames"][0]["points"] == [[10.123, 20.0], [0.0, 480.0]]
    again = document_to_json(document_from_json(data))
    assert again == data
    assert "-0.0" not in dumps(data)


@PROFILE
@given(st.lists(st.tuples(st.floats(0, 640), st.floats(0, 480)), min_size=2, max_size=2))
def test_any_float_points_reach_a_fixed_point_after_one_save(points):
    doc = sample_document(n_frames=1)
    doc.annotations.objects[1].set_points(0, points)
    once = document_from_json(document_to_json(doc))
    assert document_from_json(document_to_json(once)) == once


def test_unknown_keys_at_every_level_survive_load_and_save(tmp_path: Path):
    data = document_to_json(sample_document(n_frames=2))
    data["zz_top"] = {"nested": [1, 2.5, None, "é"]}
    data["dicom"]["x_dicom"] = "kept"
    data["calibration"]["x_calibration"] = [1, 2]
    data["calibration"]["regions"][0]["x_region"] = {"a": True}
    data["label_set"]["x_label_set"] = 7
    data["label_set"]["labels"][2]["x_label"] = "fluid note"
    data["objects"][1]["x_object"] = {"reviewed": False}
    data["objects"][1]["frames"][1]["x_frame"] = {"confidence": 0.93}
    path = tmp_path / "a.usannotate.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    doc = load_sidecar(path)
    assert doc.extra.top == {"zz_top": {"nested": [1, 2.5, None, "é"]}}
    assert doc.annotations.objects[1].extra == {"x_object": {"reviewed": False}}
    assert doc.extra.frames == {("obj1", 1): {"x_frame": {"confidence": 0.93}}}
    save_sidecar(doc, path, now=LATER)
    saved = json.loads(path.read_text(encoding="utf-8"))
    data["modified"] = "2025-03-14T10:00:00.000Z"
    assert saved == data
    # Known keys first in their documented order, unknown ones after them.
    assert list(saved)[-2:] == ["objects", "zz_top"]
    assert list(saved["objects"][1]["frames"][1]) == ["frame", "source", "points", "x_frame"]


def test_the_file_layout_is_readable_and_deterministic(tmp_path: Path):
    doc = sample_document(n_frames=2)
    a, b = tmp_path / "a.usannotate.json", tmp_path / "b.usannotate.json"
    save_sidecar(doc, a, now=NOW)
    save_sidecar(doc, b, now=NOW)
    text = a.read_text(encoding="utf-8")
    assert a.read_bytes() == b.read_bytes()
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    assert text.startswith('{\n  "format": "usannotate-sidecar",\n  "version": 3,\n')
    assert json.loads(text)["coordinate_system"] == COORDINATE_SYSTEM
    assert '"name": "Fascia.Superficial · é"' in text  # ensure_ascii=False
    # One line per frame entry of each object, keys in the documented order.
    assert '        {"frame": 0, "source": "keyframe", "points": [[' in text
    assert '"modified": "2025-03-14T09:26:53.589Z"' in text
    assert list(json.loads(text)) == [
        "format", "version", "coordinate_system", "dicom", "calibration", "label_set",
        "annotator", "created", "modified", "app_version", "status", "objects",
    ]  # fmt: skip


def test_writer_refuses_values_json_cannot_hold(tmp_path: Path):
    doc = sample_document(n_frames=1)
    doc.extra.top["bad"] = float("nan")
    from usannotate.sidecar import SidecarWriteError

    with pytest.raises(SidecarWriteError, match=r"not saved: bad: not a number \(NaN\)"):
        save_sidecar(doc, tmp_path / "a.usannotate.json")
    assert not any(tmp_path.iterdir())


def test_writable_json_matches_to_json_apart_from_point_text():
    doc = sample_document(n_frames=3)
    fast: dict[str, Any] = writable_json(doc)
    assert dumps(fast) == dumps(document_to_json(doc))


# ------------------------------------------------------------------------ tracks
def _track_document() -> SidecarDocument:
    doc = sample_document(n_frames=0)
    needle, fluid = doc.annotations.objects[1], doc.annotations.objects[2]
    needle.set_points(10, [(110.0, 156.0), (185.0, 199.0)])
    needle.set_points(20, [(110.0, 156.0), (316.0, 275.0)])
    for frame, tip_x in ((21, 330.0), (22, 340.0)):
        needle.set_points(frame, [(110.0, 156.0), (tip_x, 285.0)], FrameSource.TRACKED)
    fluid.set_points(30, [(340, 290), (380, 292), (360, 300)])
    fluid.set_points(40, [(330, 288), (360, 286), (400, 290), (390, 305), (340, 304)])
    fluid.mark_absent(45)  # out of view, then back
    fluid.set_points(50, [(330, 288), (400, 290), (360, 310)])
    return doc


def test_tracks_survive_a_round_trip_with_their_sources(tmp_path: Path):
    doc = _track_document()
    path = tmp_path / "a.usannotate.json"
    save_sidecar(doc, path, now=LATER)
    data = json.loads(path.read_text(encoding="utf-8"))
    needle_entries = data["objects"][1]["frames"]
    assert [(e["frame"], e["source"]) for e in needle_entries] == [
        (10, "keyframe"),
        *((f, "interpolated") for f in range(11, 20)),
        (20, "keyframe"),
        (21, "tracked"),
        (22, "tracked"),
    ]
    # Every frame where the object exists has its points, so readers need no interpolation.
    assert needle_entries[5]["points"] == [[110.0, 156.0], [250.5, 237.0]]
    fluid_entries = {e["frame"]: e for e in data["objects"][2]["frames"]}
    assert fluid_entries[45] == {"frame": 45, "source": "absent"}
    assert 44 not in fluid_entries  # the gap: no interpolation across it
    assert 46 not in fluid_entries
    assert len(fluid_entries[35]["points"]) >= 5  # different point counts blend

    loaded = load_sidecar(path)
    assert loaded.annotations.objects[1].tracked == {21, 22}
    assert loaded.annotations.objects[2].absent == {45}
    assert sorted(loaded.annotations.objects[1].frames) == [10, 20, 21, 22]  # not stored
    np.testing.assert_allclose(
        loaded.annotations.objects[1].points(15), doc.annotations.objects[1].points(15)
    )
    save_sidecar(loaded, tmp_path / "b.usannotate.json", now=LATER)
    assert (tmp_path / "b.usannotate.json").read_bytes() == path.read_bytes()


def test_interpolated_entries_are_recomputed_not_trusted(tmp_path: Path):
    data = document_to_json(_track_document())
    entries = data["objects"][1]["frames"]
    entries[3]["points"] = [[0.0, 0.0], [1.0, 1.0]]  # a script's stale interpolated entry
    del entries[5]  # ... or one it dropped
    doc = load_sidecar(write_json(tmp_path / "a.usannotate.json", data))
    np.testing.assert_allclose(doc.annotations.objects[1].points(13)[1], (224.3, 221.8))
    assert doc.annotations.objects[1].source(15) == "interpolated"


def test_version_1_files_keep_their_meaning(tmp_path: Path):
    """Version 1 had no interpolation: an object listed on frames 3 and 8 was on those two
    frames only. Read as a track it must not appear on frames 4 to 7."""
    data = document_to_json(sample_document(n_frames=0))
    data["version"] = 1
    data["objects"][1]["frames"] = [
        {"frame": 3, "points": [[10.0, 10.0], [50.0, 40.0]]},
        {"frame": 4, "points": [[10.0, 10.0], [60.0, 45.0]]},
        {"frame": 8, "points": [[10.0, 10.0], [90.0, 60.0]], "x_note": "kept"},
    ]
    doc = load_sidecar(write_json(tmp_path / "old.usannotate.json", data))
    needle = doc.annotations.objects[1]
    assert sorted(needle.frame_sources()) == [3, 4, 8]
    assert needle.points(6) is None
    assert doc.format_version == 3
    assert not doc.read_only
    saved = document_to_json(doc)
    assert saved["version"] == 3
    assert [(e["frame"], e["source"]) for e in saved["objects"][1]["frames"]] == [
        (3, "keyframe"),
        (4, "keyframe"),
        (5, "absent"),
        (8, "keyframe"),
    ]
    assert saved["objects"][1]["frames"][3]["x_note"] == "kept"


def _refused(tmp_path: Path, data: dict[str, Any], start: str, *words: str) -> None:
    """Loading ``data`` fails with a problem at JSON path ``start`` naming ``words``."""
    with pytest.raises(SidecarReadError) as caught:
        load_sidecar(write_json(tmp_path / "a.usannotate.json", data))
    problems = caught.value.problems
    assert any(p.startswith(start) and all(w in p for w in words) for p in problems), problems


def test_a_gap_entry_with_points_is_refused_with_its_path(tmp_path: Path):
    data = document_to_json(_track_document())
    gap = next(e for e in data["objects"][2]["frames"] if e["source"] == "absent")
    gap["points"] = [[1.0, 1.0]]
    _refused(tmp_path, data, "objects[2].frames[", 'a gap entry ("source": "absent") has no points')


def test_an_object_of_only_interpolated_entries_is_refused(tmp_path: Path):
    data = document_to_json(_track_document())
    data["objects"][1]["frames"] = [
        e for e in data["objects"][1]["frames"] if e["source"] == "interpolated"
    ]
    _refused(tmp_path, data, "objects[1].frames: only interpolated entries")


def test_an_unknown_source_is_refused(tmp_path: Path):
    data = document_to_json(_track_document())
    data["objects"][1]["frames"][0]["source"] = "guessed"
    _refused(tmp_path, data, "objects[1].frames[0].source:", "guessed")


def test_a_version_1_files_own_source_key_is_kept_not_read(tmp_path: Path):
    """Version 1 knew no ``source``: a script's own key of that name is kept aside (as
    ``v1_source``), never read as a keyframe, tracked or gap entry."""
    data = document_to_json(sample_document(n_frames=2))
    data["version"] = 1
    for entry in data["objects"][1]["frames"]:
        del entry["source"]
    data["objects"][1]["frames"][0]["source"] = "absent"
    data["objects"][1]["frames"][1]["source"] = "manual"
    doc = load_sidecar(write_json(tmp_path / "old.usannotate.json", data))
    needle = doc.annotations.objects[1]
    assert sorted(needle.frames) == [0, 1]
    assert needle.absent == set()
    saved = document_to_json(doc)["objects"][1]["frames"]
    assert [(e["source"], e["v1_source"]) for e in saved] == [
        ("keyframe", "absent"),
        ("keyframe", "manual"),
    ]


def test_frames_interpolated_from_unrounded_points_resave_identically(tmp_path: Path):
    """Tracking gives points with many decimals; the frames interpolated from them must be
    the same after the file is read back, or every save would change the file."""
    doc = sample_document(n_frames=0)
    fluid = doc.annotations.objects[2]
    rng = np.random.default_rng(5)
    for frame in (3, 17, 40):
        points = rng.uniform((100, 100), (500, 400), (9 + frame % 4, 2))
        fluid.set_points(frame, points, FrameSource.TRACKED if frame == 17 else "keyframe")
    first, second = tmp_path / "a.usannotate.json", tmp_path / "b.usannotate.json"
    save_sidecar(doc, first, now=LATER)
    save_sidecar(load_sidecar(first), second, now=LATER)
    assert first.read_bytes() == second.read_bytes()


# ------------------------------------------------------------ status (version 3)
@pytest.mark.parametrize("status", ["in_progress", "done", "reviewed"])
def test_status_round_trips(tmp_path: Path, status: str):
    doc = sample_document(n_frames=2)
    doc.status = WorkStatus(status)
    path = tmp_path / "loop.usannotate.json"
    save_sidecar(doc, path)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["version"] == 3
    assert written["status"] == status
    assert load_sidecar(path).status == status


@pytest.mark.parametrize("version", [1, 2])
def test_versions_1_and_2_read_as_in_progress_and_save_as_3(tmp_path: Path, version: int):
    data = document_to_json(sample_document(n_frames=0))
    data["version"] = version
    del data["status"]
    path = write_json(tmp_path / "old.usannotate.json", data)
    doc = load_sidecar(path)
    assert doc.status == WorkStatus.IN_PROGRESS
    assert doc.format_version == 3
    saved = document_to_json(doc)
    assert (saved["version"], saved["status"]) == (3, "in_progress")


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_files_own_status_key_is_kept_aside_not_read(tmp_path: Path, version: int):
    """A pipeline's own ``status`` in a version 2 file means nothing to version 3."""
    data = document_to_json(sample_document(n_frames=0))
    data["version"] = version
    data["status"] = "done"  # the pipeline's word, not a rater's
    doc = load_sidecar(write_json(tmp_path / "old.usannotate.json", data))
    assert doc.status == WorkStatus.IN_PROGRESS
    saved = document_to_json(doc)
    assert saved["status"] == "in_progress"
    assert saved[f"v{version}_status"] == "done"


def test_version_3_without_status_or_with_an_unknown_one_is_refused(tmp_path: Path):
    data = document_to_json(sample_document(n_frames=0))
    del data["status"]
    with pytest.raises(SidecarReadError, match="status"):
        load_sidecar(write_json(tmp_path / "a.usannotate.json", data))
    data["status"] = "finished"
    with pytest.raises(SidecarReadError, match="in_progress, done or reviewed"):
        load_sidecar(write_json(tmp_path / "b.usannotate.json", data))
