"""The label set's attributes as CVAT ``<attribute>``s, both ways (no Qt).

Each label of the CVAT meta declares the attributes its marks may have
(:meth:`~usannotate.annotations.details.Definitions.attributes_of`): a per-frame one
(``tip_visible``) is ``mutable`` (CVAT lets it change along the track), a per-track one
(``confidence``) is not. A choice is a ``select`` of its choices and yes/no a ``select``
of ``true`` / ``false``, each with CVAT's ``__undefined__`` first (the default: a value
never set stays unset); a number and a free-text choice are ``text`` (CVAT's ``number``
needs a value, so an unset one could not stay unset).

Every shape of a track carries each attribute's value on its frame (a per-frame value
as it holds there). A per-frame value set on a frame where the track has no stored shape
goes out on a ``keyframe="0"`` shape there (CVAT's own form of an interpolated frame:
the import reads its attributes and leaves its points to the interpolation). The
attribute names ``tracked``, ``track_id``, ``name`` and ``kind`` are the exporter's own;
a label set attribute of one of those names is not written.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from usannotate.annotations import AnnotatedObject, Annotations
from usannotate.annotations.details import (
    DetailError,
    FieldDef,
    FieldType,
    LoopDetails,
    attribute_value,
)
from usannotate.export._common import ExportError

__all__ = [
    "RESERVED",
    "UNDEFINED",
    "apply_read_attributes",
    "attribute_change_frames",
    "declare_attributes",
    "shape_attributes",
]

#: CVAT's value of a select nobody chose.
UNDEFINED = "__undefined__"
#: The exporter's own attribute names (see :mod:`usannotate.export.cvat`).
RESERVED = frozenset({"tracked", "track_id", "name", "kind"})


def _fields(details: LoopDetails, label_id: str) -> list[FieldDef]:
    return [f for f in details.definitions.attributes_of(label_id) if f.id not in RESERVED]


def _spec(f: FieldDef) -> tuple[str, list[str]]:
    if f.type is FieldType.YES_NO:
        return "select", [UNDEFINED, "true", "false"]
    if f.type is FieldType.CHOICE and not f.free_text:
        return "select", [UNDEFINED, *f.choices]
    return "text", [""]


def declare_attributes(specs: ET.Element, details: LoopDetails, label_id: str) -> None:
    """Add the ``<attribute>`` declarations of ``label_id``'s marks to a label's
    ``<attributes>``."""
    for f in _fields(details, label_id):
        input_type, values = _spec(f)
        spec = ET.SubElement(specs, "attribute")
        for tag, text in (
            ("name", f.id),
            ("mutable", "True" if f.per_frame else "False"),
            ("input_type", input_type),
            ("default_value", values[0]),
            ("values", "\n".join(values)),
        ):
            ET.SubElement(spec, tag).text = text


def _text(f: FieldDef, value: Any) -> str:
    if value is None:
        return UNDEFINED if _spec(f)[0] == "select" else ""
    if f.type is FieldType.YES_NO:
        return "true" if value else "false"
    return str(value)


def shape_attributes(
    shape: ET.Element, details: LoopDetails, obj: AnnotatedObject, frame: int
) -> None:
    """Add the object's attribute values on ``frame`` to its CVAT ``shape``."""
    for f in _fields(details, obj.label_id):
        value = attribute_value(details, obj.id, f.id, frame if f.per_frame else None)
        ET.SubElement(shape, "attribute", {"name": f.id}).text = _text(f, value)


def attribute_change_frames(details: LoopDetails, obj: AnnotatedObject) -> set[int]:
    """The frames where one of the object's per-frame attributes was set."""
    frames: set[int] = set()
    for value in details.attributes.get(obj.id, {}).values():
        if isinstance(value, dict):
            frames.update(int(f) for f in value)
    return frames


def _parse(f: FieldDef, text: str, where: str) -> Any:
    if text in ("", UNDEFINED):
        return None
    if f.type is FieldType.YES_NO and text.lower() in ("true", "false"):
        text = "yes" if text.lower() == "true" else "no"
    try:
        return f.check(text)
    except DetailError as exc:
        raise ExportError(f"{where}: {exc}") from None


def apply_read_attributes(
    annotations: Annotations,
    pairs: Iterable[tuple[AnnotatedObject, list[tuple[int, dict[str, str]]], str]],
) -> None:
    """Give the imported objects their attributes: for each ``(object, [(frame, {name:
    text})] in frame order, where)``, a per-track value from its first shape, a per-frame
    one on each frame where its value changes (a step, as the sidecar keeps it).
    Attributes the label set does not define for the label are ignored (CVAT adds its
    own).

    Raises
    ------
    ExportError
        A value is not allowed (the message names the track, the field and the allowed
        values).
    """
    details = annotations.details
    attributes = dict(details.attributes)
    for obj, shapes, where in pairs:
        own: dict[str, Any] = {}
        for f in _fields(details, obj.label_id):
            seen = [(frame, values[f.id]) for frame, values in shapes if f.id in values]
            if not seen:
                continue
            if not f.per_frame:
                value = _parse(f, seen[0][1], where)
                if value is not None:
                    own[f.id] = value
                continue
            steps: dict[int, Any] = {}
            before: Any = None
            for frame, text in seen:
                value = _parse(f, text, f"{where}, frame {frame}")
                if value is not None and value != before:
                    steps[frame] = value
                before = value if value is not None else before
            if steps:
                own[f.id] = steps
        if own:
            attributes[obj.id] = own
    details.attributes = attributes
