"""A loop's details as the sidecar writes and reads them.

``case``, ``events``, ``comments`` (top level), the label set's ``case_fields`` /
``attributes`` / ``event_types`` and each object's ``attributes`` (all optional: a file
without them reads as before; see SIDECAR.md).
"""

from __future__ import annotations

from typing import Any

from usannotate.annotations.details import (
    Comment,
    DetailError,
    Event,
    LoopDetails,
    definitions_from_json,
    definitions_to_json,
)
from usannotate.annotations.model import AnnotatedObject

__all__ = [
    "DETAIL_TOP_KEYS",
    "LABEL_SET_DETAIL_KEYS",
    "attributes_json",
    "details_from_json",
    "label_set_details_json",
    "top_details_json",
]

DETAIL_TOP_KEYS = ("case", "events", "comments")
LABEL_SET_DETAIL_KEYS = ("case_fields", "attributes", "event_types")


def top_details_json(details: LoopDetails) -> dict[str, Any]:
    """``case``, ``events`` and ``comments``, each only when it holds something."""
    out: dict[str, Any] = {}
    if details.case:
        fields = [f.id for f in details.definitions.case_fields]
        order = [k for k in fields if k in details.case] + sorted(
            k for k in details.case if k not in fields
        )
        out["case"] = {k: details.case[k] for k in order}
    if details.events:
        out["events"] = [
            {"id": e.id, "type": e.type, "frame": e.frame} for e in details.events_sorted()
        ]
    if details.comments:
        out["comments"] = [_comment_json(c) for c in details.comments]
    return out


def _comment_json(comment: Comment) -> dict[str, Any]:
    data: dict[str, Any] = {"id": comment.id, "text": comment.text, "author": comment.author}
    data["time"] = comment.time
    if comment.frame is not None:
        data["frame"] = comment.frame
    if comment.object_id is not None:
        data["object"] = comment.object_id
    return data


def label_set_details_json(details: LoopDetails) -> dict[str, Any]:
    """The definitions that differ from the defaults (nothing for the default set)."""
    return definitions_to_json(details.definitions)


def attributes_json(details: LoopDetails, obj: AnnotatedObject) -> dict[str, Any] | None:
    """An object's ``attributes``: ``{name: value}``, a per-frame one as ``[[frame,
    value], ...]`` in frame order; None when it has none."""
    own = details.attributes.get(obj.id)
    if not own:
        return None
    out: dict[str, Any] = {}
    for name in sorted(own):
        value = own[name]
        out[name] = [[f, value[f]] for f in sorted(value)] if isinstance(value, dict) else value
    return out


def details_from_json(
    data: dict[str, Any], objects: list[AnnotatedObject], raw_attributes: list[Any]
) -> tuple[LoopDetails, list[str]]:
    """The details of a schema-valid file, and the problems (``"<json path>: <what>"``)
    of values their fields do not allow. ``raw_attributes``: each object's ``attributes``
    value (None when it has none), in file order."""
    problems: list[str] = []
    try:
        definitions = definitions_from_json(data["label_set"], "label_set")
    except DetailError as exc:
        return LoopDetails(), [str(exc)]
    details = LoopDetails(definitions)
    for key, value in (data.get("case") or {}).items():
        try:
            checked = definitions.case_field(key).check(value)
        except DetailError as exc:
            problems.append(f"case.{key}: {exc}")
            continue
        if checked is not None:
            details.case[key] = checked
    for i, item in enumerate(data.get("events") or []):
        try:
            details.events.append(Event(item["type"], item["frame"], item["id"]))
        except (DetailError, KeyError, TypeError) as exc:
            problems.append(f"events[{i}]: {exc}")
    ids = {o.id for o in objects}
    for i, item in enumerate(data.get("comments") or []):
        try:
            comment = Comment(
                item["text"],
                item.get("author", ""),
                item["time"],
                item.get("frame"),
                item.get("object"),
                item["id"],
            )
        except (DetailError, KeyError, TypeError) as exc:
            problems.append(f"comments[{i}]: {exc}")
            continue
        if comment.object_id is not None and comment.object_id not in ids:
            problems.append(f"comments[{i}].object: no object {comment.object_id!r}")
            continue
        details.comments.append(comment)
    for index, (obj, raw) in enumerate(zip(objects, raw_attributes, strict=True)):
        if not raw:
            continue
        own: dict[str, Any] = {}
        for name, value in raw.items():
            where = f"objects[{index}].attributes.{name}"
            try:
                definition = definitions.attribute(obj.label_id, name)
                if definition.per_frame != isinstance(value, list):
                    how = "per frame ([[frame, value], ...])" if definition.per_frame else "once"
                    raise DetailError(f"{definition.title} is set {how}")
                if isinstance(value, list):
                    own[name] = {int(f): definition.check(v) for f, v in value}
                else:
                    own[name] = definition.check(value)
            except (DetailError, TypeError, ValueError) as exc:
                problems.append(f"{where}: {exc}")
        if own:
            details.attributes[obj.id] = own
    details.events = details.events_sorted()
    return details, problems
