"""Documents, files and label sets the sidecar tests share (built here, never downloaded)."""

from __future__ import annotations

import copy
import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import usannotate
from usannotate.annotations import AnnotatedObject, Label, LabelSet, ShapeKind
from usannotate.sidecar import SidecarDocument, document_to_json, new_document

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_dicoms"
LOOP_A = SAMPLES / "hydrodissection_linear_a.dcm"
LOOP_B = SAMPLES / "hydrodissection_linear_b.dcm"
NOW = datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)
LATER = datetime(2025, 3, 14, 10, 0, 0, tzinfo=UTC)

#: (label id, kind, typical point count)
LABELS = (
    ("fascia.superficial", ShapeKind.POLYLINE, 6),
    ("needle", ShapeKind.NEEDLE, 2),
    ("fluid", ShapeKind.REGION, 8),
    ("target", ShapeKind.POINT, 1),
)


def label_set() -> LabelSet:
    colours = ("#ffcc00", "#00ff66", "#3399ff", "#ff3366")
    return LabelSet(
        "Hydrodissection — test",
        [
            Label(lid, f"{lid.title()} · é", kind, colour, str(n + 1), "group", "")
            for n, ((lid, kind, _), colour) in enumerate(zip(LABELS, colours, strict=True))
        ],
    )


@functools.cache
def _empty_document(path: Path) -> SidecarDocument:
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        return new_document(loop, label_set(), "Dr Ünal", now=NOW)


def empty_document(path: Path = LOOP_A) -> SidecarDocument:
    """A new document for a real sample loop (60 frames of 640 x 480 for loop A)."""
    return copy.deepcopy(_empty_document(path))


def sample_document(*, n_frames: int = 5, seed: int = 1) -> SidecarDocument:
    """A document for loop A with one object of each kind on ``n_frames`` frames."""
    doc = empty_document()
    rng = np.random.default_rng(seed)
    columns, rows = doc.dicom.columns, doc.dicom.rows
    for number, (label_id, kind, count) in enumerate(LABELS):
        obj = AnnotatedObject(label_id, kind, id=f"obj{number}", name=f"{label_id} № {number}")
        for frame in range(n_frames):
            points = rng.uniform(0, 1, (count, 2)) * (columns, rows)
            obj.set_points(frame, np.round(points, 3))
        doc.annotations.add(obj)
    return doc


def good_json() -> dict[str, Any]:
    """A valid sidecar's JSON (objects[0] polyline, [1] needle, [2] region, [3] point)."""
    return document_to_json(sample_document())


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
