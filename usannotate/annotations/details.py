"""What the marks alone cannot say: case details, track attributes, events, comments (no Qt).

Glossary
--------
case detail
    One value about the whole loop (procedure, target, side, injectate...), of a field
    the label set (or the project) defines. Types: ``choice``, ``number`` (with a unit),
    ``text``, ``yes_no``. There are no date or name fields, so nothing identifying is
    collected: a field whose id or title asks for one is refused.
attribute
    One value about a track (``confidence``), or about a track on each frame
    (``tip_visible``): a per-frame value holds from the frame it was set on until the
    next frame it was changed on (a step; never interpolated).
event
    A typed frame marker: injection start / end, needle in view / lost, key image, or a
    user-defined type (any id).
comment
    Free text on the loop, a frame or a track (optionally a track on a frame), with its
    author and the time it was written (UTC).

Field definitions come from a label set file's ``case_fields``, ``attributes`` (by label
id; ``"*"`` for every label) and ``event_types``; without them the hydrodissection
defaults below apply. Values are checked by :meth:`FieldDef.check`, whose messages name
the field and the allowed values.
"""

from __future__ import annotations

import bisect
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ALL_LABELS",
    "Comment",
    "Definitions",
    "DetailError",
    "Event",
    "EventType",
    "FieldDef",
    "FieldType",
    "LoopDetails",
    "attribute_value",
    "default_definitions",
    "definitions_from_json",
    "definitions_to_json",
    "new_detail_id",
    "utc_timestamp",
]

#: The ``attributes`` key whose fields apply to every label.
ALL_LABELS = "*"
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
# Fields that would collect who the patient is or when they were seen: refused, so the
# sidecar (and every export made from it) holds nothing identifying.
_IDENTIFYING = re.compile(r"(patient|name|date|birth|\bdob\b|mrn|address|phone)", re.I)


class DetailError(ValueError):
    """A detail value, definition or target is not allowed; the message says which and why."""


class FieldType(StrEnum):
    """What a field holds (values are the file's)."""

    CHOICE = "choice"
    NUMBER = "number"
    TEXT = "text"
    YES_NO = "yes_no"


@dataclass(frozen=True)
class FieldDef:
    """One case-detail field or attribute.

    Attributes
    ----------
    id
        Machine name (lowercase ``a-z0-9_.-``), the key values are stored under.
    title
        Shown to the user.
    type
        See :class:`FieldType`.
    choices
        For ``choice``: the allowed values (ids, shown with ``_`` as spaces).
    free_text
        For ``choice``: any other text is allowed too (a target muscle not listed).
    unit
        For ``number``: the unit shown after the value (``"ml"``, ``"G"``, ``"mm"``).
    minimum, maximum
        For ``number``: inclusive bounds, or None.
    integer
        For ``number``: whole numbers only.
    per_frame
        For attributes: the value is set per frame and holds until changed.
    """

    id: str
    title: str
    type: FieldType
    choices: tuple[str, ...] = ()
    free_text: bool = False
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    per_frame: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise DetailError(
                f"field id {self.id!r} must be lowercase letters, digits, '_', '.' or '-'"
            )
        try:
            object.__setattr__(self, "type", FieldType(self.type))
        except ValueError:
            raise DetailError(
                f"field {self.id!r}: type {self.type!r} is not one of "
                f"{', '.join(t.value for t in FieldType)} (no date or name fields)"
            ) from None
        if _IDENTIFYING.search(self.id) or _IDENTIFYING.search(self.title):
            raise DetailError(
                f"field {self.id!r} ({self.title!r}) would collect a name or a date: "
                "case details never hold anything identifying"
            )
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.type is FieldType.CHOICE and not self.choices and not self.free_text:
            raise DetailError(f"field {self.id!r}: a choice needs choices or free_text")

    def allowed(self) -> str:
        """The allowed values in words (for messages and tooltips)."""
        if self.type is FieldType.CHOICE:
            listed = ", ".join(self.choices)
            return f"one of {listed}" + (" or any text" if self.free_text else "")
        if self.type is FieldType.YES_NO:
            return "yes or no"
        if self.type is FieldType.TEXT:
            return "any text"
        kind = "a whole number" if self.integer else "a number"
        low = "" if self.minimum is None else f"{_number_text(self.minimum)}"
        high = "" if self.maximum is None else f"{_number_text(self.maximum)}"
        bounds = f" from {low} to {high}" if low and high else ""
        bounds = bounds or (f" of at least {low}" if low else "")
        bounds = bounds or (f" of at most {high}" if high else "")
        return kind + bounds + (f" ({self.unit})" if self.unit else "")

    def check(self, value: object) -> str | float | bool | None:
        """``value`` as stored (text stripped, numbers as float or int), None clears it.

        Raises
        ------
        DetailError
            Naming the field and the allowed values, e.g. ``"Side: 'up' is not allowed
            (one of left, right, bilateral, midline)"``.
        """
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        bad = DetailError(f"{self.title}: {value!r} is not allowed ({self.allowed()})")
        if self.type is FieldType.YES_NO:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
                return value.strip().lower() == "yes"
            raise bad
        if self.type is FieldType.NUMBER:
            if isinstance(value, bool):
                raise bad
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise bad from None
            if not math.isfinite(number):
                raise bad
            if self.integer and number != int(number):
                raise bad
            if (self.minimum is not None and number < self.minimum) or (
                self.maximum is not None and number > self.maximum
            ):
                raise bad
            return int(number) if self.integer else number
        if not isinstance(value, str):
            raise bad
        text = value.strip()
        if self.type is FieldType.CHOICE and text not in self.choices and not self.free_text:
            raise bad
        return text

    def to_json(self) -> dict[str, Any]:
        """The definition as a label set file and a sidecar write it (defaults left out)."""
        data: dict[str, Any] = {"id": self.id, "title": self.title, "type": self.type.value}
        if self.choices:
            data["choices"] = list(self.choices)
        for key in ("free_text", "integer", "per_frame"):
            if getattr(self, key):
                data[key] = True
        if self.unit:
            data["unit"] = self.unit
        for key in ("minimum", "maximum"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_json(cls, data: object, where: str) -> FieldDef:
        """Parse one definition; :class:`DetailError` says where (``where``) and why."""
        if not isinstance(data, Mapping):
            raise DetailError(f"{where}: a field is a JSON object, not {type(data).__name__}")
        known = {
            "id",
            "title",
            "type",
            "choices",
            "free_text",
            "unit",
            "minimum",
            "maximum",
            "integer",
            "per_frame",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise DetailError(f"{where}: unknown keys {unknown} (known: {sorted(known)})")
        try:
            choices = data.get("choices", [])
            if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
                raise DetailError("choices must be a list of texts")
            return cls(
                id=data.get("id"),  # type: ignore[arg-type]
                title=str(data.get("title", data.get("id", ""))),
                type=data.get("type"),  # type: ignore[arg-type]
                choices=tuple(choices),
                free_text=bool(data.get("free_text", False)),
                unit=str(data.get("unit", "")),
                minimum=_optional_number(data.get("minimum")),
                maximum=_optional_number(data.get("maximum")),
                integer=bool(data.get("integer", False)),
                per_frame=bool(data.get("per_frame", False)),
            )
        except DetailError as exc:
            raise DetailError(f"{where}: {exc}") from None


def _optional_number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DetailError(f"{value!r} is not a number")
    return float(value)


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


@dataclass(frozen=True)
class EventType:
    """A kind of event: ``id`` (stored) and ``title`` (shown)."""

    id: str
    title: str


@dataclass(frozen=True)
class Definitions:
    """Every field a loop's details may hold: case fields, attributes per label (``"*"``
    for every label) and the event types offered (others may still be used)."""

    case_fields: tuple[FieldDef, ...] = ()
    attributes: Mapping[str, tuple[FieldDef, ...]] = field(default_factory=dict)
    event_types: tuple[EventType, ...] = ()

    def case_field(self, field_id: str) -> FieldDef:
        """The case field ``field_id``; :class:`DetailError` names the known ones."""
        for f in self.case_fields:
            if f.id == field_id:
                return f
        known = ", ".join(f.id for f in self.case_fields) or "none"
        raise DetailError(f"no case field {field_id!r} (the label set defines {known})")

    def attributes_of(self, label_id: str) -> tuple[FieldDef, ...]:
        """The attributes of marks of ``label_id``: the label's own, then those of every
        label (``"*"``)."""
        own = tuple(self.attributes.get(label_id, ()))
        ids = {f.id for f in own}
        return own + tuple(f for f in self.attributes.get(ALL_LABELS, ()) if f.id not in ids)

    def attribute(self, label_id: str, name: str) -> FieldDef:
        """The attribute ``name`` of ``label_id``'s marks; :class:`DetailError` names the
        known ones."""
        for f in self.attributes_of(label_id):
            if f.id == name:
                return f
        known = ", ".join(f.id for f in self.attributes_of(label_id)) or "none"
        raise DetailError(f"marks of {label_id!r} have no attribute {name!r} (they have {known})")

    def event_title(self, type_id: str) -> str:
        """The event type's title (a user-defined type: its id in words)."""
        for t in self.event_types:
            if t.id == type_id:
                return t.title
        return type_id.replace("_", " ")


def _choice(id_: str, title: str, choices: Sequence[str], **kw: Any) -> FieldDef:
    return FieldDef(id_, title, FieldType.CHOICE, tuple(choices), **kw)


def _number(id_: str, title: str, unit: str, low: float, high: float, **kw: Any) -> FieldDef:
    return FieldDef(id_, title, FieldType.NUMBER, unit=unit, minimum=low, maximum=high, **kw)


#: The hydrodissection set's case fields (issue 17's list).
HYDRODISSECTION_CASE_FIELDS = (
    _choice("procedure", "Procedure", ["hydrodissection", "trigger_point_injection", "other"]),
    _choice(
        "target",
        "Target",
        [
            "trapezius",
            "rhomboid",
            "levator_scapulae",
            "erector_spinae",
            "quadratus_lumborum",
            "gluteus_medius",
            "serratus_anterior",
            "thoracolumbar_fascia",
            "median_nerve_carpal_tunnel",
        ],
        free_text=True,
    ),
    _choice("side", "Side", ["left", "right", "bilateral", "midline"]),
    _choice(
        "injectate_type",
        "Injectate",
        ["saline", "dextrose_5", "local_anaesthetic", "steroid_mix", "other"],
        free_text=True,
    ),
    _number("injectate_volume_ml", "Injectate volume", "ml", 0, 100),
    _number("needle_gauge", "Needle gauge", "G", 10, 34, integer=True),
    _number("needle_length_mm", "Needle length", "mm", 1, 300),
    _choice("approach", "Approach", ["in_plane", "out_of_plane"]),
    _number("image_quality", "Image quality", "1-5", 1, 5, integer=True),
    FieldDef("teaching_case", "Teaching case", FieldType.YES_NO),
    FieldDef("teaching_title", "Teaching title", FieldType.TEXT),
    FieldDef("learning_points", "Learning points", FieldType.TEXT),
)

#: Attributes of the hydrodissection set, by label id (``"*"``: every label).
HYDRODISSECTION_ATTRIBUTES: dict[str, tuple[FieldDef, ...]] = {
    "needle": (FieldDef("tip_visible", "Tip visible", FieldType.YES_NO, per_frame=True),),
    "fluid.injectate": (
        _choice("spread", "Spread", ["along_plane", "pooling", "intramuscular"], per_frame=True),
    ),
    ALL_LABELS: (_choice("confidence", "Confidence", ["low", "medium", "high"]),),
}

#: The event types offered by default.
DEFAULT_EVENT_TYPES = (
    EventType("injection_start", "Injection start"),
    EventType("injection_end", "Injection end"),
    EventType("needle_in_view", "Needle in view"),
    EventType("needle_lost", "Needle lost"),
    EventType("key_image", "Key image"),
)


def default_definitions() -> Definitions:
    """The hydrodissection set's definitions (what a label set without any gets)."""
    return Definitions(
        HYDRODISSECTION_CASE_FIELDS, dict(HYDRODISSECTION_ATTRIBUTES), DEFAULT_EVENT_TYPES
    )


def definitions_from_json(data: Mapping[str, Any], where: str = "") -> Definitions:
    """The definitions of a label set file or a sidecar's ``label_set``: its
    ``case_fields``, ``attributes`` and ``event_types``; each one missing is the default.

    Raises
    ------
    DetailError
        A definition is malformed (the message gives its JSON path).
    """
    prefix = f"{where}." if where else ""
    defaults = default_definitions()
    case_fields = defaults.case_fields
    if "case_fields" in data:
        items = data["case_fields"]
        if not isinstance(items, list):
            raise DetailError(f"{prefix}case_fields: must be a list of fields")
        case_fields = tuple(
            FieldDef.from_json(item, f"{prefix}case_fields[{i}]") for i, item in enumerate(items)
        )
        _unique([f.id for f in case_fields], f"{prefix}case_fields")
    attributes: Mapping[str, tuple[FieldDef, ...]] = defaults.attributes
    if "attributes" in data:
        by_label = data["attributes"]
        if not isinstance(by_label, Mapping):
            raise DetailError(f"{prefix}attributes: must be an object of label id -> fields")
        parsed: dict[str, tuple[FieldDef, ...]] = {}
        for label_id, items in by_label.items():
            if not isinstance(items, list):
                raise DetailError(f"{prefix}attributes.{label_id}: must be a list of fields")
            parsed[label_id] = tuple(
                FieldDef.from_json(item, f"{prefix}attributes.{label_id}[{i}]")
                for i, item in enumerate(items)
            )
            _unique([f.id for f in parsed[label_id]], f"{prefix}attributes.{label_id}")
        attributes = parsed
    event_types = defaults.event_types
    if "event_types" in data:
        items = data["event_types"]
        if not isinstance(items, list):
            raise DetailError(f"{prefix}event_types: must be a list of {{id, title}}")
        types = []
        for i, item in enumerate(items):
            ok = isinstance(item, Mapping) and isinstance(item.get("id"), str)
            if not ok or not _ID.match(item["id"]):
                raise DetailError(
                    f"{prefix}event_types[{i}]: needs an id of lowercase letters, digits, "
                    "'_', '.' or '-'"
                )
            types.append(EventType(item["id"], str(item.get("title", item["id"]))))
        _unique([t.id for t in types], f"{prefix}event_types")
        event_types = tuple(types)
    return Definitions(case_fields, attributes, event_types)


def definitions_to_json(definitions: Definitions) -> dict[str, Any]:
    """The parts of ``definitions`` that differ from the defaults, as JSON (empty when
    they are the defaults, so files of the default set stay as they were)."""
    defaults = default_definitions()
    out: dict[str, Any] = {}
    if definitions.case_fields != defaults.case_fields:
        out["case_fields"] = [f.to_json() for f in definitions.case_fields]
    if dict(definitions.attributes) != dict(defaults.attributes):
        out["attributes"] = {
            k: [f.to_json() for f in v] for k, v in sorted(definitions.attributes.items())
        }
    if definitions.event_types != defaults.event_types:
        out["event_types"] = [{"id": t.id, "title": t.title} for t in definitions.event_types]
    return out


def _unique(ids: list[str], where: str) -> None:
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise DetailError(f"{where}: repeats {repeated}")


def new_detail_id() -> str:
    """A unique id for an event or a comment (random: no clash between raters)."""
    return uuid.uuid4().hex[:12]


def utc_timestamp(moment: datetime | None = None) -> str:
    """``moment`` (now) as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (the comments' time)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    """A typed marker on a 0-based ``frame``; ``type`` is an event type id."""

    type: str
    frame: int
    id: str = field(default_factory=new_detail_id)

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not _ID.match(self.type):
            raise DetailError(
                f"event type {self.type!r} must be lowercase letters, digits, '_', '.' or '-'"
            )
        if isinstance(self.frame, bool) or not isinstance(self.frame, int) or self.frame < 0:
            raise DetailError(f"event frame {self.frame!r} must be a frame index (0 or more)")


@dataclass(frozen=True)
class Comment:
    """Free text on the loop (``frame`` and ``object_id`` None), a frame, a track, or a
    track on a frame; ``time`` is UTC ``YYYY-MM-DDTHH:MM:SSZ``."""

    text: str
    author: str = ""
    time: str = field(default_factory=utc_timestamp)
    frame: int | None = None
    object_id: str | None = None
    id: str = field(default_factory=new_detail_id)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise DetailError("a comment needs some text")
        if self.frame is not None and (
            isinstance(self.frame, bool) or not isinstance(self.frame, int) or self.frame < 0
        ):
            raise DetailError(f"comment frame {self.frame!r} must be a frame index (0 or more)")

    @property
    def target(self) -> str:
        """``"loop"``, ``"frame"``, ``"track"`` (a track on a frame is a track comment)."""
        if self.object_id is not None:
            return "track"
        return "loop" if self.frame is None else "frame"

    def with_text(self, text: str) -> Comment:
        return replace(self, text=text)


@dataclass
class LoopDetails:
    """A loop's details: the definitions they follow and the values.

    ``attributes`` maps an object id to its attribute values by name: a per-track
    attribute holds its value, a per-frame one a ``{frame: value}`` dict of the frames
    where it was set (see :func:`attribute_value`). Dicts and lists are replaced by the
    edits of :mod:`~usannotate.annotations.detail_edits`, never changed in place by
    readers.
    """

    definitions: Definitions = field(default_factory=default_definitions)
    case: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def copy(self) -> LoopDetails:
        """A copy later edits do not change."""
        return LoopDetails(
            self.definitions,
            dict(self.case),
            list(self.events),
            list(self.comments),
            {
                k: {n: (dict(v) if isinstance(v, dict) else v) for n, v in a.items()}
                for k, a in self.attributes.items()
            },
        )

    def is_empty(self) -> bool:
        return not (self.case or self.events or self.comments or any(self.attributes.values()))

    def events_sorted(self) -> list[Event]:
        """Events in frame order (then by type)."""
        return sorted(self.events, key=lambda e: (e.frame, e.type, e.id))

    def injection_start(self) -> int | None:
        """The frame of the first ``injection_start`` event, or None."""
        frames = [e.frame for e in self.events if e.type == "injection_start"]
        return min(frames) if frames else None

    def next_event_frame(self, frame: int, step: int) -> int | None:
        """The nearest event frame after (``step`` > 0) or before ``frame``, or None."""
        frames = sorted({e.frame for e in self.events})
        if step > 0:
            i = bisect.bisect_right(frames, frame)
            return frames[i] if i < len(frames) else None
        i = bisect.bisect_left(frames, frame)
        return frames[i - 1] if i > 0 else None


def attribute_value(
    details: LoopDetails, object_id: str, name: str, frame: int | None = None
) -> Any:
    """The value of an object's attribute: a per-track one as set; a per-frame one as set
    on the last frame at or before ``frame`` where it was set (it holds until changed),
    None before the first. None when never set."""
    value = details.attributes.get(object_id, {}).get(name)
    if not isinstance(value, dict):
        return value
    if frame is None or not value:
        return None
    frames = sorted(value)
    i = bisect.bisect_right(frames, frame)
    return value[frames[i - 1]] if i > 0 else None
