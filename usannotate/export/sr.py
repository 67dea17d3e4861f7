"""DICOM SR export: a TID 1500 Measurement Report of a loop's tracks, built with highdicom.

No Qt. One measurement group per track and frame, all groups of a track sharing its
Tracking Identifier (the label's name) and Tracking Unique Identifier (a UID per track):
DICOM's TID 1410 holds exactly one region per group, so a track through the loop is the
set of groups with its tracking UID. Regions (fluid, structures to avoid) are TID 1410
planar ROI groups with a closed POLYLINE; planes and the needle (POLYLINE) and points
(POINT) are TID 1501 groups whose measurements are inferred from their SCOORD. Each group
names its frame with ReferencedFrameNumber, which is 1-based (our frames are 0-based: the
conversion is here and in :mod:`usannotate.export.sr_import` only), and says with a
qualitative evaluation whether the frame is a keyframe, tracked or interpolated. A gap
(the track out of view) is a TID 1501 group with no geometry saying so.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from usannotate import __version__
from usannotate._atomic import write_atomically
from usannotate.annotations import AnnotatedObject, Row, ShapeKind, measure_frame
from usannotate.export._common import AnnotatedLoop, ExportError, check_units, frames_of_track
from usannotate.export.sr_codes import (
    FRAME_SOURCE,
    MEASUREMENT_CODES,
    OUT_OF_VIEW,
    SCHEME,
    SOURCE_CODES,
    UNIT_CODES,
    label_code,
)

__all__ = ["build_sr", "sr_rows", "tracking_uid", "write_sr"]


def tracking_uid(sop_instance_uid: str, object_id: str) -> str:
    """The Tracking Unique Identifier of a track: stable for one DICOM and one track."""
    return generate_uid(entropy_srcs=["usannotate-track", sop_instance_uid, object_id])


def sr_rows(work: AnnotatedLoop, *, all_frames: bool = False) -> list[Row]:
    """The measurement rows an SR of ``work`` holds: ``usannotate measure``'s rows on the
    frames exported (stored frames of each track, or every frame with ``all_frames``)."""
    n = work.loop.n_frames
    wanted = {
        (obj.id, f) for obj in work.annotations.objects for f in frames_of_track(obj, n, all_frames)
    }
    frames = sorted({f for _, f in wanted})
    return [
        row
        for frame in frames
        for row in measure_frame(work.annotations, frame, work.calibration_for)
        if (row.object_id, row.frame) in wanted
    ]


def build_sr(
    work: AnnotatedLoop,
    *,
    all_frames: bool = False,
    allow_px: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> hd.sr.ComprehensiveSR:
    """The Measurement Report of ``work``'s tracks as a Comprehensive SR instance.

    Parameters
    ----------
    work
        The loop and its sidecar.
    all_frames
        Write every frame where a track exists (interpolated ones too), not only its
        keyframes and tracked frames.
    allow_px
        Write measurements the calibration cannot give in mm in px (UCUM annotations
        ``{pixels}``) instead of refusing the export.
    progress
        Called with ``(tracks done, tracks)``.

    Raises
    ------
    ExportError
        Nothing is marked, or some values are in px and ``allow_px`` is not set.
    """
    objects = [o for o in work.annotations.objects if o.frames]
    if not objects:
        raise ExportError(f"{work.name}: nothing is marked on this loop")
    rows = sr_rows(work, all_frames=all_frames)
    check_units(rows, work.name, allow_px=allow_px)
    by_key: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        by_key.setdefault((row.object_id, row.frame), []).append(row)

    header = _evidence(work)
    try:
        groups = []
        for done, obj in enumerate(objects):
            groups += _track_groups(work, obj, header, by_key, all_frames)
            if progress is not None:
                progress(done + 1, len(objects))

        observer = hd.sr.ObservationContext(
            observer_device_context=hd.sr.ObserverContext(
                observer_type=codes.DCM.Device,
                observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
                    uid=generate_uid(entropy_srcs=["usannotate", __version__]),
                    name="usannotate",
                    manufacturer_name="usannotate",
                    model_name=__version__,
                ),
            ),
            **_person_observer(work.doc.annotator),
        )
        report = hd.sr.MeasurementReport(
            observation_context=observer,
            procedure_reported=codes.SCT.Ultrasonography,
            imaging_measurements=groups,
            title=codes.DCM.ImagingMeasurementReport,
        )
        sr = hd.sr.ComprehensiveSR(
            evidence=[header],
            content=report,
            series_instance_uid=hd.UID(),
            series_number=9001,
            sop_instance_uid=hd.UID(),  # a new instance each time: its content differs
            instance_number=1,
            manufacturer="usannotate",
            series_description="usannotate measurements",
            is_complete=True,
        )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # highdicom validates eagerly; its messages may quote header values, so only the
        # kind of complaint is told.
        raise ExportError(
            f"{work.name}: highdicom refused the report ({type(exc).__name__}): the DICOM "
            "lacks what an SR must refer to"
        ) from None
    # Our private coding scheme, declared as PS3.3 C.12.1.1.2 asks.
    scheme = pydicom.Dataset()
    scheme.CodingSchemeDesignator = SCHEME
    scheme.CodingSchemeName = "usannotate annotation codes"
    scheme.CodingSchemeResponsibleOrganization = "usannotate"
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr


#: Type 2 attributes (present, empty when unknown) that highdicom copies from the image
#: into the SR's patient and study modules; scanners' exports often leave some out.
_COPIED_TYPE_2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)


def _evidence(work: AnnotatedLoop) -> pydicom.Dataset:
    """The image's header as the SR's evidence, with empty Type 2 attributes added where
    the file lacks them (the values the SR copies stay the file's own)."""
    try:
        header = pydicom.dcmread(work.loop.path, stop_before_pixels=True)
        missing = [k for k in ("StudyInstanceUID", "SeriesInstanceUID") if k not in header]
    except Exception:  # the loop opened, so this is a header pydicom reads only lazily
        raise ExportError(f"{work.name}: the DICOM header cannot be read for the SR") from None
    if missing:
        raise ExportError(f"{work.name}: the DICOM has no {missing[0]}: the SR cannot refer to it")
    for keyword in _COPIED_TYPE_2:
        if keyword not in header:
            setattr(header, keyword, "")
    return header


def _person_observer(annotator: str) -> dict[str, object]:
    """The annotator as person observer, when the sidecar names one (a PN, at most 64)."""
    if not annotator.strip():
        return {}
    name = annotator.strip().replace("\\", " ")[:63]
    if "^" not in name:
        name += "^"  # a single-component name: the whole text is the family name
    return {
        "observer_person_context": hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=name),
        )
    }


def _track_groups(
    work: AnnotatedLoop,
    obj: AnnotatedObject,
    header: pydicom.Dataset,
    by_key: dict[tuple[str, int], list[Row]],
    all_frames: bool,
) -> list[object]:
    label = work.annotations.label_set.get(obj.label_id)
    label_name = label.name if label is not None else obj.label_id
    tracking = hd.sr.TrackingIdentifier(
        uid=tracking_uid(work.loop.identity.sop_instance_uid, obj.id), identifier=label_name[:64]
    )
    finding = label_code(obj.label_id, label_name[:64])
    geometry = obj.all_geometry(work.loop.n_frames)
    frames = set(frames_of_track(obj, work.loop.n_frames, all_frames))
    gaps = {f for f in obj.absent if f < work.loop.n_frames}
    groups: list[object] = []
    for frame in sorted(frames | gaps):
        # DICOM frame numbers are 1-based; ours are 0-based.
        number = frame + 1
        if frame in gaps:
            groups.append(_gap_group(header, number, tracking, finding))
            continue
        points, source = geometry[frame]
        evaluation = hd.sr.QualitativeEvaluation(FRAME_SOURCE, SOURCE_CODES[source.value])
        rows = by_key.get((obj.id, frame), [])
        groups.append(
            _frame_group(header, number, obj.kind, points, tracking, finding, rows, evaluation)
        )
    return groups


def _source_image(header: pydicom.Dataset, number: int) -> hd.sr.SourceImageForRegion:
    return hd.sr.SourceImageForRegion(
        referenced_sop_class_uid=header.SOPClassUID,
        referenced_sop_instance_uid=header.SOPInstanceUID,
        referenced_frame_numbers=[number],
    )


def _frame_group(
    header: pydicom.Dataset,
    number: int,
    kind: ShapeKind,
    points: np.ndarray,
    tracking: hd.sr.TrackingIdentifier,
    finding: hd.sr.CodedConcept,
    rows: list[Row],
    evaluation: hd.sr.QualitativeEvaluation,
) -> object:
    """One track on one frame: its geometry as SCOORD and its measurements."""
    data = np.asarray(points, dtype=np.float32)
    if kind is ShapeKind.REGION:
        closed = np.vstack([data, data[:1]])  # SCOORD closes a polygon by repeating point 1
        region = hd.sr.ImageRegion("POLYLINE", closed, _source_image(header, number))
        return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            referenced_region=region,
            finding_type=finding,
            measurements=[_measurement(row) for row in rows],
            qualitative_evaluations=[evaluation],
        )
    graphic = "POINT" if kind is ShapeKind.POINT else "POLYLINE"
    coordinates = [hd.sr.CoordinatesForMeasurement(graphic, data, _source_image(header, number))]
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        finding_type=finding,
        # The geometry once, under the first measurement (the others are of the same
        # geometry on the same frame: the group names the frame): a third fewer items.
        measurements=[
            _measurement(row, coordinates if k == 0 else None) for k, row in enumerate(rows)
        ],
        qualitative_evaluations=[evaluation],
        source_images=[_group_image(header, number)],
    )


def _gap_group(
    header: pydicom.Dataset,
    number: int,
    tracking: hd.sr.TrackingIdentifier,
    finding: hd.sr.CodedConcept,
) -> object:
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        finding_type=finding,
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(FRAME_SOURCE, OUT_OF_VIEW)],
        source_images=[_group_image(header, number)],
    )


def _group_image(header: pydicom.Dataset, number: int) -> hd.sr.SourceImageForMeasurementGroup:
    return hd.sr.SourceImageForMeasurementGroup(
        referenced_sop_class_uid=header.SOPClassUID,
        referenced_sop_instance_uid=header.SOPInstanceUID,
        referenced_frame_numbers=[number],
    )


def _measurement(
    row: Row, coordinates: list[hd.sr.CoordinatesForMeasurement] | None = None
) -> hd.sr.Measurement:
    return hd.sr.Measurement(
        name=MEASUREMENT_CODES[row.measurement],
        value=round(float(row.value), 6),
        unit=UNIT_CODES[row.unit],
        referenced_coordinates=coordinates,
    )


def write_sr(
    work: AnnotatedLoop,
    output: str | os.PathLike[str],
    *,
    all_frames: bool = False,
    allow_px: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Build the SR of ``work`` (see :func:`build_sr`) and write it atomically to
    ``output``.

    Raises
    ------
    ExportError
        As :func:`build_sr`.
    OSError
        The file could not be written (any file already there is left as it was).
    """
    sr = build_sr(work, all_frames=all_frames, allow_px=allow_px, progress=progress)
    buffer = io.BytesIO()
    sr.save_as(buffer, enforce_file_format=True)
    path = Path(output)
    write_atomically(path, buffer.getvalue())
    return path
