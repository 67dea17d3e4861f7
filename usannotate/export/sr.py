"""DICOM SR export: a TID 1500 Measurement Report of a loop's tracks, built with highdicom.

No Qt. **One measurement group per track** (TID 1501 "Measurement and Qualitative
Evaluation Group"): Tracking Identifier = the label's name, Tracking Unique Identifier = a
UID per track, Finding = the label. Its measurements (TID 300) are per frame, each with
its UCUM unit and code; the first measurement of each frame is INFERRED FROM the track's
geometry on that frame as an SCOORD (POLYLINE for planes and the needle, a closed POLYLINE
for regions, POINT for points) SELECTED FROM the source image and frame; the frame's other
measurements are INFERRED FROM the same image and frame. The group's text evaluations
list the track's keyframes, tracked and interpolated frames and gap markers, and keep the
sidecar's track id and name.

Why TID 1501 for regions too: TID 1410 (planar ROI) holds exactly one Image Region per
group, so a region followed through a loop cannot be one TID 1410 group; TID 1501 holds
any number of TID 300 measurements, each INFERRED FROM its own SCOORD, which is where a
region's outline on each frame goes (as its Area's geometry).

The groups also hold the hydrodissection measures (``measure --hydro``'s rows of the same
frames); the case details, events and comments follow the measurements in containers of
their own (:mod:`usannotate.export.sr_details`).

Frame numbers (ReferencedFrameNumber) are 1-based in DICOM; our frames are 0-based: the
conversion is here and in :mod:`usannotate.export.sr_import` only.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from usannotate import __version__
from usannotate._atomic import write_atomically
from usannotate.annotations import AnnotatedObject, Row, ShapeKind, measure_frame
from usannotate.export import sr_details
from usannotate.export._common import AnnotatedLoop, ExportError, check_units, frames_of_track
from usannotate.export._sr_items import ImageReferences, NumItems, ScoordItems, content_element
from usannotate.export.sr_codes import (
    FRAME_LISTS,
    SCHEME,
    TRACK_ID,
    TRACK_NAME,
    frame_ranges,
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
    """The Measurement Report of ``work``'s tracks as a Comprehensive SR instance (its
    ``content`` parsed by highdicom, as :func:`highdicom.sr.srread` gives it).

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
    with _no_cycle_collection():
        sr = _sr_dataset(work, all_frames=all_frames, allow_px=allow_px, progress=progress)
        return hd.sr.ComprehensiveSR.from_dataset(sr, copy=False)


_gc_lock = threading.Lock()
_gc_holders = 0  # reports being built with the collector paused by us


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a report is built and written.

    A report of 2,000 frames is ~100,000 small pydicom objects, all alive until it is
    written: each collection of the oldest generation walks every one of them again and
    finds nothing to free, ~a fifth of the export's CPU time (measured). Reference
    counting still frees everything as usual; cycles wait for the next collection. The
    collector is turned back on only if it was on (the window keeps it off and collects
    on its own thread: :mod:`usannotate.ui.gui_gc`), and only when the last report being
    built at the same time is done.
    """
    global _gc_holders
    with _gc_lock:
        ours = gc.isenabled() or _gc_holders > 0
        if ours:
            _gc_holders += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with _gc_lock:
                _gc_holders -= 1
                if _gc_holders == 0:
                    gc.enable()


def _sr_dataset(
    work: AnnotatedLoop,
    *,
    all_frames: bool,
    allow_px: bool,
    progress: Callable[[int, int], None] | None,
) -> hd.sr.ComprehensiveSR:
    """:func:`build_sr`'s document before highdicom parses its content (what is saved:
    parsing 2,000 frames' content again only to write it would take a third longer)."""
    objects = [o for o in work.annotations.objects if o.frames]
    if not objects:
        raise ExportError(f"{work.name}: nothing is marked on this loop")
    rows = sr_details.with_hydro_rows(work, sr_rows(work, all_frames=all_frames))
    check_units(rows, work.name, allow_px=allow_px)
    by_key: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        by_key.setdefault((row.object_id, row.frame), []).append(row)

    header = _evidence(work)
    try:
        groups: list[tuple[AnnotatedObject, object]] = []
        references = ImageReferences(header)  # shared by the tracks
        nums = NumItems()
        for done, obj in enumerate(objects):
            group = _track_group(
                work, obj, header, by_key, all_frames, references=references, nums=nums
            )
            if group is not None:
                groups.append((obj, group))
            if progress is not None:
                progress(done + 1, len(objects))
        if not groups:
            raise ExportError(f"{work.name}: nothing is marked on the loop's frames")
        first = groups[0][0]
        sample = _track_group(work, first, header, by_key, all_frames, first_only=True)
        sr = _document(work, header, [g for _, g in groups], sample)
    except ExportError:
        raise
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


def _document(
    work: AnnotatedLoop, header: pydicom.Dataset, groups: list[object], sample: object
) -> hd.sr.ComprehensiveSR:
    """The Comprehensive SR document holding the report of ``groups``.

    ``ComprehensiveSR(content=report)`` deep-copies the whole content tree, parses the
    copy again and walks it three times (evidence, SCOORD3D): for a 600-frame loop with 4
    tracks that was about half of the export's time. So highdicom builds the document
    around a report holding only ``sample`` (the first track on its first frame: the same header,
    evidence and checks, as every group refers to the one image of ``header`` and holds
    2D SCOORDs only), then the document takes the whole report's content (for
    :func:`build_sr`, highdicom's ``from_dataset(copy=False)`` then parses it once, in
    place; :func:`write_sr` saves it as it is).
    """
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

    def report(measurement_groups: list[object]) -> hd.sr.MeasurementReport:
        return hd.sr.MeasurementReport(
            observation_context=observer,
            procedure_reported=codes.SCT.Ultrasonography,
            imaging_measurements=measurement_groups,
            title=codes.DCM.ImagingMeasurementReport,
        )

    whole = report(groups)
    sr = hd.sr.ComprehensiveSR(
        evidence=[header],
        content=report([sample]),
        series_instance_uid=hd.UID(),
        series_number=9001,
        sop_instance_uid=hd.UID(),  # a new instance each time: its content differs
        instance_number=1,
        manufacturer="usannotate",
        series_description="usannotate measurements",
        is_complete=True,
    )
    sr.ContentSequence = whole[0].ContentSequence
    # Case details, events and comments follow the measurements (sr_details.py).
    sr.ContentSequence.extend(sr_details.detail_containers(work, header))
    return sr


def _track_group(
    work: AnnotatedLoop,
    obj: AnnotatedObject,
    header: pydicom.Dataset,
    by_key: dict[tuple[str, int], list[Row]],
    all_frames: bool,
    *,
    first_only: bool = False,
    references: ImageReferences | None = None,
    nums: NumItems | None = None,
) -> hd.sr.MeasurementsAndQualitativeEvaluations | None:
    """The track's one measurement group (None when none of its frames is in the loop);
    with ``first_only``, the group of its first frame only."""
    label = work.annotations.label_set.get(obj.label_id)
    label_name = label.name if label is not None else obj.label_id
    n = work.loop.n_frames
    frames = frames_of_track(obj, n, all_frames)[: 1 if first_only else None]
    if not frames:
        return None
    geometry = obj.all_geometry(n)
    images = references if references is not None else ImageReferences(header)
    nums = nums if nums is not None else NumItems()
    scoords = ScoordItems()
    measurements: list[hd.sr.NumContentItem] = []
    by_source: dict[str, list[int]] = {}
    for frame in frames:
        points, source = geometry[frame]
        number = frame + 1  # DICOM frame numbers are 1-based; ours are 0-based
        by_source.setdefault(source.value, []).append(number)
        rows = by_key.get((obj.id, frame), [])
        # Every kind has a value on every frame (length, area or depth): the first one
        # carries the frame's geometry, the others name the same image and frame.
        for k, row in enumerate(rows):
            content = (
                content_element([_scoord(obj.kind, points, images, scoords, number)])
                if k == 0
                else images.measurement(number)
            )
            value = round(float(row.value), 6)
            measurements.append(nums.item(row.measurement, row.unit, value, content))
    # highdicom's group of the same arguments, with the measurements put where its own
    # Measurement objects would go: after the finding, before the source images.
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=tracking_uid(work.loop.identity.sop_instance_uid, obj.id),
            identifier=label_name[:64],
        ),
        finding_type=label_code(obj.label_id, label_name[:64]),
    )
    items = list(group[0].ContentSequence) + measurements
    items.append(images.group([f + 1 for f in frames]))
    # highdicom's QualitativeEvaluation is a CODE; TID 1501 also allows TEXT evaluations
    # of the group (its row 12): the track's id and name, and which frames are which.
    texts = [(TRACK_ID, obj.id)]
    if obj.name:
        texts.append((TRACK_NAME, obj.name))
    texts += [(FRAME_LISTS[s], frame_ranges(by_source[s])) for s in by_source]
    gaps = [f + 1 for f in obj.absent if f < n]
    if gaps:
        texts.append((FRAME_LISTS["absent"], frame_ranges(gaps)))
    items += [
        hd.sr.TextContentItem(
            name=name, value=value, relationship_type=hd.sr.RelationshipTypeValues.CONTAINS
        )
        for name, value in texts
    ]
    group[0].ContentSequence = items  # highdicom makes it a ContentSequence (and checks)
    return group


def _scoord(
    kind: ShapeKind,
    points: np.ndarray,
    images: ImageReferences,
    scoords: ScoordItems,
    number: int,
) -> hd.sr.CoordinatesForMeasurement:
    """The track's geometry on frame ``number`` (1-based) as an SCOORD on that frame."""
    data = np.asarray(points, dtype=np.float32)
    if kind is ShapeKind.REGION:
        data = np.vstack([data, data[:1]])  # SCOORD closes a polygon by repeating point 1
    graphic = "POINT" if kind is ShapeKind.POINT else "POLYLINE"
    return scoords.item(graphic, data, images.region(number))


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
    with _no_cycle_collection():
        sr = _sr_dataset(work, all_frames=all_frames, allow_px=allow_px, progress=progress)
        _mark_as_encoded(sr)
        buffer = io.BytesIO()
        sr.save_as(buffer, enforce_file_format=True)
        del sr
    path = Path(output)
    write_atomically(path, buffer.getvalue())
    return path


#: Value representations of the leaf items encoded once and reused (their values are
#: text, so the text is the whole value).
_TEXT_VRS = frozenset(
    {"AE", "CS", "DA", "DS", "IS", "LO", "LT", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
)


def _mark_as_encoded(sr: pydicom.Dataset) -> None:
    """Ready ``sr`` to be written as Explicit VR Little Endian quickly.

    pydicom writes every item of a dataset made from scratch (no original encoding) by
    first correcting ambiguous VRs in it *and in all its nested items* again: a report
    of 2,000 frames nests 30,000 items up to 8 deep, so the tree is walked about depth
    times, which was over half of an SR export's time. Here one walk of the tree makes
    every element a ``DataElement`` (as the writer would), corrects the ambiguous VRs
    (pydicom's own ``correct_ambiguous_vr_element``, as its ``correct_ambiguous_vr``
    does) and marks each item as already in the encoding it is written in, so the
    writer writes it as it is.

    And the small sequences a report repeats thousands of times (a concept's code, a
    unit, the image and frame referred to, the Content Sequence naming that image: one
    item of text values and of such sequences) are encoded by pydicom once each and
    written from those bytes wherever they recur, as pydicom writes the elements of a
    file it read (``RawDataElement``). Items are visited children first, so a sequence
    whose nested sequences were encoded so can be encoded in its turn. The file is byte
    for byte what pydicom's own path writes (a test compares them).
    """
    from pydicom.dataelem import RawDataElement
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import correct_ambiguous_vr_element, write_sequence
    from pydicom.valuerep import AMBIGUOUS_VR

    encoded: dict[tuple, RawDataElement] = {}
    ours: set[int] = set()  # ids of the elements in ``encoded``
    # Elements put in several items (a frame's Content Sequence), by id and character
    # set: the element (kept alive, so its id stays its own) and what replaced it.
    replaced: dict[tuple[int, str], tuple[pydicom.DataElement, RawDataElement | None]] = {}

    def shared(element: pydicom.DataElement, charset: str | list[str]) -> RawDataElement | None:
        """The element as pydicom's bytes, when it is a one-item sequence of text values
        and of sequences encoded here."""
        if len(element.value) != 1:
            return None
        item = element.value[0]
        if "SpecificCharacterSet" in item or len(item) > 6:
            return None
        values: list[tuple[object, ...]] = []
        for leaf in item.elements():
            if leaf.is_raw:
                if id(leaf) not in ours:
                    return None
                values.append((leaf.tag, id(leaf)))
            elif leaf.VR in _TEXT_VRS:
                values.append((leaf.tag, leaf.VR, str(leaf.value)))
            else:
                return None
        key = (element.tag, str(charset), tuple(values))
        if key not in encoded:
            buffer = DicomBytesIO()
            buffer.is_little_endian, buffer.is_implicit_VR = True, False
            write_sequence(buffer, element, pydicom.charset.convert_encodings(charset))
            value = buffer.getvalue()
            encoded[key] = RawDataElement(element.tag, "SQ", len(value), value, 0, False, True)
            ours.add(id(encoded[key]))
        return encoded[key]

    seen: set[int] = set()  # items put in several places (a frame's image reference)

    def visit(item: pydicom.Dataset, ancestors: list[pydicom.Dataset]) -> None:
        # The writer compares the item's original character set with the one it
        # inherits (pydicom's private ``_character_set``): they must agree.
        charset = item._character_set
        for tag in list(item.keys()):
            element = item.get_item(tag)
            if element.is_raw:
                if id(element) in ours:
                    continue  # ours, put here through another parent
                element = item[tag]  # one copied from the image: converted
            if element.VR in AMBIGUOUS_VR:
                # As pydicom's correct_ambiguous_vr would, before writing; ``ancestors``
                # closest first. (Its own walk of the whole tree took a fifth of
                # this function's time: it grows one list of every item it visits.)
                correct_ambiguous_vr_element(element, item, True, ancestors)
                continue
            if element.VR != "SQ":
                continue
            again = replaced.get((id(element), str(charset)))
            if again is not None:
                if again[1] is not None:
                    item[tag] = again[1]
                continue
            for child in element.value:
                if id(child) not in seen:
                    seen.add(id(child))
                    visit(child, [child, *ancestors])
            raw = shared(element, charset)
            replaced[(id(element), str(charset))] = (element, raw)
            if raw is not None:
                item[tag] = raw
        item.set_original_encoding(False, True, charset)

    seen.add(id(sr))
    visit(sr, [sr])
