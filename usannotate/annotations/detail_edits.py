"""Undoable edits of a loop's details: case values, attributes, events, comments (no Qt).

Each is an :class:`~usannotate.annotations.edits.Edit` pushed on the loop's one
``EditHistory``; values are checked when the edit is applied (a bad one raises
:class:`~usannotate.annotations.details.DetailError` and changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from usannotate.annotations.details import Comment, DetailError, Event, LoopDetails
from usannotate.annotations.edits import Edit
from usannotate.annotations.model import Annotations

__all__ = [
    "AddComment",
    "AddEvent",
    "EditComment",
    "RemoveComment",
    "RemoveEvent",
    "SetAttribute",
    "SetCaseValue",
]

_UNSET = object()


@dataclass
class SetCaseValue(Edit):
    """Set one case detail (``value`` None clears it), checked against its field."""

    field_id: str
    value: Any
    text: str = ""
    _before: Any = field(default=_UNSET, repr=False)

    def apply(self, annotations: Annotations) -> None:
        details = annotations.details
        definition = details.definitions.case_field(self.field_id)
        value = definition.check(self.value)
        if not self.text:
            self.text = f"Set {definition.title}"
        if self._before is _UNSET:
            self._before = details.case.get(self.field_id)
        details.case = _with(details.case, self.field_id, value)

    def revert(self, annotations: Annotations) -> None:
        details = annotations.details
        details.case = _with(details.case, self.field_id, self._before)


def _with(mapping: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    out = dict(mapping)
    if value is None:
        out.pop(key, None)
    else:
        out[key] = value
    return out


@dataclass
class SetAttribute(Edit):
    """Set a track's attribute ``name``: a per-track one to ``value``; a per-frame one to
    ``value`` from ``frame`` on (until the next frame where it was set). ``value`` None
    clears it (a per-frame one on ``frame`` only: the value before then holds there)."""

    object_id: str
    name: str
    value: Any
    frame: int | None = None
    text: str = ""
    _before: dict[str, Any] | None = field(default=None, repr=False)

    def apply(self, annotations: Annotations) -> None:
        obj = annotations.get(self.object_id)
        if obj is None:
            raise DetailError(f"no mark {self.object_id!r} to set {self.name!r} on")
        details = annotations.details
        definition = details.definitions.attribute(obj.label_id, self.name)
        value = definition.check(self.value)
        if not self.text:
            self.text = f"Set {definition.title}"
        own = dict(details.attributes.get(self.object_id, {}))
        if self._before is None:
            self._before = details.attributes.get(self.object_id, {})
        if definition.per_frame:
            if self.frame is None or self.frame < 0:
                raise DetailError(f"{definition.title} is set per frame: a frame is needed")
            steps = dict(own.get(self.name) or {}) if isinstance(own.get(self.name), dict) else {}
            if value is None:
                steps.pop(int(self.frame), None)
            else:
                steps[int(self.frame)] = value
            value = steps or None
        own = _with(own, self.name, value)
        details.attributes = {**details.attributes, self.object_id: own}

    def revert(self, annotations: Annotations) -> None:
        assert self._before is not None
        details = annotations.details
        details.attributes = {**details.attributes, self.object_id: self._before}


@dataclass
class AddEvent(Edit):
    """Add an event (a typed frame marker)."""

    event: Event
    text: str = "Add event"

    def apply(self, annotations: Annotations) -> None:
        details = annotations.details
        if any(e.id == self.event.id for e in details.events):
            raise DetailError(f"an event with id {self.event.id!r} already exists")
        details.events = [*details.events, self.event]

    def revert(self, annotations: Annotations) -> None:
        details = annotations.details
        details.events = [e for e in details.events if e.id != self.event.id]


@dataclass
class RemoveEvent(Edit):
    """Remove an event by id."""

    event_id: str
    text: str = "Remove event"
    _before: list[Event] | None = field(default=None, repr=False)

    def apply(self, annotations: Annotations) -> None:
        details = annotations.details
        if not any(e.id == self.event_id for e in details.events):
            raise DetailError(f"no event {self.event_id!r}")
        self._before = details.events
        details.events = [e for e in details.events if e.id != self.event_id]

    def revert(self, annotations: Annotations) -> None:
        assert self._before is not None
        annotations.details.events = self._before


def _check_target(annotations: Annotations, comment: Comment) -> None:
    if comment.object_id is not None and annotations.get(comment.object_id) is None:
        raise DetailError(f"no mark {comment.object_id!r} to comment on")


@dataclass
class AddComment(Edit):
    """Add a comment on the loop, a frame or a track."""

    comment: Comment
    text: str = "Add comment"

    def apply(self, annotations: Annotations) -> None:
        _check_target(annotations, self.comment)
        details = annotations.details
        if any(c.id == self.comment.id for c in details.comments):
            raise DetailError(f"a comment with id {self.comment.id!r} already exists")
        details.comments = [*details.comments, self.comment]

    def revert(self, annotations: Annotations) -> None:
        details = annotations.details
        details.comments = [c for c in details.comments if c.id != self.comment.id]


@dataclass
class RemoveComment(Edit):
    """Remove a comment by id."""

    comment_id: str
    text: str = "Remove comment"
    _before: list[Comment] | None = field(default=None, repr=False)

    def apply(self, annotations: Annotations) -> None:
        details = annotations.details
        if not any(c.id == self.comment_id for c in details.comments):
            raise DetailError(f"no comment {self.comment_id!r}")
        self._before = details.comments
        details.comments = [c for c in details.comments if c.id != self.comment_id]

    def revert(self, annotations: Annotations) -> None:
        assert self._before is not None
        annotations.details.comments = self._before


@dataclass
class EditComment(Edit):
    """Change a comment's text (its author and time stay)."""

    comment_id: str
    new_text: str
    text: str = "Edit comment"
    _before: list[Comment] | None = field(default=None, repr=False)

    def apply(self, annotations: Annotations) -> None:
        details = annotations.details
        if not any(c.id == self.comment_id for c in details.comments):
            raise DetailError(f"no comment {self.comment_id!r}")
        changed = [
            c.with_text(self.new_text) if c.id == self.comment_id else c for c in details.comments
        ]
        self._before = details.comments
        details.comments = changed

    def revert(self, annotations: Annotations) -> None:
        assert self._before is not None
        annotations.details.comments = self._before


def details_of(annotations: Annotations) -> LoopDetails:
    """The loop's details (a helper for callers holding only the annotations)."""
    return annotations.details
