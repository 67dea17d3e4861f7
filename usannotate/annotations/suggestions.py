"""Suggested marks, proposed by usannotate and not accepted yet, and their edits (no Qt).

A suggestion is geometry the software proposes (a needle found, a plane snapped to its
ridge). It is kept beside the marks, never among them: measurements, exports and
tracking see only :attr:`Annotations.objects`, so a suggestion is never taken for the
user's work. It is saved in the sidecar as an object of one frame whose ``source`` is
``"suggested"`` (resources/SIDECAR.md) and drawn in its own style until accepted (it
then becomes an ordinary keyframe, in one undo step with the suggestion's removal) or
dismissed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from usannotate.annotations.edits import Edit
from usannotate.annotations.kinds import ShapeKind
from usannotate.annotations.model import Annotations, as_points, new_object_id

__all__ = ["SUGGESTED", "AddSuggestion", "RemoveSuggestion", "SuggestedMark"]

#: The sidecar's ``source`` of a suggested frame.
SUGGESTED = "suggested"
#: How a suggestion was made, as the sidecar's ``suggested_by`` says it.
HOW = ("found", "snapped to the ridge")


@dataclass(eq=False)
class SuggestedMark:
    """A mark offered, not made.

    Attributes
    ----------
    label_id, kind
        The label it would be marked with and its shape kind.
    frame
        0-based frame it is on.
    points
        ``(N, 2)`` float64 ``(x, y)`` image px, ``(0, 0)`` the top-left corner of the
        top-left pixel; replaced, never changed in place.
    how
        ``"found"`` (the needle finder) or ``"snapped to the ridge"`` (a plane's snap).
    replaces
        The id of the mark whose geometry on ``frame`` it would replace (a snap of the
        plane as clicked), None for a new mark.
    id
        Its own id (not a mark's).
    """

    label_id: str
    kind: ShapeKind
    frame: int
    points: np.ndarray
    how: str = "found"
    replaces: str | None = None
    id: str = field(default_factory=new_object_id)

    def __post_init__(self) -> None:
        self.kind = ShapeKind(self.kind)
        self.points = np.round(as_points(self.points), 3) + 0.0
        self.kind.check_points(self.points)
        if self.frame < 0:
            raise ValueError(f"frame index {self.frame} must be 0 or more (0-based)")
        self.frame = int(self.frame)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SuggestedMark):
            return NotImplemented
        return (
            self.label_id,
            self.kind,
            self.frame,
            self.how,
            self.replaces,
            self.id,
        ) == (
            other.label_id,
            other.kind,
            other.frame,
            other.how,
            other.replaces,
            other.id,
        ) and np.array_equal(self.points, other.points)

    __hash__ = None  # type: ignore[assignment]  # mutable


@dataclass
class AddSuggestion(Edit):
    """Offer a suggestion (undoable, like any edit: it is saved in the sidecar)."""

    mark: SuggestedMark
    text: str = "Suggest mark"

    def apply(self, annotations: Annotations) -> None:
        if annotations.label_set.get(self.mark.label_id) is None:
            raise ValueError(f"unknown label {self.mark.label_id!r}")
        annotations.suggestions.append(self.mark)

    def revert(self, annotations: Annotations) -> None:
        annotations.suggestions.remove(self.mark)


@dataclass
class RemoveSuggestion(Edit):
    """Take a suggestion away (dismissed, or accepted as part of a compound edit)."""

    suggestion_id: str
    text: str = "Dismiss suggestion"
    _removed: SuggestedMark | None = field(default=None, repr=False)
    _position: int = field(default=0, repr=False)

    def apply(self, annotations: Annotations) -> None:
        mark = next((s for s in annotations.suggestions if s.id == self.suggestion_id), None)
        if mark is None:
            raise KeyError(f"no suggestion {self.suggestion_id!r}")
        self._position = annotations.suggestions.index(mark)
        annotations.suggestions.remove(mark)
        self._removed = mark

    def revert(self, annotations: Annotations) -> None:
        assert self._removed is not None
        annotations.suggestions.insert(self._position, self._removed)
