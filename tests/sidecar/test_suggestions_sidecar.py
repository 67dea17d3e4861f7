"""Suggestions in the sidecar (issue 15): saved with source "suggested" in their own list,
read back, refused with a clear message when malformed, never taken for marks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.sidecar.docs import LOOP_A, empty_document, sample_document
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.suggestions import SuggestedMark
from usannotate.sidecar import (
    SidecarReadError,
    document_from_json,
    document_to_json,
    load_sidecar,
    save_sidecar,
    schema_problems,
)

NEEDLE = np.array([[110.0, 156.3], [148.31, 178.4]])


def _with_suggestions():
    doc = sample_document()
    plane = doc.annotations.objects[0]
    frame = min(plane.frames)
    doc.annotations.suggestions = [
        SuggestedMark("needle", "needle", 7, NEEDLE, "found"),
        SuggestedMark(
            plane.label_id,
            plane.kind,
            frame,
            plane.frames[frame] + [0.0, 1.5],
            "snapped to the ridge",
            replaces=plane.id,
        ),
    ]
    return doc


def test_suggestions_are_saved_with_source_suggested_and_read_back(tmp_path) -> None:
    doc = _with_suggestions()
    path = tmp_path / "loop.usannotate.json"
    save_sidecar(doc, path)
    data = json.loads(path.read_text("utf-8"))
    found, snapped = data["suggestions"]
    assert found["frames"] == [{"frame": 7, "source": "suggested", "points": NEEDLE.tolist()}]
    assert found["suggested_by"] == "found"
    assert "replaces" not in found
    assert snapped["replaces"] == doc.annotations.objects[0].id
    # Not among the marks: a reader of objects sees no suggested frame.
    assert all(entry["source"] != "suggested" for obj in data["objects"] for entry in obj["frames"])
    assert not schema_problems(data)
    back = load_sidecar(path)
    assert back.annotations.suggestions == doc.annotations.suggestions
    assert back.annotations.objects == doc.annotations.objects


def test_a_file_without_suggestions_has_no_suggestions_key() -> None:
    assert "suggestions" not in document_to_json(sample_document())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s[0].update(label="no.such"), r"suggestions\[0\]\.label: 'no.such'"),
        (lambda s: s[0]["frames"][0].update(source="keyframe"), r'source: must be "suggested"'),
        (lambda s: s[0]["frames"][0].update(frame=600), r"frames\[0\]\.frame: must be 0 to 59"),
        (lambda s: s[0]["frames"][0].update(points=[[1, 2]]), r"exactly two"),
        (lambda s: s[0].update(kind="region"), r"suggestions\[0\]\.kind"),
    ],
)
def test_a_malformed_suggestion_is_refused_with_its_json_path(change, message) -> None:
    data = document_to_json(_with_suggestions())
    change(data["suggestions"])
    with pytest.raises(SidecarReadError, match=message):
        document_from_json(data)


def test_a_suggested_frame_among_the_marks_is_refused() -> None:
    data = document_to_json(sample_document())
    data["objects"][1]["frames"][0]["source"] = "suggested"
    with pytest.raises(SidecarReadError, match=r"objects\[1\]\.frames\[0\]\.source"):
        document_from_json(data)


def _measured(tmp_path, doc) -> str:
    folder = tmp_path / ("accepted" if doc.annotations.objects else "suggested")
    folder.mkdir()
    loop = folder / LOOP_A.name
    loop.write_bytes(LOOP_A.read_bytes())
    save_sidecar(doc, folder / f"{LOOP_A.stem}.usannotate.json")
    out = subprocess.run(
        [sys.executable, "-m", "usannotate", "measure", str(loop), "--format", "csv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.lower()


def test_measure_leaves_suggestions_out(tmp_path) -> None:
    # A suggested needle is not measured; the same needle accepted (a keyframe) is.
    doc = empty_document()
    doc.annotations.suggestions = [SuggestedMark("needle", "needle", 7, NEEDLE, "found")]
    assert "needle" not in _measured(tmp_path, doc)
    accepted = empty_document()
    obj = AnnotatedObject("needle", ShapeKind.NEEDLE)
    obj.set_points(7, NEEDLE)
    accepted.annotations.objects.append(obj)
    assert "needle" in _measured(tmp_path, accepted)
