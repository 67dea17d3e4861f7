"""DICOM SR import: the tracks of a TID 1500 Measurement Report back into annotations.

No Qt. Reads what :mod:`usannotate.export.sr` writes (with highdicom): one measurement
group per Tracking Unique Identifier is one track (reports of earlier versions, one group
per track and frame, and of other tools are read too: groups sharing a tracking UID are
one track). A frame's geometry is the SCOORD a measurement is inferred from (or a TID
1410 group's region), its frame the SCOORD's ReferencedFrameNumber, 1-based in DICOM,
0-based here (a region's closing point dropped). The group's text evaluations say which
frames are keyframes, tracked or interpolated (interpolated ones are skipped: they are
interpolated again), where the gap markers are, and the sidecar's track id and name.
Measurements are not read back: they follow from the geometry.
"""

from __future__ import annotations

import os

import highdicom as hd
import numpy as np
from highdicom.sr.utils import find_content_items

from usannotate.annotations import AnnotatedObject, Annotations, FrameSource, ShapeKind
from usannotate.export._common import ExportError
from usannotate.export._imported import ImportedTrack, add_imported_tracks
from usannotate.export.sr_codes import (
    FRAME_LISTS,
    FRAME_SOURCE,
    MEASUREMENT_CODES,
    OUT_OF_VIEW,
    SCHEME,
    SOURCE_CODES,
    TRACK_ID,
    TRACK_NAME,
    parse_frame_ranges,
)

__all__ = ["read_sr_tracks", "sr_into_annotations"]

_VT = hd.sr.ValueTypeValues


def read_sr_tracks(
    path: str | os.PathLike[str], *, sop_instance_uid: str, n_frames: int
) -> list[ImportedTrack]:
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
    tracks: dict[str, ImportedTrack] = {}
    try:
        for group in groups:
            _read_group(group, tracks, name, sop_instance_uid, n_frames)
        order = _tracking_uid_order(sr)
    except ExportError:
        raise
    except (AttributeError, TypeError, ValueError, IndexError, KeyError):
        # A report highdicom reads but whose groups lack what a track needs (another
        # tool's layout); the exception's text may quote the file, so it is not told.
        raise ExportError(
            f"{name}: a measurement group lacks a tracking UID, frame or geometry"
        ) from None
    found = sorted(tracks.items(), key=lambda item: order.get(item[0], 0))
    kept = [track for _, track in found if track.frames]
    if not kept:
        raise ExportError(f"{name}: the report holds no marks on this DICOM")
    return kept


def _read_group(
    group: object,
    tracks: dict[str, ImportedTrack],
    name: str,
    sop_instance_uid: str,
    n_frames: int,
) -> None:
    """Add what one measurement group says about its track to ``tracks``."""
    shapes = [s for s in _group_shapes(group, name) if s[0] == sop_instance_uid]
    gap_frames = _old_gap(group, name, sop_instance_uid)
    if not shapes and not gap_frames:
        return  # about another image, or no geometry at all
    finding = group.finding_type
    key = (
        str(finding.value)
        if finding is not None and finding.scheme_designator == SCHEME
        else str(group.tracking_identifier or "")
    )
    uid = str(group.tracking_uid)
    track = tracks.setdefault(uid, ImportedTrack(f"track {key!r}", key))
    texts = {
        item.name: str(item.value) for item in find_content_items(group[0], value_type=_VT.TEXT)
    }
    track.object_id = track.object_id or texts.get(TRACK_ID, "")
    track.name = track.name or texts.get(TRACK_NAME, "")
    sources = _frame_sources(group, texts, name, n_frames)
    absent = texts.get(FRAME_LISTS["absent"])
    if absent is not None:
        gap_frames += _numbers(absent, name, n_frames)
    for number in gap_frames:
        _check_number(number, name, n_frames)
        track.gaps.add(number - 1)  # DICOM frame numbers are 1-based; ours are 0-based
    for _, number, kind, points in shapes:
        _check_number(number, name, n_frames)
        if track.kind not in (None, kind):
            raise ExportError(f"{name}: track {key!r} changes its shape between frames")
        track.kind = kind
        source = sources(number)
        if source is not FrameSource.INTERPOLATED:
            track.frames[number - 1] = (points, source)


def _check_number(number: int, name: str, n_frames: int) -> None:
    if not 1 <= number <= n_frames:
        raise ExportError(f"{name}: frame number {number} is outside the loop's 1 .. {n_frames}")


def _numbers(text: str, name: str, n_frames: int) -> list[int]:
    try:
        return sorted(parse_frame_ranges(text, n_frames))
    except ValueError as exc:
        raise ExportError(f"{name}: {exc}") from None


def _frame_sources(group: object, texts: dict[object, str], name: str, n_frames: int):
    """``1-based frame number -> FrameSource`` of a group: from its frame lists, else
    (one group per frame, earlier versions) its frame source evaluation; groups of other
    tools (neither) are keyframes: someone placed them."""
    listed: dict[int, FrameSource] = {}
    for source in FrameSource:
        text = texts.get(FRAME_LISTS[source.value])
        if text is not None:
            listed.update(dict.fromkeys(_numbers(text, name, n_frames), source))
    evaluated = _evaluated_source(group) or FrameSource.KEYFRAME
    return lambda number: listed.get(number, evaluated)


def _evaluated_source(group: object) -> FrameSource | None:
    for evaluation in group.get_qualitative_evaluations(FRAME_SOURCE):
        for source, code in SOURCE_CODES.items():
            if evaluation.value == code:
                return FrameSource(source)
    return None


def _old_gap(group: object, name: str, sop_instance_uid: str) -> list[int]:
    """The frame of a gap group (earlier versions: no geometry, OUT_OF_VIEW)."""
    if not any(e.value == OUT_OF_VIEW for e in group.get_qualitative_evaluations(FRAME_SOURCE)):
        return []
    images = getattr(group, "source_images", None) or []
    return [
        number
        for image in images
        for uid, number in [_reference(image, name)]
        if uid == sop_instance_uid
    ]


def _group_shapes(group: object, name: str) -> list[tuple[str, int, ShapeKind, np.ndarray]]:
    """``(image UID, 1-based frame number, kind, points)`` of each frame's geometry in a
    group: a TID 1410 group's region, and each SCOORD a measurement is inferred from."""
    if isinstance(group, hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations):
        roi = group.roi
        if roi is None or roi.graphic_type != hd.sr.GraphicTypeValues.POLYLINE:
            return []
        uid, number = _reference(roi.ContentSequence[0], name)
        return [(uid, number, ShapeKind.REGION, _open(np.asarray(roi.value, dtype=np.float64)))]
    items = find_content_items(group[0], value_type=_VT.NUM)
    needle = any(item.name == MEASUREMENT_CODES["angle"] for item in items)
    region = any(item.name == MEASUREMENT_CODES["area"] for item in items)
    shapes = []
    for item in items:
        if "ContentSequence" not in item:
            continue  # a value inferred from nothing named (another frame's geometry)
        for scoord in find_content_items(item, value_type=_VT.SCOORD):
            uid, number = _reference(scoord.ContentSequence[0], name)
            points = np.asarray(scoord.value, dtype=np.float64).reshape(-1, 2)
            if scoord.graphic_type == hd.sr.GraphicTypeValues.POINT:
                kind = ShapeKind.POINT
            elif region:
                kind, points = ShapeKind.REGION, _open(points)
            else:
                kind = ShapeKind.NEEDLE if needle and len(points) == 2 else ShapeKind.POLYLINE
            shapes.append((uid, number, kind, points))
    return shapes


def _open(points: np.ndarray) -> np.ndarray:
    """A closed SCOORD polyline without its closing point (SCOORD repeats point 1)."""
    if len(points) > 1 and np.array_equal(points[0], points[-1]):
        return points[:-1]
    return points


def _tracking_uid_order(sr: object) -> dict[str, int]:
    """Tracking UIDs in the order the report first names them (the tracks' order)."""
    order: dict[str, int] = {}
    stack = list(reversed(getattr(sr, "ContentSequence", [])))
    while stack:
        item = stack.pop()
        code = getattr(item, "ConceptNameCodeSequence", None)
        value = getattr(code[0], "CodeValue", None) if code else None
        if value == "112040" and hasattr(item, "UID"):  # Tracking Unique Identifier
            order.setdefault(str(item.UID), len(order))
        stack.extend(reversed(getattr(item, "ContentSequence", [])))
    return order


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


def sr_into_annotations(
    tracks: list[ImportedTrack], annotations: Annotations, name: str, *, add_labels: bool = False
) -> list[AnnotatedObject]:
    """Add the tracks read from an SR to ``annotations`` (new objects, stored frames and
    gaps as in the report, the sidecar's ids and names when the report keeps them);
    returns the objects added.

    Raises
    ------
    ExportError
        A label is not in the label set (unless ``add_labels``), or a shape does not suit
        its label.
    """
    return add_imported_tracks(tracks, annotations, name, add_labels=add_labels)
