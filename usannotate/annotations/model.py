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
    (:class:`~usannotate.annotations.kinds.ShapeKind`, in its own module below this
    one and the interpolation, which both need it).
object, track
    One marked structure with a stable id and a label, followed through the loop: on
    each frame it is absent or has geometry from one of three sources (below).
keyframe
    A frame where the user placed or confirmed the geometry.
tracked
    A frame whose geometry optical flow propagated; it stays "tracked" until the user
    confirms or edits it (then it is a keyframe).
interpolated
    A frame between two stored frames (keyframe or tracked) of a track: its geometry is
    computed, never stored (see :mod:`usannotate.annotations.interpolation`).
gap
    Frames where a track is out of view: an ``absent`` marker between two stored frames
    stops interpolation across it, so the track ends and starts again.
"""

from __future__ import annotations

import bisect
import itertools
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from usannotate.annotations.details import LoopDetails
from usannotate.annotations.interpolation import Correspondence, corresponding_points
from usannotate.annotations.kinds import FrameSource, ShapeKind
from usannotate.cine.calibration import ManualCalibration

#: Decimals of a pixel kept for stored points (the sidecar keeps as many).
STORED_DECIMALS = 3

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


@dataclass(eq=False)
class AnnotatedObject:
    """One marked structure followed through the loop: a track.

    ``frames`` maps a 0-based frame index to the ``(N, 2)`` float64 ``(x, y)`` points
    *stored* there: keyframes, and the frames in ``tracked`` (propagated by optical flow,
    not yet confirmed). Between two stored frames the geometry is interpolated, unless a
    frame of ``absent`` lies between them (the track is out of view there: a gap). Before
    its first and after its last stored frame a track does not exist.

    Arrays in ``frames`` are replaced, never changed in place (interpolation caches rely
    on it). ``extra`` keeps keys this version does not know (they survive a round trip).

    Two objects are equal (``==``) when they have the same id and :meth:`same_work`; the
    generated dataclass equality would compare the point arrays with ``==`` and raise.
    """

    label_id: str
    kind: ShapeKind
    id: str = field(default_factory=new_object_id)
    name: str = ""
    frames: dict[int, np.ndarray] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    tracked: set[int] = field(default_factory=set)
    absent: set[int] = field(default_factory=set)
    _pairs: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, Correspondence]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # ------------------------------------------------------------ comparison
    def __eq__(self, other: object) -> bool:
        """Same id and :meth:`same_work` (points compared exactly)."""
        if not isinstance(other, AnnotatedObject):
            return NotImplemented
        return self.id == other.id and self.same_work(other)

    __hash__ = None  # type: ignore[assignment]  # mutable: equal objects may change

    def same_work(self, other: AnnotatedObject) -> bool:
        """Whether ``other`` holds the same work, whatever its id: label, kind, name, its
        own unknown keys, the same stored frames with exactly the same points, the same
        tracked frames and gap markers (interpolated frames follow from these)."""
        if (self.label_id, self.kind, self.name, self.extra) != (
            other.label_id,
            other.kind,
            other.name,
            other.extra,
        ):
            return False
        if (self.frames.keys(), self.tracked, self.absent) != (
            other.frames.keys(),
            other.tracked,
            other.absent,
        ):
            return False
        return all(np.array_equal(points, other.frames[f]) for f, points in self.frames.items())

    # ------------------------------------------------------------- storing
    def set_points(
        self,
        frame: int,
        points: Iterable[Sequence[float]] | np.ndarray,
        source: FrameSource | str = FrameSource.KEYFRAME,
    ) -> None:
        """Store this object's geometry on ``frame`` (validated for its kind, rounded to
        1/1000 px).

        ``source`` is :attr:`FrameSource.KEYFRAME` (placed or confirmed by the user) or
        :attr:`FrameSource.TRACKED`; a frame stored here is no longer a gap marker.
        """
        # Kept to 1/1000 px, as the sidecar writes them: frames interpolated from stored
        # points are then the same before and after a save and a load.
        array = np.round(as_points(points), STORED_DECIMALS) + 0.0
        self.kind.check_points(array)
        if frame < 0:
            raise ValueError(f"frame index {frame} must be 0 or more (0-based)")
        source = FrameSource(source)
        if source is FrameSource.INTERPOLATED:
            raise ValueError("interpolated geometry is computed, not stored")
        frame = int(frame)
        self.frames[frame] = array
        self.absent.discard(frame)
        if source is FrameSource.TRACKED:
            self.tracked.add(frame)
        else:
            self.tracked.discard(frame)

    def clear_frame(self, frame: int) -> None:
        """Forget what is stored on ``frame`` (geometry or gap marker)."""
        self.frames.pop(frame, None)
        self.tracked.discard(frame)
        self.absent.discard(frame)

    def mark_absent(self, frame: int) -> None:
        """Put a gap marker on ``frame``: no geometry there, no interpolation across it."""
        self.clear_frame(frame)
        self.absent.add(int(frame))

    # ------------------------------------------------------------ resolution
    def stored_points(self, frame: int) -> np.ndarray | None:
        """The points stored on ``frame`` (a keyframe or a tracked frame), else None."""
        return self.frames.get(frame)

    def points(self, frame: int) -> np.ndarray | None:
        """The geometry on ``frame``: stored, or interpolated; None where absent."""
        found = self.geometry(frame)
        return None if found is None else found[0]

    def source(self, frame: int) -> FrameSource | None:
        """Where the geometry on ``frame`` comes from; None where the track is absent."""
        if frame in self.frames:
            return FrameSource.TRACKED if frame in self.tracked else FrameSource.KEYFRAME
        return FrameSource.INTERPOLATED if self._neighbours(frame) is not None else None

    def geometry(self, frame: int) -> tuple[np.ndarray, FrameSource] | None:
        """``(points, source)`` on ``frame``, or None where the track is absent."""
        stored = self.frames.get(frame)
        if stored is not None:
            source = FrameSource.TRACKED if frame in self.tracked else FrameSource.KEYFRAME
            return stored, source
        around = self._neighbours(frame)
        if around is None:
            return None
        before, after = around
        t = (frame - before) / (after - before)
        return self._correspondence(before, after).at(t), FrameSource.INTERPOLATED

    def exists_on(self, frame: int) -> bool:
        return frame in self.frames or self._neighbours(frame) is not None

    def _stretches(self) -> Iterator[tuple[int, FrameSource, int | None]]:
        """Each stored frame in order with its source, and the next stored frame when the
        frames between them are interpolated (None: none between, or a gap)."""
        stored = sorted(self.frames)
        entries = self._entries()
        for left, right in itertools.pairwise([*stored, None]):
            source = FrameSource.TRACKED if left in self.tracked else FrameSource.KEYFRAME
            filled = right is not None and right - left > 1
            yield (
                left,
                source,
                right if filled and not self._gap_between(entries, left, right) else None,
            )

    def frame_sources(self, n_frames: int | None = None) -> dict[int, FrameSource]:
        """Every frame where the track exists, in order, with its source (cheap: no
        geometry is computed)."""
        out: dict[int, FrameSource] = {}
        for left, source, right in self._stretches():
            out[left] = source
            if right is not None:
                out.update(dict.fromkeys(range(left + 1, right), FrameSource.INTERPOLATED))
        return out if n_frames is None else {f: s for f, s in out.items() if f < n_frames}

    def all_geometry(
        self, n_frames: int | None = None
    ) -> dict[int, tuple[np.ndarray, FrameSource]]:
        """``(points, source)`` on every frame where the track exists, in frame order.

        The same as :meth:`geometry` frame by frame, computed a stretch between two
        stored frames at a time (saving a long track computes hundreds of frames).
        """
        out: dict[int, tuple[np.ndarray, FrameSource]] = {}
        for left, source, right in self._stretches():
            out[left] = (self.frames[left], source)
            if right is None:
                continue
            match = self._correspondence(left, right)
            t = (np.arange(left + 1, right) - left) / (right - left)
            blended = (1.0 - t)[:, None, None] * match.start + t[:, None, None] * match.end
            for frame, points in zip(range(left + 1, right), blended, strict=True):
                out[frame] = (points, FrameSource.INTERPOLATED)
        return out if n_frames is None else {f: g for f, g in out.items() if f < n_frames}

    def keyframes(self) -> list[int]:
        """Frames the user placed or confirmed, in order."""
        return sorted(f for f in self.frames if f not in self.tracked)

    def span(self) -> tuple[int, int] | None:
        """First and last frame where the track exists (it may have gaps between)."""
        return (min(self.frames), max(self.frames)) if self.frames else None

    def _entries(self) -> list[int]:
        return sorted(self.frames.keys() | self.absent)

    @staticmethod
    def _gap_between(entries: list[int], left: int, right: int) -> bool:
        """Whether a gap marker lies strictly between stored frames ``left`` and ``right``
        (``entries`` holds stored frames and gap markers, sorted)."""
        i = bisect.bisect_right(entries, left)
        return i < len(entries) and entries[i] < right

    def _neighbours(self, frame: int) -> tuple[int, int] | None:
        """The stored frames an interpolated ``frame`` lies between, or None."""
        if frame in self.absent or frame in self.frames or not self.frames:
            return None
        entries = self._entries()
        i = bisect.bisect_left(entries, frame)
        if i == 0 or i == len(entries):
            return None
        before, after = entries[i - 1], entries[i]
        if before in self.absent or after in self.absent:
            return None
        return before, after

    def _correspondence(self, before: int, after: int) -> Correspondence:
        """The points of two stored frames matched for blending (cached per pair)."""
        a, b = self.frames[before], self.frames[after]
        cached = self._pairs.get((before, after))
        if cached is not None and cached[0] is a and cached[1] is b:
            return cached[2]
        if len(self._pairs) > 4 * len(self.frames) + 16:
            self._pairs.clear()  # stale pairs of frames since edited
        match = corresponding_points(self.kind, a, b)
        self._pairs[(before, after)] = (a, b, match)
        return match

    def copy(self) -> AnnotatedObject:
        return AnnotatedObject(
            self.label_id,
            self.kind,
            self.id,
            self.name,
            dict(self.frames),  # arrays are never changed in place, so they can be shared
            dict(self.extra),
            set(self.tracked),
            set(self.absent),
        )


@dataclass
class Annotations:
    """Everything marked on one loop, in a form the sidecar stores and the UI edits.

    ``manual_calibration``: a line of known length the user drew (e.g. along a burned-in
    depth scale); when set it measures every mark in mm (the same mm per px on both axes,
    depths from the image top) instead of the DICOM regions (see
    :func:`usannotate.annotations.calibration_lookup`). Changed through the
    :class:`~usannotate.annotations.edits.SetManualCalibration` edit.
    """

    label_set: LabelSet
    objects: list[AnnotatedObject] = field(default_factory=list)
    manual_calibration: ManualCalibration | None = None
    #: Case details, attributes, events and comments (see annotations.details).
    details: LoopDetails = field(default_factory=LoopDetails)
    #: Marks offered and not accepted yet (``SuggestedMark`` of annotations.suggestions,
    #: which builds on this module: not named here, or the two would import each other):
    #: never among ``objects``, so nothing measures, exports or tracks them as the
    #: user's work.
    suggestions: list[Any] = field(default_factory=list)

    def get(self, object_id: str) -> AnnotatedObject | None:
        return next((o for o in self.objects if o.id == object_id), None)

    def with_points(
        self, object_id: str, frame: int, points: Iterable[Sequence[float]] | np.ndarray
    ) -> Annotations:
        """A copy in which ``object_id`` holds ``points`` on ``frame`` as a keyframe, this
        model unchanged (a drag previewed: what it would measure before it is an edit)."""
        objects = []
        for obj in self.objects:
            if obj.id == object_id:
                twin = AnnotatedObject(
                    obj.label_id,
                    obj.kind,
                    obj.id,
                    obj.name,
                    dict(obj.frames),
                    obj.extra,
                    set(obj.tracked),
                    set(obj.absent),
                )
                twin.set_points(frame, points)
                obj = twin
            objects.append(obj)
        return Annotations(
            self.label_set, objects, self.manual_calibration, self.details, self.suggestions
        )

    def on_frame(self, frame: int) -> list[AnnotatedObject]:
        """Objects that exist on ``frame`` (stored or interpolated), in drawing order."""
        return [o for o in self.objects if o.exists_on(frame)]

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
