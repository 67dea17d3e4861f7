"""The annotation model: labels, shapes and the objects marked on a loop's frames (no Qt).

Coordinates are ``(x, y)`` = (column, row) in image pixels, floats, with ``(0, 0)`` at the
top-left corner of the top-left pixel (DICOM SCOORD convention: the first pixel's centre
is ``(0.5, 0.5)``). Frame indices are 0-based.

Glossary
--------
label
    What a mark means (superficial fascia, needle, injected fluid, ...), with the kind
    of shape it is drawn with, a colour and a keyboard shortcut.
shape kind
    ``polyline`` (open, >= 2 points: fascial planes), ``needle`` (exactly 2 points:
    entry then tip), ``region`` (closed, >= 3 points, first point not repeated: fluid,
    structures to avoid), ``point`` (1 point: target / trigger point).
object
    One marked structure with a stable id and a label, present on some frames; each
    frame owns its own geometry (copying marks to the next frame copies the points).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class ShapeKind(StrEnum):
    """How a label is drawn; the string values are the sidecar's."""

    POLYLINE = "polyline"
    NEEDLE = "needle"
    REGION = "region"
    POINT = "point"

    def check_points(self, points: np.ndarray) -> None:
        """Raise ValueError unless ``points`` (an ``(N, 2)`` array) suits this kind."""
        n = len(points)
        wanted = {
            ShapeKind.POLYLINE: (n >= 2, "two or more (x, y) points"),
            ShapeKind.NEEDLE: (n == 2, "exactly two (x, y) points: entry, then tip"),
            ShapeKind.REGION: (n >= 3, "three or more (x, y) points (closed, first not repeated)"),
            ShapeKind.POINT: (n == 1, "exactly one (x, y) point"),
        }[self]
        if not wanted[0]:
            raise ValueError(f"a {self.value} needs {wanted[1]}, got {n}")


_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LABEL_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class Label:
    """One entry of a label set.

    Attributes
    ----------
    id
        Stable machine name (lowercase, ``a-z0-9_.-``), e.g. ``"fascia.superficial"``;
        objects refer to labels by id.
    name
        Shown to the user, e.g. ``"Superficial fascia"``.
    kind
        The shape kind marks of this label are drawn with.
    colour
        ``"#rrggbb"``.
    shortcut
        A single key (``"1"``, ``"n"``...) or None.
    group
        Optional grouping for the UI (``"fascial plane"``, ``"avoid"``...).
    """

    id: str
    name: str
    kind: ShapeKind
    colour: str
    shortcut: str | None = None
    group: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not _LABEL_ID.match(self.id):
            raise ValueError(
                f"label id {self.id!r} must be lowercase letters, digits, '_', '.' or '-'"
            )
        if not _COLOUR.match(self.colour):
            raise ValueError(f"label {self.id!r}: colour {self.colour!r} must be '#rrggbb'")
        object.__setattr__(self, "kind", ShapeKind(self.kind))


@dataclass
class LabelSet:
    """Named, ordered labels; copied into every sidecar so a sidecar stands alone."""

    name: str
    labels: list[Label] = field(default_factory=list)

    def __post_init__(self) -> None:
        ids = [label.id for label in self.labels]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"label set {self.name!r} repeats label ids {duplicates}")

    def get(self, label_id: str) -> Label | None:
        return next((label for label in self.labels if label.id == label_id), None)

    def __getitem__(self, label_id: str) -> Label:
        label = self.get(label_id)
        if label is None:
            raise KeyError(f"no label {label_id!r} in label set {self.name!r}")
        return label

    def __iter__(self) -> Iterator[Label]:
        return iter(self.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def add(self, label: Label) -> None:
        if self.get(label.id) is not None:
            raise ValueError(f"label set {self.name!r} already has a label {label.id!r}")
        self.labels.append(label)


def as_points(points: Iterable[Sequence[float]] | np.ndarray) -> np.ndarray:
    """``points`` as a fresh ``(N, 2)`` float64 array, checked finite."""
    array = np.array(points, dtype=np.float64, copy=True).reshape(-1, 2)
    if not np.all(np.isfinite(array)):
        raise ValueError("points must be finite (x, y) numbers")
    return array


def new_object_id() -> str:
    """A stable, unique object id (random, so ids never collide across annotators)."""
    return uuid.uuid4().hex[:12]


@dataclass
class AnnotatedObject:
    """One marked structure: a label and its geometry on each frame where it is marked.

    ``frames`` maps a 0-based frame index to an ``(N, 2)`` float64 array of ``(x, y)``
    points. ``extra`` keeps keys this version does not know (they survive a round trip).
    """

    label_id: str
    kind: ShapeKind
    id: str = field(default_factory=new_object_id)
    name: str = ""
    frames: dict[int, np.ndarray] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def set_points(self, frame: int, points: Iterable[Sequence[float]] | np.ndarray) -> None:
        """Set this object's geometry on ``frame`` (validated for its kind)."""
        array = as_points(points)
        self.kind.check_points(array)
        if frame < 0:
            raise ValueError(f"frame index {frame} must be 0 or more (0-based)")
        self.frames[int(frame)] = array

    def points(self, frame: int) -> np.ndarray | None:
        return self.frames.get(frame)

    def copy(self) -> AnnotatedObject:
        return AnnotatedObject(
            self.label_id,
            self.kind,
            self.id,
            self.name,
            {f: p.copy() for f, p in self.frames.items()},
            dict(self.extra),
        )


@dataclass
class Annotations:
    """Everything marked on one loop, in a form the sidecar stores and the UI edits."""

    label_set: LabelSet
    objects: list[AnnotatedObject] = field(default_factory=list)

    def get(self, object_id: str) -> AnnotatedObject | None:
        return next((o for o in self.objects if o.id == object_id), None)

    def on_frame(self, frame: int) -> list[AnnotatedObject]:
        """Objects with geometry on ``frame``, in drawing order."""
        return [o for o in self.objects if frame in o.frames]

    def add(self, obj: AnnotatedObject) -> AnnotatedObject:
        if self.label_set.get(obj.label_id) is None:
            raise ValueError(f"unknown label {obj.label_id!r}: add it to the label set first")
        if self.get(obj.id) is not None:
            raise ValueError(f"an object with id {obj.id!r} already exists")
        self.objects.append(obj)
        return obj

    def remove(self, object_id: str) -> AnnotatedObject:
        obj = self.get(object_id)
        if obj is None:
            raise KeyError(f"no object {object_id!r}")
        self.objects.remove(obj)
        return obj
