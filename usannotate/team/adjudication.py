"""Adjudication: one result from several raters' marks of a loop, and its origins (no Qt).

The result is an ordinary document (``<loop>.adjudicated.usannotate.json``, status
reviewed), edited on its own history; the raters' annotations are only read. Per track
and frame range the adjudicator **accepts** one rater's version (:func:`accept_edit`),
**averages** the raters' (needles and points: :func:`average_edit`), or **edits** the
result with the usual tools. Each object records its origin in ``extra["adjudication"]``
(resources/SIDECAR.md): a list of ``{"first_frame", "last_frame", "how", "raters"}``.
Accept and average write their entry as part of their (undoable) edit; what was edited by
hand is found at save time by :func:`record_provenance`, which compares the result with
what each entry says it took, so an undo or a later drag is always told truthfully.

Tracks are grouped across raters by label, the n-th track of a label (by first frame)
with the n-th of every other rater: :func:`group_tracks`. The raters' comments on a group's
tracks, frames and the loop are listed beside it (:func:`raters_comments`); accepting a
rater's version carries their comments on that track into the result, by their author.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np

from usannotate.annotations import AnnotatedObject, Annotations, ShapeKind
from usannotate.annotations.detail_edits import AddComment
from usannotate.annotations.details import Comment
from usannotate.annotations.edits import AddLabel, Compound, Edit

#: The object key holding its origin.
ADJUDICATION_KEY = "adjudication"


class How(StrEnum):
    """How a frame range of an adjudicated object was made (the file's words)."""

    ACCEPTED = "accepted"
    AVERAGED = "averaged"
    EDITED = "edited"


class AdjudicationError(ValueError):
    """An adjudication step that cannot be done (the message says why)."""


@dataclass(frozen=True)
class TrackGroup:
    """One structure as the raters marked it: ``members`` maps rater -> object id."""

    key: str
    label_id: str
    kind: ShapeKind
    members: dict[str, str] = field(default_factory=dict)

    @property
    def result_id(self) -> str:
        """The id of the adjudicated object made for this group."""
        return f"adjudicated-{self.key}"


def group_tracks(sources: dict[str, Annotations]) -> list[TrackGroup]:
    """The raters' tracks grouped by label, the n-th of each rater's (by first frame)
    together; in label order of first appearance."""
    order: dict[str, ShapeKind] = {}
    for marks in sources.values():
        for obj in marks.objects:
            order.setdefault(obj.label_id, obj.kind)
    groups = []
    for label, kind in order.items():
        per_rater = {
            rater: sorted(
                (o for o in marks.objects if o.label_id == label),
                key=lambda o: ((o.span() or (0, 0))[0], o.id),
            )
            for rater, marks in sources.items()
        }
        for n in range(max(len(tracks) for tracks in per_rater.values())):
            members = {r: t[n].id for r, t in per_rater.items() if n < len(t)}
            groups.append(TrackGroup(f"{label}-{n + 1}", label, kind, members))
    return groups


@dataclass
class ReplaceObject(Edit):
    """Put ``after`` in place of the object with its id (added when there is none);
    revert puts back what was there."""

    after: AnnotatedObject
    text: str = "Adjudicate"
    _before: AnnotatedObject | None = field(default=None, repr=False)
    _position: int = field(default=-1, repr=False)

    def apply(self, annotations: Annotations) -> None:
        current = annotations.get(self.after.id)
        self._before = current
        if current is None:
            self._position = len(annotations.objects)
            annotations.add(self.after)
        else:
            self._position = annotations.objects.index(current)
            annotations.objects[self._position] = self.after

    def revert(self, annotations: Annotations) -> None:
        if self._before is None:
            annotations.remove(self.after.id)
        else:
            annotations.objects[self._position] = self._before


def _with_label(
    result: Annotations, sources: dict[str, Annotations], group: TrackGroup, edit: ReplaceObject
) -> Edit:
    """``edit``, after adding the group's label to the result's label set when it lacks it
    (a rater's own label): one undo step."""
    if result.label_set.get(group.label_id) is not None:
        return edit
    label = next(
        (
            a.label_set.get(group.label_id)
            for a in sources.values()
            if a.label_set.get(group.label_id)
        ),
        None,
    )
    if label is None:
        raise AdjudicationError(f"no rater's label set has the label {group.label_id!r}")
    return Compound([AddLabel(label), edit], text=edit.text)


def _entries(obj: AnnotatedObject | None) -> list[dict[str, Any]]:
    if obj is None:
        return []
    found = obj.extra.get(ADJUDICATION_KEY)
    return [dict(e) for e in found] if isinstance(found, list) else []


def _without_range(entries: list[dict[str, Any]], first: int, last: int) -> list[dict[str, Any]]:
    """The entries with frames ``first..last`` cut out of them."""
    kept = []
    for entry in entries:
        a, b = entry.get("first_frame"), entry.get("last_frame")
        if not (isinstance(a, int) and isinstance(b, int)) or b < first or a > last:
            kept.append(entry)
            continue
        if a < first:
            kept.append({**entry, "last_frame": first - 1})
        if b > last:
            kept.append({**entry, "first_frame": last + 1})
    return kept


def _result_base(result: Annotations, group: TrackGroup) -> AnnotatedObject:
    current = result.get(group.result_id)
    if current is not None:
        return current.copy()
    return AnnotatedObject(group.label_id, group.kind, group.result_id)


def _clear_range(obj: AnnotatedObject, first: int, last: int) -> None:
    for frame in [f for f in (*obj.frames, *obj.absent) if first <= f <= last]:
        obj.clear_frame(frame)


def _record(
    obj: AnnotatedObject, first: int, last: int, how: How, raters: list[str]
) -> AnnotatedObject:
    entries = _without_range(_entries(obj), first, last)
    entries.append({"first_frame": first, "last_frame": last, "how": str(how), "raters": raters})
    entries.sort(key=lambda e: e.get("first_frame", 0))
    obj.extra = {**obj.extra, ADJUDICATION_KEY: entries}
    return obj


def _source(sources: dict[str, Annotations], group: TrackGroup, rater: str) -> AnnotatedObject:
    object_id = group.members.get(rater)
    obj = sources[rater].get(object_id) if object_id is not None and rater in sources else None
    if obj is None:
        raise AdjudicationError(f"{rater} has no {group.label_id} track {group.key}")
    return obj


def accept_edit(
    result: Annotations,
    sources: dict[str, Annotations],
    group: TrackGroup,
    rater: str,
    first: int,
    last: int,
) -> Edit:
    """The edit making the result's track of ``group`` on frames ``first..last`` (0-based,
    inclusive) exactly ``rater``'s version: their stored frames and gaps in the range,
    and their geometry on its two ends as keyframes (so interpolation inside gives theirs).

    Raises
    ------
    AdjudicationError
        The rater has no track in this group, or none on those frames.
    """
    if last < first:
        raise AdjudicationError(f"frames {first + 1}..{last + 1}: the range is empty")
    chosen = _source(sources, group, rater)
    obj = _result_base(result, group)
    _clear_range(obj, first, last)
    copied = 0
    for frame in range(first, last + 1):
        if frame in chosen.absent:
            obj.mark_absent(frame)
            continue
        stored = chosen.stored_points(frame)
        at_end = frame in (first, last)
        points = stored if stored is not None else (chosen.points(frame) if at_end else None)
        if points is not None:
            obj.set_points(frame, points)
            copied += 1
    if not copied:
        raise AdjudicationError(
            f"{rater}'s {group.label_id} has no mark on frames {first + 1}..{last + 1}"
        )
    _record(obj, first, last, How.ACCEPTED, [rater])
    edit = _with_label(
        result, sources, group, ReplaceObject(obj, text=f"Accept {rater}'s {group.label_id}")
    )
    carried = _carried_comments(result, sources, group, rater, first, last)
    if not carried:
        return edit
    return Compound([edit, *carried], text=edit.text)


def raters_comments(
    sources: dict[str, Annotations], group: TrackGroup | None = None
) -> list[tuple[str, Comment]]:
    """What the raters wrote that bears on ``group`` (None: on the loop as a whole):
    ``(rater, comment)`` for their comments on its tracks, and on frames and the loop,
    in frame order (the loop's first). The adjudicator reads them beside the tracks."""
    found = []
    for rater, marks in sources.items():
        mine = group.members.get(rater) if group is not None else None
        for comment in marks.details.comments:
            if comment.object_id is None or (mine is not None and comment.object_id == mine):
                found.append((rater, comment))
    return sorted(
        found,
        key=lambda rc: (rc[1].frame is not None, rc[1].frame or 0, rc[0], rc[1].time),
    )


def _carried_comments(
    result: Annotations,
    sources: dict[str, Annotations],
    group: TrackGroup,
    rater: str,
    first: int,
    last: int,
) -> list[Edit]:
    """The accepted rater's comments on their track (on the range, or on the track as a
    whole) as comments on the result's track, by their author; each once."""
    mine = group.members.get(rater)
    have = {c.id for c in result.details.comments}
    edits: list[Edit] = []
    for comment in sources[rater].details.comments:
        if comment.object_id != mine or comment.id in have:
            continue
        if comment.frame is not None and not first <= comment.frame <= last:
            continue
        author = comment.author or rater
        carried = replace(comment, object_id=group.result_id, author=author)
        edits.append(AddComment(carried, text="Carry a rater's comment"))
    return edits


def average_points(objects: list[AnnotatedObject], frame: int) -> np.ndarray | None:
    """The mean of the objects' geometry on ``frame``, point by point (None unless all
    have it and the same number of points)."""
    found = [obj.points(frame) for obj in objects]
    if any(points is None for points in found) or len({len(p) for p in found}) != 1:
        return None
    return np.mean(np.stack(found), axis=0)


def average_edit(
    result: Annotations,
    sources: dict[str, Annotations],
    group: TrackGroup,
    raters: list[str],
    first: int,
    last: int,
) -> Edit:
    """The edit making the result's track the raters' mean on ``first..last``: a keyframe
    on every frame where they all have it (needles and points only: a mean of two curves
    or outlines of different shapes is no one's structure).

    Raises
    ------
    AdjudicationError
        Another kind, fewer than two raters, or no frame where all have the track.
    """
    if group.kind not in (ShapeKind.NEEDLE, ShapeKind.POINT):
        raise AdjudicationError(
            f"{group.label_id}: only needles and points are averaged; accept one rater's "
            "version or edit it"
        )
    if len(raters) < 2:
        raise AdjudicationError("averaging needs two raters or more")
    chosen = [_source(sources, group, rater) for rater in raters]
    obj = _result_base(result, group)
    _clear_range(obj, first, last)
    averaged = 0
    for frame in range(first, last + 1):
        mean = average_points(chosen, frame)
        if mean is not None:
            obj.set_points(frame, mean)
            averaged += 1
    if not averaged:
        raise AdjudicationError(
            f"{group.label_id}: no frame in {first + 1}..{last + 1} where all of "
            f"{', '.join(raters)} marked it"
        )
    _record(obj, first, last, How.AVERAGED, sorted(raters))
    return _with_label(result, sources, group, ReplaceObject(obj, text=f"Average {group.label_id}"))


def _expected(
    entry: dict[str, Any], frame: int, sources: dict[str, Annotations], group: TrackGroup | None
) -> np.ndarray | None:
    raters = [r for r in entry.get("raters", []) if isinstance(r, str)]
    if group is None or not raters:
        return None
    try:
        objs = [_source(sources, group, r) for r in raters]
    except AdjudicationError:
        return None
    if entry.get("how") == How.ACCEPTED:
        return objs[0].points(frame)
    if entry.get("how") == How.AVERAGED:
        return average_points(objs, frame)
    return None


def _runs(frames: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for frame in frames:
        if runs and frame == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], frame)
        else:
            runs.append((frame, frame))
    return runs


def provenance(
    obj: AnnotatedObject,
    sources: dict[str, Annotations],
    groups: list[TrackGroup],
    n_frames: int,
) -> list[dict[str, Any]]:
    """What ``obj``'s frames came from, as the file records it: each accepted / averaged
    range split where the result no longer is what it took (those frames ``edited``, with
    the raters it was taken from), and frames no entry covers ``edited`` with no rater."""
    group = next((g for g in groups if g.result_id == obj.id), None)
    exists = set(obj.frame_sources(n_frames))
    covered: set[int] = set()
    out: list[dict[str, Any]] = []
    for entry in _entries(obj):
        a, b = entry.get("first_frame"), entry.get("last_frame")
        if not (isinstance(a, int) and isinstance(b, int)):
            continue
        same, changed = [], []
        for frame in range(a, b + 1):
            covered.add(frame)
            mine, theirs = obj.points(frame), _expected(entry, frame, sources, group)
            if mine is None and theirs is None:
                continue
            hand_made = entry.get("how") == How.EDITED
            if hand_made or mine is None or theirs is None or mine.shape != theirs.shape:
                changed.append(frame)
            elif np.allclose(mine, theirs, atol=0.01):  # stored points: 1/1000 px
                same.append(frame)
            else:
                changed.append(frame)
        raters = list(entry.get("raters", []))
        for first, last in _runs(same):
            out.append(
                {"first_frame": first, "last_frame": last, "how": entry["how"], "raters": raters}
            )
        for first, last in _runs(changed):
            out.append(
                {"first_frame": first, "last_frame": last, "how": str(How.EDITED), "raters": raters}
            )
    for first, last in _runs(sorted(exists - covered)):
        out.append({"first_frame": first, "last_frame": last, "how": str(How.EDITED), "raters": []})
    out.sort(key=lambda e: (e["first_frame"], e["how"]))
    return out


def record_provenance(result: Annotations, sources: dict[str, Annotations], n_frames: int) -> None:
    """Write every result object's :func:`provenance` into its ``extra`` (before a save;
    not an edit: it only states what the edits did)."""
    groups = group_tracks(sources)
    for obj in result.objects:
        obj.extra = {**obj.extra, ADJUDICATION_KEY: provenance(obj, sources, groups, n_frames)}


__all__ = [
    "ADJUDICATION_KEY",
    "AdjudicationError",
    "How",
    "ReplaceObject",
    "TrackGroup",
    "accept_edit",
    "average_edit",
    "average_points",
    "group_tracks",
    "provenance",
    "record_provenance",
]
