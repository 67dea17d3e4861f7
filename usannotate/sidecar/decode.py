"""A sidecar document built from a parsed file: checked, migrated, or salvaged read-only.

:func:`document_from_json` validates (JSON Schema, then
:func:`~usannotate.sidecar.validate.consistency_problems`) and builds the document,
keeping every key it does not know so that it is written back unchanged.

Version 1 files (before tracks: an object existed only on the frames listed) are read
as tracks with a gap after every listed frame that is not followed by the next frame, so
they mean exactly what they meant. Versions 1 and 2 had no worklist ``status``: they
read as ``in_progress``; both are saved as version 3. Files of a newer version
are read read-only, leaving out (and listing in ``warnings``) the objects this version
cannot read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import chain, pairwise
from typing import Any

import numpy as np

from usannotate.annotations import AnnotatedObject, Annotations, Label, LabelSet, ShapeKind
from usannotate.annotations.suggestions import SUGGESTED
from usannotate.cine.calibration import ManualCalibration
from usannotate.sidecar._details_json import details_from_json
from usannotate.sidecar._keys import (
    ABSENT,
    CALIBRATION_KEYS,
    DICOM_KEYS,
    FRAME_KEY_SET,
    FRAME_KEYS,
    LABEL_KEYS,
    LABEL_SET_KEYS,
    MANUAL_KEYS,
    OBJECT_KEYS,
    TOP_KEYS,
)
from usannotate.sidecar._limits import value_problems
from usannotate.sidecar._suggestions import suggestions_from_json
from usannotate.sidecar._timestamps import parse_timestamp, utc_now
from usannotate.sidecar.document import (
    FORMAT,
    FORMAT_VERSION,
    DicomReference,
    SidecarCalibration,
    SidecarDocument,
    UnknownKeys,
    WorkStatus,
)
from usannotate.sidecar.encode import round_points, with_frame_entries
from usannotate.sidecar.errors import SidecarReadError
from usannotate.sidecar.schema import quote, schema_problems
from usannotate.sidecar.validate import consistency_problems

__all__ = ["document_from_json"]


def document_from_json(
    data: object, *, path: str | os.PathLike[str] | None = None
) -> SidecarDocument:
    """Validate a parsed sidecar and build the document.

    Parameters
    ----------
    data
        The result of ``json.loads`` on a sidecar file.
    path
        The file it came from (only its name is used, in messages).

    Returns
    -------
    SidecarDocument
        ``read_only`` when ``version`` is newer than :data:`FORMAT_VERSION`; then
        the parts this version cannot read are left out and listed in ``warnings``.

    Raises
    ------
    SidecarReadError
        Not a sidecar, breaks the schema, or inconsistent; ``problems`` lists each
        problem as ``"<json path>: <what>"``.
    """
    if not isinstance(data, dict):
        raise SidecarReadError(
            path, f"is not a usannotate sidecar (a JSON object), but {_json_kind(data)}"
        )
    if data.get("format") != FORMAT:
        raise SidecarReadError(
            path,
            f'is not a usannotate sidecar: "format" is {quote(data.get("format"))}, not "{FORMAT}"',
        )
    # What no save could write back (1e400, a lone surrogate, deep nesting) is
    # refused here, by the rules the writer applies (see _limits).
    problems = value_problems(data)
    if problems:
        raise SidecarReadError(path, problems)
    try:
        return _checked_and_built(data, path)
    except MemoryError:
        raise SidecarReadError(path, "is too large to read in the memory available") from None


def _checked_and_built(
    data: dict[str, Any], path: str | os.PathLike[str] | None
) -> SidecarDocument:
    version = data.get("version")
    newer = type(version) is int and version > FORMAT_VERSION
    if version == 1:
        data = _version_1_sources_kept_aside(data)
    if version in (1, 2):
        data = _status_of_older_kept_aside(data, version)
    if newer:
        return _salvage_newer(data, int(version), path)  # type: ignore[arg-type]
    problems = schema_problems(data)
    if problems:
        raise SidecarReadError(path, problems)
    doc, problems = _build(data)
    problems += _consistency_after_build(doc, problems)
    if problems:
        raise SidecarReadError(path, problems)
    doc.entry_positions = {}  # positions in the file: stale after the first edit
    return doc


def _unknown(mapping: dict[str, Any], known: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in known}


def _build(data: dict[str, Any]) -> tuple[SidecarDocument, list[str]]:
    """The document of schema-valid ``data``, and what could not be built from it."""
    problems: list[str] = []
    extra = UnknownKeys(top=_unknown(data, TOP_KEYS))
    # Numbers are kept as precisely as a save writes them (frame time to 6 decimals,
    # points to 3...), so that a document read, saved and read again is the same.
    d = data["dicom"]
    dicom = DicomReference(
        sop_instance_uid=d["sop_instance_uid"],
        file_name=d["file_name"],
        rows=int(d["rows"]),
        columns=int(d["columns"]),
        n_frames=int(d["n_frames"]),
        frame_time_ms=round(float(d["frame_time_ms"]), 6),
    )
    extra.dicom = _unknown(d, DICOM_KEYS)
    c = data["calibration"]
    manual = None
    if c["manual"] is not None:
        m = c["manual"]
        line = tuple(map(tuple, round_points(np.array(m["line"], dtype=np.float64)).tolist()))
        manual = ManualCalibration(
            round(float(m["mm_per_px"]), 9),
            line,  # type: ignore[arg-type]
            round(float(m["length_mm"]), 6),
        )
        extra.manual = _unknown(m, MANUAL_KEYS)
    calibration = SidecarCalibration(c["source"], [dict(r) for r in c["regions"]])
    extra.calibration = _unknown(c, CALIBRATION_KEYS)

    ls = data["label_set"]
    labels = []
    for index, item in enumerate(ls["labels"]):
        try:
            labels.append(Label(*(item[k] for k in LABEL_KEYS)))
        except ValueError as exc:
            problems.append(f"label_set.labels[{index}]: {exc}")
            continue
        unknown = _unknown(item, LABEL_KEYS)
        if unknown:
            extra.labels[item["id"]] = unknown
    label_set = LabelSet(ls["name"])
    label_set.labels = labels  # duplicates are reported by consistency_problems, with paths
    extra.label_set = _unknown(ls, LABEL_SET_KEYS)

    objects = []
    positions: dict[int, dict[int, int]] = {}
    version = int(data["version"])
    for index, item in enumerate(data["objects"]):
        obj, object_problems = _build_object(item, f"objects[{index}]", extra.frames)
        positions[index] = {int(e["frame"]): j for j, e in enumerate(item["frames"])}
        if version < 2:
            _gaps_of_version_1(obj)
        objects.append(obj)
        problems += object_problems

    suggestions, suggestion_problems = suggestions_from_json(
        data, label_set, int(data["dicom"]["n_frames"])
    )
    problems += suggestion_problems
    raw_attributes = [item.get("attributes") for item in data["objects"]]
    details, detail_problems = details_from_json(data, objects, raw_attributes)
    problems += detail_problems

    created = modified = utc_now()
    for key in ("created", "modified"):
        try:
            moment = parse_timestamp(data[key])
        except ValueError:
            problems.append(f"{key}: {quote(data[key])} is not a valid date and time (UTC)")
            continue
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # as written
        if key == "created":
            created = moment
        else:
            modified = moment
    doc = SidecarDocument(
        annotations=Annotations(
            label_set, objects, manual_calibration=manual, details=details, suggestions=suggestions
        ),
        dicom=dicom,
        calibration=calibration,
        annotator=data["annotator"],
        created=created,
        modified=modified,
        app_version=data["app_version"],
        status=_status(data.get("status")),
        extra=extra,
        format_version=max(version, FORMAT_VERSION),  # version 1 is migrated on reading
        entry_positions=positions,
    )
    return doc, problems


def _build_object(
    item: dict[str, Any], where: str, frame_extra: dict[tuple[str, int], dict[str, Any]]
) -> tuple[AnnotatedObject, list[str]]:
    problems = []
    obj = AnnotatedObject(
        label_id=item["label"],
        kind=ShapeKind(item["kind"]),
        id=item["id"],
        name=item["name"],
        extra=_unknown(item, OBJECT_KEYS),
    )
    entries = item["frames"]
    for j, entry in enumerate(entries):
        if entry.get("source") == SUGGESTED:  # the schema's enum has it, for suggestions
            problems.append(
                f'{where}.frames[{j}].source: a mark\'s frame cannot be "{SUGGESTED}": '
                "suggestions are listed in the top-level suggestions, not in objects"
            )
    # Interpolated entries are derived (written for readers) and recomputed here.
    stored = [e for e in entries if e.get("source") not in ("interpolated", ABSENT)]
    point_lists = [entry["points"] for entry in stored]
    counts = list(map(len, point_lists))
    # One numpy conversion per object; each frame gets its own slice of the result.
    # The schema guaranteed [number, number] pairs, so a flat float iterator suffices.
    total = sum(counts)
    coordinates = chain.from_iterable(chain.from_iterable(point_lists))
    points = np.fromiter(coordinates, dtype=np.float64, count=2 * total).reshape(total, 2)
    points = round_points(points)  # to 1/1000 px, as the model stores and a save writes
    previous = -1
    seen: set[int] = set()
    for j, entry in enumerate(entries):
        frame = int(entry["frame"])
        if frame <= previous and not problems:  # the first one: the others follow from it
            problems.append(
                f"{where}.frames[{j}].frame: frame {frame} "
                + ("is listed twice" if frame in seen else f"comes after frame {previous}")
                + ": frames are listed in increasing order, each at most once"
            )
        previous = max(previous, frame)
        seen.add(frame)
        if entry.get("source") == ABSENT:
            obj.absent.add(frame)
        if not FRAME_KEY_SET.issuperset(entry):
            frame_extra[(obj.id, frame)] = _unknown(entry, FRAME_KEYS)
    if entries and not stored and not obj.absent:
        problems.append(
            f"{where}.frames: only interpolated entries; a track needs keyframe or tracked "
            "entries (interpolated ones are recomputed from them)"
        )
    start = 0
    for entry, count in zip(stored, counts, strict=True):
        frame = int(entry["frame"])
        obj.frames[frame] = points[start : start + count]
        if entry.get("source") == "tracked":
            obj.tracked.add(frame)
        start += count
    # Unknown keys stay with a frame while the track exists there (SIDECAR.md): those of
    # an interpolated entry where it does not (a script's stale entry) go, as a save
    # would drop them.
    for key in [k for k in frame_extra if k[0] == obj.id]:
        frame = key[1]
        if not (frame in obj.frames or frame in obj.absent or obj.exists_on(frame)):
            del frame_extra[key]
    return obj, problems


def _version_1_sources_kept_aside(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (version 1) with any ``source`` key of a frame entry renamed
    ``v1_source``: version 1 knew no such key, so it was someone's own, kept as an
    unknown key, and must not be read as version 2's keyframe / tracked / gap."""
    return with_frame_entries(
        data,
        lambda e: (
            {("v1_source" if k == "source" else k): v for k, v in e.items()} if "source" in e else e
        ),
    )


def _status(value: object) -> WorkStatus:
    """The worklist status; in progress when missing (the schema requires it from version
    3 on) or, in a newer file read read-only, a value this version does not know."""
    try:
        return WorkStatus(value)
    except ValueError:
        return WorkStatus.IN_PROGRESS


def _status_of_older_kept_aside(data: dict[str, Any], version: int) -> dict[str, Any]:
    """``data`` (version 1 or 2) with a top-level ``status`` key of its own renamed
    ``v<version>_status``: those versions knew no such key, so it was someone's own (kept
    as an unknown key) and must not be read as version 3's worklist status. Such a file
    reads as ``in_progress``: a saved sidecar is work begun."""
    if "status" not in data:
        return data
    return {(f"v{version}_status" if k == "status" else k): v for k, v in data.items()}


def _gaps_of_version_1(obj: AnnotatedObject) -> None:
    """Keep a version 1 object where it was: absent between frames listed apart."""
    listed = sorted(obj.frames)
    for left, right in pairwise(listed):
        if right > left + 1:
            obj.absent.add(left + 1)


def _salvage_newer(data: dict[str, Any], version: int, path: object) -> SidecarDocument:
    """Read a newer file read-only, leaving out the objects this version cannot read.

    Anything wrong outside ``objects`` (the DICOM reference, the label set...) makes the
    file unreadable: without it, nothing could be shown correctly.
    """
    pathname = os.fspath(path) if path is not None else None  # type: ignore[call-overload]
    cannot = (
        f"was written by a newer usannotate (sidecar format version {version}; this one "
        f"reads version {FORMAT_VERSION}) in a form this version cannot show: update usannotate"
    )
    warnings: list[str] = []
    kept = dict(data)
    originals = list(range(len(data["objects"]))) if isinstance(data.get("objects"), list) else []
    problems = schema_problems(data, allow_newer=True)
    if problems and originals:
        bad = _object_indices(problems)
        first: dict[int | None, str] = {}
        for problem in problems:  # the first problem of each object left out
            first.setdefault(_object_index(problem), problem)
        warnings += [first[i] for i in sorted(bad)]
        originals = [i for i in originals if i not in bad]
        kept["objects"] = [data["objects"][i] for i in originals]
        problems = schema_problems(kept, allow_newer=True)
    if problems:
        raise SidecarReadError(pathname, [cannot, *problems])
    doc, problems = _build(kept)
    problems += _consistency_after_build(doc, problems)
    elsewhere = [p for p in problems if _object_index(p) is None]
    if elsewhere:
        raise SidecarReadError(pathname, [cannot, *elsewhere])
    if problems:
        bad = _object_indices(problems)
        first = {}
        for problem in problems:
            first.setdefault(_object_index(problem), problem)
        warnings += [_renumber(first[i], originals) for i in sorted(bad)]
        doc.annotations.objects = [o for i, o in enumerate(doc.annotations.objects) if i not in bad]
    doc.read_only = True
    doc.warnings = [f"not shown (newer format): {w}" for w in warnings]
    return doc


def _renumber(problem: str, originals: list[int]) -> str:
    """``objects[k]...`` of the kept objects as ``objects[i]...`` of the file."""
    index = _object_index(problem)
    if index is None:
        return problem
    head = f"objects[{index}]"
    return f"objects[{originals[index]}]" + problem[len(head) :]


def _consistency_after_build(doc: SidecarDocument, build_problems: list[str]) -> list[str]:
    """:func:`consistency_problems`, less the frame entries of objects whose frames were
    out of order in the file (their positions there are not the sorted ones)."""
    unordered = {
        f"objects[{i}].frames["
        for i in _object_indices([p for p in build_problems if "increasing order" in p])
    }
    return [p for p in consistency_problems(doc) if not p.startswith(tuple(unordered))]


def _object_index(problem: str) -> int | None:
    if not problem.startswith("objects["):
        return None
    head = problem[len("objects[") :].split("]", 1)[0]
    return int(head) if head.isdigit() else None


def _object_indices(problems: list[str]) -> set[int]:
    return {i for i in map(_object_index, problems) if i is not None}


def _json_kind(value: object) -> str:
    kinds = {list: "a list", str: "a string", bool: "true or false", type(None): "null"}
    return kinds.get(type(value), "a number")
