"""The rules of marking: which track a mark continues, what Delete removes, track titles.

The marking tools apply them; they live in the core (no Qt) so that they are tested
without a window.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from usannotate.annotations.edits import Compound, Edit, RemoveObject, SetPoints, hide_on_frame
from usannotate.annotations.kinds import ShapeKind
from usannotate.annotations.model import AnnotatedObject, Annotations

__all__ = ["Deletion", "continued_track", "delete_on_frame", "track_titles"]


@dataclass(frozen=True)
class Deletion:
    """What Delete will do: the edit, a sentence for the status bar, and whether the mark
    leaves the frame (a point of it was deleted otherwise)."""

    edit: Edit
    message: str
    mark_removed: bool


def continued_track(annotations: Annotations, label_id: str, frame: int) -> AnnotatedObject | None:
    """The track a new mark of ``label_id`` drawn on ``frame`` continues, if any.

    A track of that label with nothing stored on ``frame`` (interpolated or out of view
    there): drawing the label again places a keyframe of the same structure rather than
    a second one. Of several, the one whose nearest stored frame is closest to ``frame``
    (earlier tracks first on a tie).
    """
    candidates = [
        obj for obj in annotations.objects if obj.label_id == label_id and frame not in obj.frames
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda obj: min((abs(f - frame) for f in obj.frames), default=1 << 30),
    )


def delete_on_frame(
    annotations: Annotations, object_id: str, frame: int, vertex: int | None = None
) -> Deletion:
    """What Delete does to the mark ``object_id`` on ``frame``.

    With ``vertex`` (the point under the cursor) of a plane or region that can spare one
    (more than its kind's fewest), that point goes. Otherwise the mark goes from this
    frame only (a gap marker, so the frames around it are not joined across it), and the
    whole track when this was its only frame.

    Raises
    ------
    KeyError
        No object ``object_id``, or it is not on ``frame``.
    """
    obj = annotations.get(object_id)
    if obj is None:
        raise KeyError(f"no object {object_id!r}")
    points = obj.points(frame)
    if points is None:
        raise KeyError(f"object {object_id!r} is not on frame {frame}")
    label = annotations.label_set.get(obj.label_id)
    name = label.name if label is not None else obj.label_id
    if (
        vertex is not None
        and obj.kind in (ShapeKind.POLYLINE, ShapeKind.REGION)
        and len(points) > obj.kind.min_points
    ):
        kept = np.delete(points, vertex, axis=0)
        return Deletion(
            SetPoints(object_id, frame, kept, text="Delete point"), "Point deleted", False
        )
    if set(obj.frame_sources()) == {frame}:  # its only frame: the object goes
        edits: list[Edit] = [RemoveObject(object_id)]
    else:
        edits = [hide_on_frame(obj, frame)]
    text = f"Delete {name} on frame {frame + 1}"
    return Deletion(Compound(edits, text=text), f"{name} deleted on frame {frame + 1}", True)


def track_titles(annotations: Annotations) -> dict[str, str]:
    """A title per track, as the timeline, the curves and messages name it: the track's
    own name, else its label's, numbered when several tracks share a label."""
    per_label = Counter(o.label_id for o in annotations.objects)
    counts: Counter[str] = Counter()
    titles = {}
    for obj in annotations.objects:
        label = annotations.label_set.get(obj.label_id)
        title = obj.name or (label.name if label else obj.label_id)
        if not obj.name and per_label[obj.label_id] > 1:
            counts[obj.label_id] += 1
            title += f" {counts[obj.label_id]}"
        titles[obj.id] = title
    return titles
