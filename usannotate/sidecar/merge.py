"""Merging two raters' (or two windows') versions of one sidecar, track by track (no Qt).

When a save finds the sidecar changed by someone else
(:class:`~usannotate.sidecar.errors.SidecarConflictError`), "merge" keeps both people's
work. Tracks are matched by their stable ``id``, against the **base** (what this document
was read as) when it is known:

- a track only one side changed (or added) is taken from that side;
- a track the other side deleted and this side left alone goes; one this side deleted
  and the other side left alone stays deleted;
- a track **both** sides changed (differently), or one side deleted while the other
  changed it, is **kept twice**: this side's as it is, and theirs beside it with a new
  id, its name ending in :data:`THEIR_VERSION_SUFFIX` and a ``conflict`` key saying whose
  version of which track it is (see resources/SIDECAR.md), so the user can find both,
  compare, and delete one.

Without a base (this document never read the file on disk), every track with the same
id that differs counts as changed on both sides. Labels only the other side has are
added (a label id both sides use for different shape kinds: theirs is renamed). The manual
calibration follows the same rule as a track; changed on both sides, this side's wins
and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from usannotate.annotations import AnnotatedObject, Annotations, LabelSet, ShapeKind
from usannotate.annotations.model import new_object_id
from usannotate.sidecar._conflict import saved_by
from usannotate.sidecar._timestamps import format_timestamp
from usannotate.sidecar.document import SidecarDocument, UnknownKeys
from usannotate.sidecar.errors import SidecarConflictError

#: The object key that flags a track kept twice by a merge.
CONFLICT_KEY = "conflict"
#: Added to the name of the other side's version of a track kept twice.
THEIR_VERSION_SUFFIX = "(their version)"


def conflict_flag(obj: AnnotatedObject) -> dict[str, object] | None:
    """The ``conflict`` key of a track a merge kept twice (None for any other track)."""
    flag = obj.extra.get(CONFLICT_KEY)
    return flag if isinstance(flag, dict) else None


@dataclass
class MergeResult:
    """What :func:`merge_annotations` made, and what it did, for the user.

    ``annotations`` is new (the inputs are not changed); track lists hold ids of
    ``annotations``' objects; ``kept_twice`` pairs this side's id (None when this side
    had deleted it) with the id of their version beside it.
    """

    annotations: Annotations
    added: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept_twice: list[tuple[str | None, str]] = field(default_factory=list)
    labels_added: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Their track id -> its id in the result (for the frame entries' own keys).
    their_ids: dict[str, str] = field(default_factory=dict)

    def summary(self, who: str) -> str:
        """One sentence for the status bar: ``"Merged with B. Rater's save: ..."``."""
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} of their tracks added")
        if self.taken:
            parts.append(f"{len(self.taken)} updated from theirs")
        if self.removed:
            parts.append(f"{len(self.removed)} they deleted removed")
        if self.kept_twice:
            parts.append(
                f"{len(self.kept_twice)} changed on both sides kept twice, theirs named "
                f"“… {THEIR_VERSION_SUFFIX}”"
            )
        if self.labels_added:
            parts.append(f"{len(self.labels_added)} of their labels added")
        parts += self.notes
        owner = f"{who}'s" if who else "the other"
        return f"Merged with {owner} save: " + ("; ".join(parts) if parts else "nothing to add")


def _merged_labels(
    mine: LabelSet, theirs: LabelSet, result: MergeResult
) -> tuple[LabelSet, dict[str, str]]:
    """Mine's labels plus theirs that mine lacks; their label ids that had to change."""
    labels = list(mine.labels)
    renamed: dict[str, str] = {}
    ids = {label.id for label in labels}
    for label in theirs.labels:
        own = mine.get(label.id)
        if own is not None and ShapeKind(own.kind) == ShapeKind(label.kind):
            continue  # the same label (a changed colour or name: this side's is kept)
        new = label
        if own is not None:  # the same id for another shape: theirs gets its own id
            number = 1
            while f"{label.id}.theirs{number}" in ids:
                number += 1
            new = replace(
                label,
                id=f"{label.id}.theirs{number}",
                name=f"{label.name} {THEIR_VERSION_SUFFIX}",
                shortcut=None,
            )
            renamed[label.id] = new.id
        if any(o.shortcut and o.shortcut == new.shortcut for o in labels):
            new = replace(new, shortcut=None)
        labels.append(new)
        ids.add(new.id)
        result.labels_added.append(new.id)
    return LabelSet(mine.name, labels), renamed


def _their_copy(
    obj: AnnotatedObject, flag_of: str | None, who: str, when: datetime, taken: set[str]
) -> AnnotatedObject:
    copy = obj.copy()
    while copy.id in taken:
        copy.id = new_object_id()
    copy.name = f"{obj.name} {THEIR_VERSION_SUFFIX}".strip()
    copy.extra = {
        **obj.extra,
        CONFLICT_KEY: {"with": flag_of, "annotator": who, "modified": format_timestamp(when)},
    }
    return copy


def merge_annotations(
    base: Annotations | None,
    mine: Annotations,
    theirs: Annotations,
    *,
    their_annotator: str = "",
    their_modified: datetime,
) -> MergeResult:
    """Merge ``theirs`` into ``mine`` (see the module's description for the rules).

    Parameters
    ----------
    base
        What ``mine`` was read as (None: unknown, every differing track counts as
        changed on both sides).
    their_annotator, their_modified
        Who saved ``theirs`` and when: recorded in the ``conflict`` key of their
        versions of tracks kept twice.

    Returns
    -------
    MergeResult
        A new :class:`Annotations` in this side's order, with their additions after the
        tracks they sit beside (their version right after this side's).
    """
    result = MergeResult(Annotations(LabelSet(mine.label_set.name)))
    label_set, renamed = _merged_labels(mine.label_set, theirs.label_set, result)
    base_objects = {o.id: o for o in base.objects} if base is not None else {}
    theirs_by_id = {o.id: o for o in theirs.objects}
    mine_ids = {o.id for o in mine.objects}
    taken_ids = mine_ids | set(theirs_by_id)

    def adapted(obj: AnnotatedObject) -> AnnotatedObject:
        copy = obj.copy()
        copy.label_id = renamed.get(copy.label_id, copy.label_id)
        return copy

    def keep_theirs_beside(obj: AnnotatedObject, flag_of: str | None) -> AnnotatedObject:
        copy = _their_copy(adapted(obj), flag_of, their_annotator, their_modified, taken_ids)
        taken_ids.add(copy.id)
        result.kept_twice.append((flag_of, copy.id))
        result.their_ids[obj.id] = copy.id
        return copy

    objects: list[AnnotatedObject] = []
    for own in mine.objects:
        other = theirs_by_id.get(own.id)
        before = base_objects.get(own.id)
        if other is None:
            if before is not None and own.same_work(before):
                result.removed.append(own.id)  # they deleted it; this side left it alone
                continue
            objects.append(own.copy())  # new here, or changed here and deleted there
            continue
        if own.same_work(other) or (before is not None and other.same_work(before)):
            objects.append(own.copy())
            result.their_ids[other.id] = own.id
        elif before is not None and own.same_work(before):
            objects.append(adapted(other))  # only they changed it
            result.taken.append(own.id)
            result.their_ids[other.id] = own.id
        else:
            objects.append(own.copy())
            objects.append(keep_theirs_beside(other, own.id))
    for other in theirs.objects:
        if other.id in mine_ids:
            continue
        before = base_objects.get(other.id)
        if before is None:
            objects.append(adapted(other))  # new on their side
            result.added.append(other.id)
            result.their_ids[other.id] = other.id
        elif not other.same_work(before):
            objects.append(keep_theirs_beside(other, None))  # deleted here, changed there
        # else: deleted here, untouched there: stays deleted

    manual = mine.manual_calibration
    base_manual = base.manual_calibration if base is not None else None
    if theirs.manual_calibration != mine.manual_calibration:
        if base is not None and mine.manual_calibration == base_manual:
            manual = theirs.manual_calibration
        elif base is None or theirs.manual_calibration != base_manual:
            result.notes.append("the manual calibration differs: yours was kept")
    # Details (case, events, comments, attributes) are not merged yet: this side's stay.
    result.annotations = Annotations(
        label_set,
        objects,
        manual_calibration=manual,
        details=mine.details.copy(),
        suggestions=list(mine.suggestions),  # suggestions are not merged: this side's stay
    )
    return result


def merge_documents(error: SidecarConflictError) -> tuple[SidecarDocument, MergeResult]:
    """The merged document of a conflict: this side's document with both sides' tracks.

    Everything but the annotations is this side's (its DICOM, calibration record,
    annotator), with the other side's own keys added where this side has none. Its next
    save replaces the version on disk the conflict found, and no newer one.
    """
    mine: SidecarDocument = error.mine  # type: ignore[assignment]
    theirs: SidecarDocument = error.theirs  # type: ignore[assignment]
    result = merge_annotations(
        error.base,  # type: ignore[arg-type]
        mine.annotations,
        theirs.annotations,
        their_annotator=saved_by(theirs),
        their_modified=theirs.modified,
    )
    doc = replace(
        mine,
        annotations=result.annotations,
        extra=merged_extra(mine.extra, theirs.extra, result),
        disk_stamp=error.theirs_version,
        entry_positions={},
    )
    return doc, result


def merged_extra(mine: UnknownKeys, theirs: UnknownKeys, result: MergeResult) -> UnknownKeys:
    """This side's own keys, plus the other side's where this side has none (their
    tracks' frame entries keep theirs, under the ids the tracks have in the result)."""
    frames = dict(mine.frames)
    for (object_id, frame), keys in theirs.frames.items():
        new_id = result.their_ids.get(object_id)
        if new_id is not None and (new_id, frame) not in frames:
            frames[(new_id, frame)] = keys
    labels = {**theirs.labels, **mine.labels}
    return UnknownKeys(
        top={**theirs.top, **mine.top},
        dicom={**theirs.dicom, **mine.dicom},
        calibration={**theirs.calibration, **mine.calibration},
        manual={**theirs.manual, **mine.manual},
        label_set={**theirs.label_set, **mine.label_set},
        labels=labels,
        frames=frames,
    )


__all__ = [
    "CONFLICT_KEY",
    "THEIR_VERSION_SUFFIX",
    "MergeResult",
    "conflict_flag",
    "merge_annotations",
    "merge_documents",
    "merged_extra",
]
