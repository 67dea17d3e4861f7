"""A sidecar document as the JSON structure of resources/SIDECAR.md (version 3).

Stable key order (the known keys in the order of :mod:`~usannotate.sidecar._keys`, then
unknown ones sorted by name), coordinates rounded to 3 decimals, frame entries sorted by
frame, interpolated entries written for readers; so that a document written twice gives
the same bytes and diffs stay readable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.labels import label_to_json
from usannotate.cine.calibration import ManualCalibration
from usannotate.sidecar._details_json import (
    attributes_json,
    label_set_details_json,
    top_details_json,
)
from usannotate.sidecar._jsonfmt import RawJSON
from usannotate.sidecar._keys import ABSENT, REGION_KEYS
from usannotate.sidecar._streamed import StreamedFrames
from usannotate.sidecar._suggestions import suggestions_json
from usannotate.sidecar._timestamps import format_timestamp
from usannotate.sidecar.document import (
    COORDINATE_DECIMALS,
    COORDINATE_SYSTEM,
    FORMAT,
    SidecarDocument,
    written_calibration,
)

__all__ = [
    "document_to_json",
    "round_points",
    "schema_view",
    "with_frame_entries",
    "writable_json",
]


def document_to_json(doc: SidecarDocument) -> dict[str, Any]:
    """The document as the sidecar's JSON structure (key order as written).

    Coordinates are rounded to 3 decimals; frame entries are sorted by frame;
    unknown keys follow the known ones at each level, sorted by name.

    Raises
    ------
    ValueError
        An unknown key (in ``extra``) has the name of a key this version writes.
    """
    return _json(doc, raw_points=False)


def writable_json(doc: SidecarDocument) -> dict[str, Any]:
    """:func:`document_to_json` for saving: each object's ``frames`` a
    :class:`~usannotate.sidecar._streamed.StreamedFrames`, whose points are ready-made
    JSON text and whose interpolated entries are made while the file is written.

    Only for documents whose :func:`~usannotate.sidecar.validate.consistency_problems`
    is empty (points finite, ``(N, 2)``): the text is made in bulk, much faster than
    from Python floats.
    """
    return _json(doc, raw_points=True)


def _json(doc: SidecarDocument, *, raw_points: bool) -> dict[str, Any]:
    extra = doc.extra
    label_set = doc.annotations.label_set
    details = doc.annotations.details
    source, manual = written_calibration(doc)
    data = {
        "format": FORMAT,
        "version": doc.format_version,
        "coordinate_system": COORDINATE_SYSTEM,
        "dicom": _with_extra(
            {
                "sop_instance_uid": doc.dicom.sop_instance_uid,
                "file_name": doc.dicom.file_name,
                "rows": int(doc.dicom.rows),
                "columns": int(doc.dicom.columns),
                "n_frames": int(doc.dicom.n_frames),
                "frame_time_ms": round(float(doc.dicom.frame_time_ms), 6),
            },
            extra.dicom,
        ),
        "calibration": _with_extra(
            {
                "source": source,
                "regions": [_ordered(region, REGION_KEYS) for region in doc.calibration.regions],
                "manual": _manual_json(manual, extra.manual),
            },
            extra.calibration,
        ),
        "label_set": _with_extra(
            {
                "name": label_set.name,
                "labels": [
                    _with_extra(label_to_json(label), extra.labels.get(label.id, {}))
                    for label in label_set.labels
                ],
                **label_set_details_json(details),
            },
            extra.label_set,
        ),
        "annotator": doc.annotator,
        "created": format_timestamp(doc.created),
        "modified": format_timestamp(doc.modified),
        "app_version": doc.app_version,
        "status": str(doc.status),
        **top_details_json(doc.annotations.details),
        "objects": [
            _object_json(obj, extra.frames, raw_points, attributes_json(details, obj))
            for obj in doc.annotations.objects
        ],
        **suggestions_json(doc.annotations.suggestions),
    }
    return _with_extra(data, extra.top)


_PLACEHOLDER_POINTS = [[0.0, 0.0]]


def schema_view(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` of :func:`writable_json` as jsonschema can check it: every frame's points
    replaced by a one-point placeholder (the arrays themselves are checked, more
    strictly, by :func:`~usannotate.sidecar.validate.consistency_problems`)."""
    return with_frame_entries(
        data,
        lambda e: {**e, "points": _PLACEHOLDER_POINTS} if type(e.get("points")) is RawJSON else e,
    )


def with_frame_entries(
    data: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``data`` with ``change`` applied to every frame entry (a JSON object) of every
    object; ``data`` itself is not modified, and whatever is not an entry is shared."""
    objects = data.get("objects")
    if not isinstance(objects, list):
        return data
    changed = []
    for obj in objects:
        frames = obj.get("frames") if isinstance(obj, dict) else None
        if isinstance(frames, StreamedFrames):
            frames = frames.checked_entries()
        if isinstance(frames, list):
            frames = [change(e) if isinstance(e, dict) else e for e in frames]
            obj = {**obj, "frames": frames}
        changed.append(obj)
    return {**data, "objects": changed}


def round_points(array: np.ndarray) -> np.ndarray:
    """``(N, 2)`` points rounded as a save writes them (to :data:`COORDINATE_DECIMALS`)."""
    # + 0.0 turns -0.0 into 0.0, so that a point on the border is written one way.
    # Beyond 1e305 px rounding overflows to infinity: such points are refused anyway.
    with np.errstate(over="ignore", invalid="ignore"):
        return np.round(np.asarray(array, dtype=np.float64), COORDINATE_DECIMALS) + 0.0


# ---------------------------------------------------------------- JSON helpers
def _with_extra(known: dict[str, Any], unknown: dict[str, Any]) -> dict[str, Any]:
    for key in sorted(unknown):
        if key in known:
            raise ValueError(f"the unknown key {key!r} has the name of a sidecar key")
        known[key] = unknown[key]
    return known


def _ordered(mapping: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``mapping`` with ``keys`` first, in that order, then the others sorted."""
    keys = [k for k in keys if k in mapping]
    return {
        **{k: mapping[k] for k in keys},
        **{k: mapping[k] for k in sorted(mapping) if k not in keys},
    }


def _manual_json(manual: ManualCalibration | None, unknown: dict[str, Any]) -> dict | None:
    if manual is None:
        return None
    return _with_extra(
        {
            "mm_per_px": round(float(manual.mm_per_px), 9),
            "line": round_points(np.array(manual.line, dtype=np.float64)).tolist(),
            "length_mm": round(float(manual.length_mm), 6),
        },
        unknown,
    )


def _object_json(
    obj: AnnotatedObject,
    frame_extra: dict[tuple[str, int], dict[str, Any]],
    raw_points: bool,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    # For saving, interpolated entries are made while the file is written.
    frames: list[dict[str, Any]] | StreamedFrames = (
        StreamedFrames(obj, frame_extra) if raw_points else _frame_entries(obj, frame_extra)
    )
    return _with_extra(
        {
            "id": obj.id,
            "label": obj.label_id,
            "name": obj.name,
            "kind": ShapeKind(obj.kind).value,
            **({"attributes": attributes} if attributes else {}),
            "frames": frames,
        },
        obj.extra,
    )


def _frame_entries(
    obj: AnnotatedObject, frame_extra: dict[tuple[str, int], dict[str, Any]]
) -> list[dict[str, Any]]:
    geometry = obj.all_geometry()  # stored frames, and those interpolated for readers
    shown = list(geometry)
    arrays = [points for points, _ in geometry.values()]
    sources = {frame: source for frame, (_, source) in geometry.items()}
    # One rounding and one tolist() per object: 600 small numpy calls cost more.
    flat = round_points(np.concatenate(arrays)).tolist() if arrays else []
    ends = np.cumsum([len(a) for a in arrays]).tolist()
    point_values = [flat[start:end] for start, end in zip([0, *ends], ends, strict=False)]
    entries: dict[int, dict[str, Any]] = {}
    for frame, points in zip(shown, point_values, strict=True):
        entry = {"frame": int(frame), "source": sources[frame].value, "points": points}
        unknown = frame_extra.get((obj.id, frame))
        entries[frame] = _with_extra(entry, unknown) if unknown else entry
    for frame in obj.absent:
        entry = {"frame": int(frame), "source": ABSENT}
        unknown = frame_extra.get((obj.id, frame))
        entries[frame] = _with_extra(entry, unknown) if unknown else entry
    return [entries[f] for f in sorted(entries)]
