"""Every change to the annotations is an edit on one history: undo, redo, unsaved state.

The UI never mutates :class:`Annotations` directly; it pushes edits here, so undo covers
everything and a drag is one step (the tool pushes one :class:`SetPoints` when the mouse
is released, with the points it had when the drag began).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from usannotate.annotations.kinds import FrameSource
from usannotate.annotations.model import (
    AnnotatedObject,
    Annotations,
    Label,
    LabelSet,
    as_points,
)
from usannotate.cine.calibration import ManualCalibration


class Edit:
    """One undoable change. Subclasses implement :meth:`apply` and :meth:`revert`."""

    text: str = "Edit"

    def apply(self, annotations: Annotations) -> None:
        raise NotImplementedError

    def revert(self, annotations: Annotations) -> None:
        raise NotImplementedError


def _object(annotations: Annotations, object_id: str) -> AnnotatedObject:
    obj = annotations.get(object_id)
    if obj is None:
        raise KeyError(f"no object {object_id!r}")
    return obj


@dataclass
class AddObject(Edit):
    """Add a new object (with whatever frames it already has)."""

    obj: AnnotatedObject
    text: str = "Add mark"

    def apply(self, annotations: Annotations) -> None:
        annotations.add(self.obj)

    def revert(self, annotations: Annotations) -> None:
        annotations.remove(self.obj.id)


@dataclass
class RemoveObject(Edit):
    """Delete an object on every frame."""

    object_id: str
    text: str = "Delete mark"
    _removed: AnnotatedObject | None = field(default=None, repr=False)
    _position: int = field(default=0, repr=False)

    def apply(self, annotations: Annotations) -> None:
        obj = _object(annotations, self.object_id)
        self._position = annotations.objects.index(obj)
        self._removed = annotations.remove(self.object_id)

    def revert(self, annotations: Annotations) -> None:
        assert self._removed is not None
        annotations.objects.insert(self._position, self._removed)


_FrameState = tuple[np.ndarray | None, bool, bool]  # stored points, tracked, gap marker


def _state(obj: AnnotatedObject, frame: int) -> _FrameState:
    return obj.frames.get(frame), frame in obj.tracked, frame in obj.absent


def _restore(obj: AnnotatedObject, frame: int, state: _FrameState) -> None:
    points, tracked, absent = state
    obj.clear_frame(frame)
    if points is not None:
        obj.set_points(frame, points, FrameSource.TRACKED if tracked else FrameSource.KEYFRAME)
    elif absent:
        obj.mark_absent(frame)


class _FrameEdit(Edit):
    """A change of what one frame of one object holds; undo puts back exactly what it
    held (points, tracked, gap), as read when the edit is first applied."""

    object_id: str
    frame: int
    _state_before: _FrameState | None

    def apply(self, annotations: Annotations) -> None:
        obj = _object(annotations, self.object_id)
        if self._state_before is None:
            self._state_before = _state(obj, self.frame)
        self._change(obj)

    def revert(self, annotations: Annotations) -> None:
        assert self._state_before is not None
        _restore(_object(annotations, self.object_id), self.frame, self._state_before)

    def _change(self, obj: AnnotatedObject) -> None:
        raise NotImplementedError


@dataclass
class SetPoints(_FrameEdit):
    """Store (or, with ``points=None``, forget) an object's geometry on one frame.

    Editing a frame makes it a keyframe (``source`` KEYFRAME, the default), whether it
    was interpolated or tracked before; tracking stores its frames with ``source``
    TRACKED. Forgetting a stored frame between two others makes it interpolated again.
    """

    object_id: str
    frame: int
    points: np.ndarray | None
    text: str = "Edit mark"
    source: FrameSource = FrameSource.KEYFRAME
    _state_before: _FrameState | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.points is not None:
            self.points = as_points(self.points)

    def _change(self, obj: AnnotatedObject) -> None:
        if self.points is None:
            obj.clear_frame(self.frame)
        else:
            obj.set_points(self.frame, self.points, self.source)


@dataclass
class MarkAbsent(_FrameEdit):
    """Put a gap marker on a frame: the track is out of view there and is not
    interpolated across it (it ends before and starts again after)."""

    object_id: str
    frame: int
    text: str = "Mark out of view"
    _state_before: _FrameState | None = field(default=None, repr=False)

    def _change(self, obj: AnnotatedObject) -> None:
        obj.mark_absent(self.frame)


@dataclass
class ChangeLabel(Edit):
    """Give an object another label of the same shape kind."""

    object_id: str
    label_id: str
    text: str = "Change label"
    _old: str = field(default="", repr=False)

    def apply(self, annotations: Annotations) -> None:
        obj = _object(annotations, self.object_id)
        label = annotations.label_set[self.label_id]
        if label.kind != obj.kind:
            raise ValueError(
                f"label {label.name!r} is drawn as a {label.kind.value}, this mark is a "
                f"{obj.kind.value}"
            )
        self._old, obj.label_id = obj.label_id, self.label_id

    def revert(self, annotations: Annotations) -> None:
        _object(annotations, self.object_id).label_id = self._old


@dataclass
class AddLabel(Edit):
    """Add a label (e.g. a user-named fascial plane) to the loop's label set."""

    label: Label
    text: str = "Add label"

    def apply(self, annotations: Annotations) -> None:
        annotations.label_set.add(self.label)

    def revert(self, annotations: Annotations) -> None:
        annotations.label_set.labels.remove(self.label)


@dataclass
class SetManualCalibration(Edit):
    """Set the loop's manual calibration (a line of known length), or with ``None``
    remove it so the DICOM calibration (or px) applies again. Undo puts back the one
    there before."""

    calibration: ManualCalibration | None
    text: str = ""
    _before: ManualCalibration | None = field(default=None, repr=False)
    _recorded: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if not self.text:
            self.text = "Calibrate" if self.calibration is not None else "Remove calibration"

    def apply(self, annotations: Annotations) -> None:
        if not self._recorded:
            self._before, self._recorded = annotations.manual_calibration, True
        annotations.manual_calibration = self.calibration

    def revert(self, annotations: Annotations) -> None:
        annotations.manual_calibration = self._before


@dataclass
class ReplaceContent(Edit):
    """Replace every track, label and the manual calibration at once (a merge of another
    rater's save); undo puts back what was there. The label set object itself stays (the
    views hold it): only its labels change."""

    content: Annotations
    text: str = "Merge"
    _before: Annotations | None = field(default=None, repr=False)

    def apply(self, annotations: Annotations) -> None:
        if self._before is None:
            self._before = Annotations(
                LabelSet(annotations.label_set.name, list(annotations.label_set.labels)),
                list(annotations.objects),
                manual_calibration=annotations.manual_calibration,
                details=annotations.details,
                suggestions=list(annotations.suggestions),
            )
        _set_content(annotations, self.content)

    def revert(self, annotations: Annotations) -> None:
        assert self._before is not None
        _set_content(annotations, self._before)


def _set_content(annotations: Annotations, content: Annotations) -> None:
    annotations.label_set.labels = list(content.label_set.labels)
    annotations.objects = list(content.objects)
    annotations.manual_calibration = content.manual_calibration
    annotations.details = content.details
    annotations.suggestions = list(content.suggestions)


@dataclass
class Compound(Edit):
    """Several edits as one undo step (e.g. copying all marks to the next frame)."""

    edits: list[Edit]
    text: str = "Edit marks"

    def apply(self, annotations: Annotations) -> None:
        done: list[Edit] = []
        try:
            for edit in self.edits:
                edit.apply(annotations)
                done.append(edit)
        except Exception:
            for edit in reversed(done):  # all or nothing
                edit.revert(annotations)
            raise

    def revert(self, annotations: Annotations) -> None:
        for edit in reversed(self.edits):
            edit.revert(annotations)


def copy_frame(
    annotations: Annotations,
    source: int,
    target: int,
    object_ids: Iterable[str] | None = None,
) -> Compound:
    """The edit that copies the marks of frame ``source`` to frame ``target``.

    The geometry shown on ``source`` (stored or interpolated) becomes a keyframe on
    ``target``; points are copied, not shared. Undo restores what ``target`` held.
    """
    wanted = set(object_ids) if object_ids is not None else None
    edits: list[Edit] = []
    for obj in annotations.on_frame(source):
        points = obj.points(source)
        if points is not None and (wanted is None or obj.id in wanted):
            edits.append(SetPoints(obj.id, target, points.copy()))
    return Compound(edits, text=f"Copy marks of frame {source + 1} to frame {target + 1}")


def hide_on_frame(obj: AnnotatedObject, frame: int) -> Compound:
    """The edit that removes a track from one frame only (the object is not there).

    Interpolated neighbours become keyframes first, so that only ``frame`` changes; a gap
    marker is left where the track goes on on both sides.
    """
    edits: list[Edit] = []
    for neighbour in (frame - 1, frame + 1):
        found = obj.geometry(neighbour) if neighbour >= 0 else None
        if found is not None and found[1] is FrameSource.INTERPOLATED:
            edits.append(SetPoints(obj.id, neighbour, found[0].copy()))
    stored_before = any(f < frame for f in obj.frames)
    stored_after = any(f > frame for f in obj.frames)
    if stored_before and stored_after:
        edits.append(MarkAbsent(obj.id, frame))
    else:
        edits.append(SetPoints(obj.id, frame, None))
    return Compound(edits, text=f"Remove mark from frame {frame + 1}")


def end_track_after(obj: AnnotatedObject, frame: int, n_frames: int | None = None) -> Compound:
    """The edit that ends a track after ``frame``: it is out of view from the next frame
    (a gap marker there) until its next stored frame, where it starts again; frames
    stored just after are forgotten, and this frame becomes a keyframe if it was
    interpolated. The marker stays even with nothing stored later, so a mark drawn
    later on does not join the track across the gap. ``n_frames`` (the loop's length)
    leaves the marker out after the last frame."""
    edits: list[Edit] = []
    found = obj.geometry(frame)
    if found is not None and found[1] is FrameSource.INTERPOLATED:
        edits.append(SetPoints(obj.id, frame, found[0].copy()))
    later = sorted(f for f in obj.frames if f > frame)
    if not any(f > frame + 1 for f in later):  # nothing after the gap: the track stops
        edits += [SetPoints(obj.id, f, None) for f in later]
    if n_frames is None or frame + 1 < n_frames:
        edits.append(MarkAbsent(obj.id, frame + 1))
    return Compound(edits, text=f"End track after frame {frame + 1}")


def confirm_tracked(obj: AnnotatedObject, frames: Iterable[int] | None = None) -> Compound:
    """The edit that turns tracked frames (all, or those in ``frames``) into keyframes."""
    chosen = sorted(obj.tracked if frames is None else set(frames) & obj.tracked)
    edits: list[Edit] = [SetPoints(obj.id, f, obj.frames[f]) for f in chosen]
    return Compound(edits, text=f"Confirm {len(chosen)} tracked frame(s)")


def store_tracked(object_id: str, frames: dict[int, np.ndarray], text: str) -> Compound:
    """The edit that stores frames propagated by tracking, marked tracked."""
    edits: list[Edit] = [
        SetPoints(object_id, f, points, source=FrameSource.TRACKED, text=text)
        for f, points in sorted(frames.items())
    ]
    return Compound(edits, text=text)


class EditHistory:
    """The single undo / redo history of one loop's annotations.

    Parameters
    ----------
    annotations
        The model the edits change.
    on_change
        A first listener (see :meth:`add_listener`).

    Every listener is called once after each push, undo and redo, in the order they were
    added (the UI's state object is one: each view then refreshes once per edit).
    """

    def __init__(
        self, annotations: Annotations, on_change: Callable[[], None] | None = None
    ) -> None:
        self.annotations = annotations
        self._listeners: list[Callable[[], None]] = []
        if on_change is not None:
            self._listeners.append(on_change)
        self._done: list[Edit] = []
        self._undone: list[Edit] = []
        self._saved_at: int | None = 0  # len(_done) when last saved; None = unreachable
        self.revision = 0  # grows at every push, undo and redo (for autosave)

    def push(self, edit: Edit) -> None:
        """Apply ``edit`` and record it (the redo branch is dropped)."""
        edit.apply(self.annotations)
        self._done.append(edit)
        if self._saved_at is not None and self._saved_at > len(self._done) - 1:
            self._saved_at = None  # the saved state was on the dropped redo branch
        self._undone.clear()
        self._changed()

    def undo(self) -> bool:
        if not self._done:
            return False
        edit = self._done.pop()
        edit.revert(self.annotations)
        self._undone.append(edit)
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        edit = self._undone.pop()
        edit.apply(self.annotations)
        self._done.append(edit)
        self._changed()
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def mark_unsaved(self) -> None:
        """What the model holds is not on disk (e.g. work recovered from an autosave)."""
        self._saved_at = None

    def mark_saved(self) -> None:
        """The annotations as they are now are what is on disk."""
        self._saved_at = len(self._done)

    @property
    def is_modified(self) -> bool:
        """Whether there is work not saved (the title shows it, closing asks about it)."""
        return self._saved_at != len(self._done)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every push, undo and redo (once each)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener`` (no error if it was not listening)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        self.revision += 1
        for listener in list(self._listeners):  # a listener may remove itself
            listener()
