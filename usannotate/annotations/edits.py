"""Every change to the annotations is an edit on one history: undo, redo, unsaved state.

The UI never mutates :class:`Annotations` directly; it pushes edits here, so undo covers
everything and a drag is one step (the tool pushes one :class:`SetPoints` when the mouse
is released, with the points it had when the drag began).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from usannotate.annotations.model import AnnotatedObject, Annotations, Label, as_points


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


@dataclass
class SetPoints(Edit):
    """Set (or, with ``points=None``, remove) an object's geometry on one frame.

    ``before`` is taken when the edit is first applied unless given (a drag passes the
    points it started from, because the item moved them live).
    """

    object_id: str
    frame: int
    points: np.ndarray | None
    before: np.ndarray | None = None
    text: str = "Edit mark"
    _before_known: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.points is not None:
            self.points = as_points(self.points)
        if self.before is not None:
            self.before = as_points(self.before)
            self._before_known = True

    def apply(self, annotations: Annotations) -> None:
        obj = _object(annotations, self.object_id)
        if not self._before_known:
            current = obj.points(self.frame)
            self.before = None if current is None else current.copy()
            self._before_known = True
        _put(obj, self.frame, self.points)

    def revert(self, annotations: Annotations) -> None:
        _put(_object(annotations, self.object_id), self.frame, self.before)


def _put(obj: AnnotatedObject, frame: int, points: np.ndarray | None) -> None:
    if points is None:
        obj.frames.pop(frame, None)
    else:
        obj.set_points(frame, points)


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

    Each frame keeps its own geometry: the points are copied, not shared. Objects
    already marked on ``target`` are overwritten (undo restores them).
    """
    wanted = set(object_ids) if object_ids is not None else None
    edits: list[Edit] = [
        SetPoints(obj.id, target, obj.frames[source].copy())
        for obj in annotations.on_frame(source)
        if wanted is None or obj.id in wanted
    ]
    return Compound(edits, text=f"Copy marks of frame {source} to frame {target}")


class EditHistory:
    """The single undo / redo history of one loop's annotations.

    Parameters
    ----------
    annotations
        The model the edits change.
    on_change
        Called after every push, undo and redo (the UI refreshes its view there).
    """

    def __init__(
        self, annotations: Annotations, on_change: Callable[[], None] | None = None
    ) -> None:
        self.annotations = annotations
        self.on_change = on_change
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

    def _changed(self) -> None:
        self.revision += 1
        if self.on_change is not None:
            self.on_change()
