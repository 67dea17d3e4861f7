"""Tracks read from another tool's file (DICOM SR, CVAT XML) and how they become objects.

No Qt. Each import reads its format into :class:`ImportedTrack` values; one function,
:func:`add_imported_tracks`, matches their labels to the label set and adds them to the
annotations, so the SR and CVAT imports store frames, gaps, ids and names the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from usannotate.annotations import AnnotatedObject, Annotations, FrameSource, ShapeKind
from usannotate.export._common import ExportError, resolve_labels

__all__ = ["ImportedTrack", "add_imported_tracks"]


@dataclass
class ImportedTrack:
    """One track as read from a file, before it meets a label set.

    ``frames`` maps a 0-based frame to its stored ``(N, 2)`` points and source (keyframe
    or tracked; frames the file interpolated are left out, they are interpolated again);
    ``gaps`` are the 0-based frames of its gap markers. ``object_id`` and ``name`` are the
    sidecar's, when the file kept them (a usannotate export); else empty.
    """

    where: str  # how messages name the track: "track 3 (Needle)"
    label_key: str  # a label id or name, matched by resolve_labels
    kind: ShapeKind | None = None
    colour: str | None = None
    object_id: str = ""
    name: str = ""
    frames: dict[int, tuple[np.ndarray, FrameSource]] = field(default_factory=dict)
    gaps: set[int] = field(default_factory=set)
    #: ``(frame, {attribute name: text})`` of each visible shape, in frame order (CVAT).
    attribute_texts: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def add_imported_tracks(
    tracks: list[ImportedTrack], annotations: Annotations, name: str, *, add_labels: bool
) -> list[AnnotatedObject]:
    """Add the tracks that have stored frames to ``annotations`` as objects (their
    stored frames and gap markers as read; the file's object id kept unless another
    object has it, its name kept); returns the objects added.

    Raises
    ------
    ExportError
        A label is not in the label set (unless ``add_labels``), or a shape does not suit
        its label.
    """
    kept = [t for t in tracks if t.frames]
    wanted = [(t.label_key, t.kind or ShapeKind.POINT, t.colour) for t in kept]
    labels = resolve_labels(annotations.label_set, wanted, name, add_labels=add_labels)
    added = []
    for track in kept:
        label = labels[track.label_key]
        obj = AnnotatedObject(label.id, label.kind, name=track.name)
        if track.object_id and annotations.get(track.object_id) is None:
            obj.id = track.object_id
        try:
            for frame, (points, source) in sorted(track.frames.items()):
                obj.set_points(frame, points, source)
        except ValueError as exc:
            raise ExportError(f"{name}: {track.where}: {exc}") from None
        for frame in sorted(track.gaps):
            if frame not in obj.frames:
                obj.mark_absent(frame)
        added.append(annotations.add(obj))
    return added
