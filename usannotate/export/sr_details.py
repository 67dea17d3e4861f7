"""What the SR holds beyond the tracks: case details, events, comments, hydro rows (no Qt).

Three containers follow the report's Imaging Measurements in the root of the TID 1500
document (CONTAINS):

``Qualitative Evaluations`` (UMLS C0034375, TID 1500 row 12)
    One item per case detail filled in. A choice or yes/no is a CODE: standard concept
    names and values where DICOM / SNOMED CT have one (Laterality with Left / Right /
    Bilateral / Midline, Target Region with the muscles SNOMED names, Instrument
    Approach, Needle Gauge, Injectate Volume, For Teaching with Yes / No), our private
    scheme ``99USANN`` otherwise (``CASE:<field id>`` names, ``CHOICE:<value>`` values).
    A number is a NUM with its UCUM unit (``ml``, ``mm``, ``{G}`` for a gauge, ``{score}``
    for a 1-5 rating, ``{<unit>}`` for a unit UCUM lacks). Text, and a choice's free text,
    is a TEXT.
``Events`` (99USANN ``EVENTS``)
    One TEXT per event (99USANN ``EVENT``), its value the event type id
    (``injection_start``), INFERRED FROM the source image's frame (1-based).
``Comments`` (99USANN ``COMMENTS``)
    One TEXT per comment (DCM 121106 Comment), with HAS PROPERTIES TEXTs for its author,
    its time (UTC) and, on a track, the sidecar's track id; on a frame, INFERRED FROM
    that frame.

:func:`with_hydro_rows` adds the hydrodissection measures to the rows an SR holds (as NUM
measurements of the tracks' groups, codes in :mod:`usannotate.export.sr_codes`);
:func:`read_sr_details` reads the three containers back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import highdicom as hd
import pydicom
from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes

from usannotate.annotations import Row
from usannotate.annotations.details import FieldDef, FieldType, LoopDetails
from usannotate.export._common import AnnotatedLoop
from usannotate.export.sr_codes import SCHEME, TRACK_ID

__all__ = [
    "COMMENTS",
    "EVENT",
    "EVENTS",
    "QUALITATIVE_EVALUATIONS",
    "case_concept",
    "detail_containers",
    "read_sr_details",
    "with_hydro_rows",
]

QUALITATIVE_EVALUATIONS = CodedConcept("C0034375", "UMLS", "Qualitative Evaluations")
EVENTS = CodedConcept("EVENTS", SCHEME, "Events")
EVENT = CodedConcept("EVENT", SCHEME, "Event")
COMMENTS = CodedConcept("COMMENTS", SCHEME, "Comments")
COMMENT = CodedConcept.from_code(codes.DCM.Comment)
COMMENT_AUTHOR = CodedConcept("COMMENT_AUTHOR", SCHEME, "Comment author")
COMMENT_TIME = CodedConcept("COMMENT_TIME", SCHEME, "Comment time (UTC)")
_YES = CodedConcept.from_code(codes.SCT.Yes)
_NO = CodedConcept.from_code(codes.SCT.No)

#: Case field id -> its standard concept name (the hydrodissection set's fields).
_FIELD_CODES: dict[str, CodedConcept] = {
    "procedure": CodedConcept.from_code(codes.SCT.Procedure),
    "target": CodedConcept.from_code(codes.DCM.TargetRegion),
    "side": CodedConcept.from_code(codes.SCT.Laterality),
    "injectate_volume_ml": CodedConcept.from_code(codes.DCM.InjectateVolume),
    "needle_gauge": CodedConcept.from_code(codes.DCM.NeedleGauge),
    "needle_length_mm": CodedConcept.from_code(codes.DCM.NeedleLength),
    "approach": CodedConcept.from_code(codes.DCM.InstrumentApproach),
    "image_quality": CodedConcept.from_code(codes.DCM.ImageQualityRating),
    "teaching_case": CodedConcept.from_code(codes.DCM.ForTeaching),
}
#: Choice value -> its standard code (SNOMED CT), wherever one names it.
_VALUE_CODES: dict[str, CodedConcept] = {
    "left": CodedConcept.from_code(codes.SCT.Left),
    "right": CodedConcept.from_code(codes.SCT.Right),
    "bilateral": CodedConcept.from_code(codes.SCT.Bilateral),
    "midline": CodedConcept.from_code(codes.SCT.Midline),
    "trapezius": CodedConcept.from_code(codes.SCT.TrapeziusMuscle),
    "erector_spinae": CodedConcept.from_code(codes.SCT.ErectorSpinaeMuscle),
    "serratus_anterior": CodedConcept.from_code(codes.SCT.SerratusAnteriorMuscle),
    "saline": CodedConcept.from_code(codes.SCT.Saline),
    "local_anaesthetic": CodedConcept.from_code(codes.SCT.LocalAnesthetic),
}
#: A field's unit -> UCUM (units UCUM has; others become a UCUM annotation ``{unit}``).
_UCUM = {
    "mm": ("mm", "millimeter"),
    "cm": ("cm", "centimeter"),
    "ml": ("ml", "milliliter"),
    "s": ("s", "second"),
    "deg": ("deg", "degree"),
    "%": ("%", "percent"),
    "G": ("{G}", "gauge"),
    "1-5": ("{score}", "score"),
    "": ("1", "no units"),
}


def case_concept(f: FieldDef) -> CodedConcept:
    """The concept name of case field ``f``: standard where one exists, else private."""
    return _FIELD_CODES.get(f.id) or CodedConcept(f"CASE:{f.id}", SCHEME, f.title[:64])


def _choice_code(value: str) -> CodedConcept:
    return _VALUE_CODES.get(value) or CodedConcept(
        f"CHOICE:{value}", SCHEME, value.replace("_", " ")[:64]
    )


def _unit(unit: str) -> CodedConcept:
    code, meaning = _UCUM.get(unit, ("{" + unit + "}", unit))
    return CodedConcept(code, "UCUM", meaning)


_CONTAINS = hd.sr.RelationshipTypeValues.CONTAINS
_PROPERTIES = hd.sr.RelationshipTypeValues.HAS_PROPERTIES
_INFERRED = hd.sr.RelationshipTypeValues.INFERRED_FROM


def _case_item(f: FieldDef, value: Any) -> hd.sr.ContentItem:
    name = case_concept(f)
    if f.type is FieldType.YES_NO:
        return hd.sr.CodeContentItem(name, _YES if value else _NO, _CONTAINS)
    if f.type is FieldType.NUMBER:
        return hd.sr.NumContentItem(name, float(value), _unit(f.unit), relationship_type=_CONTAINS)
    if f.type is FieldType.CHOICE and value in f.choices:
        return hd.sr.CodeContentItem(name, _choice_code(str(value)), _CONTAINS)
    return hd.sr.TextContentItem(name, str(value)[:1024], _CONTAINS)


def _container(name: CodedConcept, items: Sequence[hd.sr.ContentItem]) -> hd.sr.ContentItem:
    box = hd.sr.ContainerContentItem(name, relationship_type=_CONTAINS)
    box.ContentSequence = hd.sr.ContentSequence(items, is_root=False)
    return box


def _frame_image(header: pydicom.Dataset, frame: int) -> hd.sr.ImageContentItem:
    """The source image's frame (0-based ``frame``; DICOM frame numbers are 1-based)."""
    return hd.sr.ImageContentItem(
        codes.DCM.SourceImage,
        str(header.SOPClassUID),
        str(header.SOPInstanceUID),
        referenced_frame_numbers=[frame + 1],
        relationship_type=_INFERRED,
    )


def detail_containers(work: AnnotatedLoop, header: pydicom.Dataset) -> list[hd.sr.ContentItem]:
    """The Qualitative Evaluations, Events and Comments containers of ``work``'s details
    (each only when it has something; frames past the loop's end are left out)."""
    details: LoopDetails = work.annotations.details
    n = work.loop.n_frames
    out: list[hd.sr.ContentItem] = []
    case = [
        _case_item(f, details.case[f.id])
        for f in details.definitions.case_fields
        if details.case.get(f.id) is not None
    ]
    if case:
        out.append(_container(QUALITATIVE_EVALUATIONS, case))
    events = []
    for e in details.events_sorted():
        if e.frame < n:
            item = hd.sr.TextContentItem(EVENT, e.type, _CONTAINS)
            item.ContentSequence = hd.sr.ContentSequence(
                [_frame_image(header, e.frame)], is_root=False
            )
            events.append(item)
    if events:
        out.append(_container(EVENTS, events))
    comments = []
    for c in details.comments:
        item = hd.sr.TextContentItem(COMMENT, c.text[:1024], _CONTAINS)
        children: list[hd.sr.ContentItem] = [
            hd.sr.TextContentItem(COMMENT_TIME, c.time, _PROPERTIES)
        ]
        if c.author.strip():
            children.insert(0, hd.sr.TextContentItem(COMMENT_AUTHOR, c.author[:64], _PROPERTIES))
        if c.object_id is not None:
            children.append(hd.sr.TextContentItem(TRACK_ID, c.object_id, _PROPERTIES))
        if c.frame is not None and c.frame < n:
            children.append(_frame_image(header, c.frame))
        item.ContentSequence = hd.sr.ContentSequence(children, is_root=False)
        comments.append(item)
    if comments:
        out.append(_container(COMMENTS, comments))
    return out


def with_hydro_rows(work: AnnotatedLoop, rows: list[Row]) -> list[Row]:
    """``rows`` with the hydrodissection measures (``measure --hydro``'s rows) of the same
    tracks and frames, each frame's after its own rows (so a frame's first row, which
    carries the track's geometry, stays the same)."""
    from usannotate.annotations.hydro import loop_hydro_rows

    wanted = {(r.object_id, r.frame) for r in rows}
    loop = work.loop
    times_s = [float(t) / 1000.0 for t in loop.frame_start_times_ms()]
    extra: dict[tuple[str, int], list[Row]] = {}
    # The rates need every frame's values (central differences), not only those exported:
    # the rows already are those when every frame of every track is exported (--all-frames).
    every = {(o.id, f) for o in work.annotations.objects for f in o.frame_sources(loop.n_frames)}
    base = rows if wanted >= every else None
    # Only the exported frames (and, for the rates, those next to them) are measured.
    frames = {f for _, f in wanted}
    hydro = loop_hydro_rows(
        work.annotations, loop.n_frames, work.calibration_for, times_s, base, frames
    )
    for row in hydro:
        if (row.object_id, row.frame) in wanted:
            extra.setdefault((row.object_id, row.frame), []).append(row)
    out: list[Row] = []
    for i, row in enumerate(rows):
        out.append(row)
        key = (row.object_id, row.frame)
        last = i + 1 == len(rows) or (rows[i + 1].object_id, rows[i + 1].frame) != key
        if last:
            out += extra.pop(key, [])
    return out


def _code_key(code: pydicom.Dataset) -> tuple[str, str]:
    """(value, scheme) of a code item or concept (its value in any of the three tags)."""
    value = next(
        (code.get(k) for k in ("CodeValue", "LongCodeValue", "URNCodeValue") if k in code), ""
    )
    return (str(value), str(code.CodingSchemeDesignator))


def read_sr_details(dataset: pydicom.Dataset, details: LoopDetails) -> dict[str, Any]:
    """The details an SR holds, read back: ``{"case": {field id: value}, "events":
    [(type, 0-based frame)], "comments": [{text, author, time, object_id, frame}]}``
    (field ids found through ``details``' definitions; a value no field knows is left
    out)."""
    by_concept = {_code_key(case_concept(f)): f for f in details.definitions.case_fields}
    out: dict[str, Any] = {"case": {}, "events": [], "comments": []}
    for box in getattr(dataset, "ContentSequence", []):
        if box.ValueType != "CONTAINER":
            continue
        key = _code_key(box.ConceptNameCodeSequence[0])
        for item in getattr(box, "ContentSequence", []):
            name = _code_key(item.ConceptNameCodeSequence[0])
            if key == _code_key(QUALITATIVE_EVALUATIONS) and name in by_concept:
                f = by_concept[name]
                out["case"][f.id] = _read_value(f, item)
            elif key == _code_key(EVENTS):
                out["events"].append((str(item.TextValue), _frame_of(item)))
            elif key == _code_key(COMMENTS):
                props = {
                    _code_key(c.ConceptNameCodeSequence[0]): c
                    for c in getattr(item, "ContentSequence", [])
                }
                text = {k: str(v.TextValue) for k, v in props.items() if v.ValueType == "TEXT"}
                out["comments"].append(
                    {
                        "text": str(item.TextValue),
                        "author": text.get(_code_key(COMMENT_AUTHOR), ""),
                        "time": text.get(_code_key(COMMENT_TIME), ""),
                        "object_id": text.get(_code_key(TRACK_ID)),
                        "frame": _frame_of(item),
                    }
                )
    return out


def _read_value(f: FieldDef, item: pydicom.Dataset) -> Any:
    if item.ValueType == "NUM":
        value = float(item.MeasuredValueSequence[0].NumericValue)
        return int(value) if f.integer else value
    if item.ValueType == "CODE":
        code = _code_key(item.ConceptCodeSequence[0])
        if f.type is FieldType.YES_NO:
            return code == _code_key(_YES)
        return next((c for c in f.choices if _code_key(_choice_code(c)) == code), None)
    return str(item.TextValue)


def _frame_of(item: pydicom.Dataset) -> int | None:
    for child in getattr(item, "ContentSequence", []):
        if child.ValueType == "IMAGE":
            ref = child.ReferencedSOPSequence[0]
            if "ReferencedFrameNumber" in ref:
                return int(ref.ReferencedFrameNumber) - 1  # 1-based in DICOM
    return None
