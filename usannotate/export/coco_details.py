"""What a COCO export says beyond the marks: attributes, case details, events (no Qt).

Each annotation's ``attributes`` gain the mark's attribute values on its frame
(``tip_visible``, ``spread``, ``confidence``: yes/no as JSON booleans, numbers as
numbers, a per-frame value as it holds on that frame; unset ones left out; the names
``track_id``, ``label_id``, ``source`` and ``keyframe`` are the exporter's own and are
never overwritten). Each image gains its loop's ``case`` details (the fields filled in)
and the ``events`` on its frame (type ids), when there are any; ``info.case_fields``
defines the case fields met (id, title, type, unit, choices).
"""

from __future__ import annotations

from typing import Any

from usannotate.annotations.details import LoopDetails, attribute_value

__all__ = ["RESERVED", "case_fields_info", "image_details", "mark_attributes"]

#: The attribute names the COCO exporter writes itself.
RESERVED = frozenset({"track_id", "label_id", "source", "keyframe"})


def mark_attributes(
    details: LoopDetails, track_id: str, label_id: str, frame: int
) -> dict[str, Any]:
    """The attribute values of track ``track_id`` (of label ``label_id``) on ``frame``."""
    out: dict[str, Any] = {}
    for f in details.definitions.attributes_of(label_id):
        if f.id in RESERVED:
            continue
        value = attribute_value(details, track_id, f.id, frame if f.per_frame else None)
        if value is not None:
            out[f.id] = value
    return out


def image_details(details: LoopDetails, frame: int) -> dict[str, Any]:
    """``{"case": {...}, "events": [...]}`` for an image of the loop (keys only when
    they hold something)."""
    out: dict[str, Any] = {}
    case = {
        f.id: details.case[f.id] for f in details.definitions.case_fields if f.id in details.case
    }
    if case:
        out["case"] = case
    events = [e.type for e in details.events_sorted() if e.frame == frame]
    if events:
        out["events"] = events
    return out


def case_fields_info(seen: dict[str, dict[str, Any]], details: LoopDetails) -> None:
    """Add the definitions of ``details``' case fields to ``seen`` (by id; the first
    loop's definition of an id is kept)."""
    for f in details.definitions.case_fields:
        if f.id not in seen:
            entry = {"id": f.id, "title": f.title, "type": f.type.value}
            if f.unit:
                entry["unit"] = f.unit
            if f.choices:
                entry["choices"] = list(f.choices)
            seen[f.id] = entry
