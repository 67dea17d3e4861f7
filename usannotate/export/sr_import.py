"""DICOM SR import: the tracks of a TID 1500 Measurement Report back into annotations.

No Qt. Reads what :mod:`usannotate.export.sr` writes (with highdicom): every measurement
group of one Tracking Unique Identifier is one track; its frame is the group's
ReferencedFrameNumber, 1-based in DICOM, 0-based here; its geometry the group's SCOORD
(a region's closing point dropped); keyframes and tracked frames are stored, interpolated
ones skipped (they are interpolated again), gaps become gap markers. Measurements are
not read back: they follow from the geometry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import highdicom as hd
import numpy as np

from usannotate.annotations import AnnotatedObject, Annotations, FrameSource, ShapeKind
from usannotate.export._common import ExportError, resolve_labels
from usannotate.export.sr_codes import (
    FRAME_SOURCE,
    MEASUREMENT_CODES,
    OUT_OF_VIEW,
    SCHEME,
    SOURCE_CODES,
)

__all__ = ["read_sr_tracks", "sr_into_annotations"]


@dataclass
class _Track:
    """One track as read from the report, before it meets a label set."""

    uid: str
    label_key: str  # the label id (our finding type) or else the tracking identifier
    kind: ShapeKind | None = None
    frames: dict[int, tuple[np.ndarray, FrameSource]] = field(default_factory=dict)
    gaps: set[int] = field(default_factory=set)


def read_sr_tracks(
    path: str | os.PathLike[str], *, sop_instance_uid: str, n_frames: int
) -> list[_Track]:
    """The tracks of the SR at ``path`` that refer to the image ``sop_instance_uid``.

    Raises
    ------
    ExportError
        Not a DICOM SR, not a TID 1500 report, no groups for this image, or a frame
        number outside ``1 .. n_frames``.
    """
    name = os.path.basename(path)
    try:
        sr = hd.sr.srread(path)
        report = sr.content
        groups = [
            *report.get_planar_roi_measurement_groups(),
            *report.get_image_measurement_groups(),
        ]
    except Exception:  # pydicom and highdicom raise many kinds; none may quote the file
        raise ExportError(f"{name}: not a DICOM SR measurement report (TID 1500)") from None
    tracks: dict[str, _Track] = {}
    for group in groups:
        read = _group_geometry(group, name)
        if read is None:
            continue
        image_uid, number, kind, points = read
        if image_uid != sop_instance_uid:
            continue
        if not 1 <= number <= n_frames:
            raise ExportError(
                f"{name}: frame number {number} is outside the loop's 1 .. {n_frames}"
            )
        frame = number - 1  # DICOM frame numbers are 1-based; ours are 0-based
        finding = group.finding_type
        key = (
            str(finding.value)
            if finding is not None and finding.scheme_designator == SCHEME
            else str(group.tracking_identifier or "")
        )
        track = tracks.setdefault(str(group.tracking_uid), _Track(str(group.tracking_uid), key))
        source = _frame_source(group)
        if source is None:
            track.gaps.add(frame)
            continue
        if kind is not None:
            if track.kind not in (None, kind):
                raise ExportError(f"{name}: track {key!r} changes its shape between frames")
            track.kind = kind
        if source is not FrameSource.INTERPOLATED:
            track.frames[frame] = (points, source)
    order = _tracking_uid_order(sr)
    found = sorted((t for t in tracks.values() if t.frames), key=lambda t: order.get(t.uid, 0))
    if not found:
        raise ExportError(f"{name}: the report holds no marks on this DICOM")
    return found


def _tracking_uid_order(sr: object) -> dict[str, int]:
    """Tracking UIDs in the order the report first names them (the tracks' order)."""
    order: dict[str, int] = {}
    stack = list(reversed(getattr(sr, "ContentSequence", [])))
    while stack:
        item = stack.pop()
        code = getattr(item, "ConceptNameCodeSequence", None)
        if code and code[0].CodeValue == "112040" and hasattr(item, "UID"):  # Tracking UID
            order.setdefault(str(item.UID), len(order))
        stack.extend(reversed(getattr(item, "ContentSequence", [])))
    return order


def _group_geometry(
    group: object, name: str
) -> tuple[str, int, ShapeKind | None, np.ndarray] | None:
    """``(image UID, 1-based frame number, kind, points)`` of a group; kind None for a gap."""
    if isinstance(group, hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations):
        roi = group.roi
        if roi is None or roi.graphic_type != hd.sr.GraphicTypeValues.POLYLINE:
            return None
        reference = roi.ContentSequence[0]
        points = np.asarray(roi.value, dtype=np.float64)
        if len(points) > 1 and np.array_equal(points[0], points[-1]):
            points = points[:-1]  # SCOORD repeats the first point to close a polygon
        return (*_reference(reference, name), ShapeKind.REGION, points)
    images = getattr(group, "source_images", None) or []
    if not images:
        return None
    measurements = group.get_measurements()
    coordinates = [c for m in measurements for c in (m.referenced_coordinates or [])]
    if not coordinates:
        return (*_reference(images[0], name), None, np.empty((0, 2)))
    scoord = coordinates[0]
    points = np.asarray(scoord.value, dtype=np.float64).reshape(-1, 2)
    if scoord.graphic_type == hd.sr.GraphicTypeValues.POINT:
        kind = ShapeKind.POINT
    else:
        needle = any(m.name == MEASUREMENT_CODES["angle"] for m in measurements)
        kind = ShapeKind.NEEDLE if needle and len(points) == 2 else ShapeKind.POLYLINE
    return (*_reference(images[0], name), kind, points)


def _reference(item: object, name: str) -> tuple[str, int]:
    """``(SOP Instance UID, 1-based frame number)`` an IMAGE content item refers to."""
    try:
        if hasattr(item, "ReferencedSOPSequence"):
            item = item.ReferencedSOPSequence[0]
        uid = str(item.ReferencedSOPInstanceUID)
        numbers = item.ReferencedFrameNumber
    except AttributeError:
        raise ExportError(f"{name}: a measurement group names no frame") from None
    number = int(numbers[0] if isinstance(numbers, list | tuple) else numbers)
    return uid, number


def _frame_source(group: object) -> FrameSource | None:
    """Keyframe, tracked or interpolated; None for a gap. Groups of other tools (no frame
    source) are keyframes: someone placed them."""
    for evaluation in group.get_qualitative_evaluations():
        if evaluation.name == FRAME_SOURCE:
            if evaluation.value == OUT_OF_VIEW:
                return None
            for source, code in SOURCE_CODES.items():
                if evaluation.value == code:
                    return FrameSource(source)
    return FrameSource.KEYFRAME


def sr_into_annotations(
    tracks: list[_Track], annotations: Annotations, name: str, *, add_labels: bool = False
) -> list[AnnotatedObject]:
    """Add the tracks read from an SR to ``annotations`` (new objects, stored frames and
    gaps as in the report); returns the objects added.

    Raises
    ------
    ExportError
        A label is not in the label set (unless ``add_labels``), or a shape does not suit
        its label.
    """
    wanted = [(t.label_key, t.kind or ShapeKind.POINT, None) for t in tracks]
    labels = resolve_labels(annotations.label_set, wanted, name, add_labels=add_labels)
    added = []
    for track in tracks:
        label = labels[track.label_key]
        obj = AnnotatedObject(label.id, label.kind)
        try:
            for frame, (points, source) in sorted(track.frames.items()):
                obj.set_points(frame, points, source)
        except ValueError as exc:
            raise ExportError(f"{name}: track {track.label_key!r}: {exc}") from None
        for frame in track.gaps:
            if frame not in obj.frames:
                obj.mark_absent(frame)
        added.append(annotations.add(obj))
    return added
