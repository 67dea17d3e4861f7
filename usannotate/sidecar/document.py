"""The sidecar document: annotations plus what ties them to their DICOM, as JSON and back.

``SidecarDocument.to_json()`` gives the version 2 structure of resources/SIDECAR.md, with
stable key order and coordinates rounded to 3 decimals; ``SidecarDocument.from_json()``
validates a parsed file (JSON Schema, then the rules a schema cannot express) and builds
the document, keeping every key it does not know so that it is written back unchanged.

Version 1 files (before tracks: an object existed only on the frames listed) are read
as tracks with a gap after every listed frame that is not followed by the next frame, so
they mean exactly what they meant; they are saved as version 2.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain, pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from usannotate.annotations import AnnotatedObject, Annotations, Label, LabelSet, ShapeKind
from usannotate.annotations.labels import label_to_json
from usannotate.annotations.model import STORED_DECIMALS
from usannotate.cine.calibration import CALIBRATION_SOURCES, ManualCalibration, Region
from usannotate.sidecar._calibration import written_calibration
from usannotate.sidecar._jsonfmt import RawJSON
from usannotate.sidecar._limits import value_problems
from usannotate.sidecar._streamed import StreamedFrames
from usannotate.sidecar.errors import SidecarMismatchError, SidecarReadError
from usannotate.sidecar.schema import json_path, quote, schema_problems

if TYPE_CHECKING:
    from usannotate.cine import CineLoop
    from usannotate.sidecar._conflict import DiskVersion

#: The value of the ``format`` key.
FORMAT = "usannotate-sidecar"
#: The newest format version this code reads and the one it writes.
FORMAT_VERSION = 2
#: The ``coordinate_system`` sentence every file carries.
COORDINATE_SYSTEM = (
    "points are (x, y) = (column, row) in image pixels, floats; (0, 0) is the top-left "
    "corner of the top-left pixel, so the first pixel's centre is (0.5, 0.5) (DICOM SCOORD "
    "convention); frame indices are 0-based"
)
#: Decimals kept for coordinates (1/1000 px).
COORDINATE_DECIMALS = STORED_DECIMALS  # as the model keeps them
#: How far (px) a point may lie outside the image (a click on the border, rounding).
POINT_MARGIN_PX = 1.0
#: Relative disagreement allowed between mm_per_px and length_mm / line length.
MANUAL_TOLERANCE = 0.01

_TOP_KEYS = (
    "format",
    "version",
    "coordinate_system",
    "dicom",
    "calibration",
    "label_set",
    "annotator",
    "created",
    "modified",
    "app_version",
    "objects",
)
_DICOM_KEYS = ("sop_instance_uid", "file_name", "rows", "columns", "n_frames", "frame_time_ms")
_CALIBRATION_KEYS = ("source", "regions", "manual")
_MANUAL_KEYS = ("mm_per_px", "line", "length_mm")
_REGION_KEYS = (
    "bounds",
    "file_bounds",
    "spatial_format",
    "data_type",
    "units_x",
    "units_y",
    "mm_per_px_x",
    "mm_per_px_y",
    "reference_pixel",
)
_LABEL_SET_KEYS = ("name", "labels")
_LABEL_KEYS = ("id", "name", "kind", "colour", "shortcut", "group", "description")
_OBJECT_KEYS = ("id", "label", "name", "kind", "frames")
_FRAME_KEYS = ("frame", "source", "points")
_FRAME_KEY_SET = frozenset(_FRAME_KEYS)
#: The ``source`` of a frame entry that marks a gap (no points).
ABSENT = "absent"


# ----------------------------------------------------------------- time stamps
def utc_now() -> datetime:
    """The current time in UTC, to the millisecond (what the file keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    # Fields written one by one: strftime's %Y gives "999", not "0999", for early years.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def parse_timestamp(text: str) -> datetime:
    """The UTC datetime of an ISO-8601 timestamp ending in ``Z`` or ``+00:00``.

    Raises
    ------
    ValueError
        Not a valid date and time.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# ------------------------------------------------------------------- the parts
@dataclass(frozen=True)
class DicomReference:
    """The DICOM object a sidecar belongs to, as recorded when the sidecar was made.

    ``sop_instance_uid`` is the identity checked on opening; the rest describes the loop
    (image ``columns`` x ``rows`` in pixels, ``n_frames`` frames, ``frame_time_ms``).
    """

    sop_instance_uid: str
    file_name: str
    rows: int
    columns: int
    n_frames: int
    frame_time_ms: float


@dataclass
class SidecarCalibration:
    """How the sidecar's lengths become millimetres, apart from a manual calibration.

    The manual calibration is part of the work (it is set and undone like a mark), so
    it lives in ``SidecarDocument.annotations.manual_calibration``: a save writes
    ``source`` ``"manual"`` and the ``manual`` object exactly when it is set, and a load
    puts the file's ``manual`` object there.

    Attributes
    ----------
    source
        As the file (or :func:`new_document`) recorded it: ``"dicom"`` (the ultrasound
        regions), ``"manual"`` or ``"none"`` (px). With no manual calibration set, a
        save writes ``"dicom"`` or ``"none"`` (for a recorded ``"manual"``: ``"dicom"``
        when ``regions`` hold a usable region, see :func:`written_calibration`).
    regions
        The DICOM's ultrasound regions as recorded (``Region.to_json()`` dicts; any other
        keys they hold are kept).
    """

    source: str = "none"
    regions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class UnknownKeys:
    """Keys of the file this version does not know, kept to be written back unchanged.

    Objects keep theirs in ``AnnotatedObject.extra``; the other levels keep them here:
    ``labels`` by label id, ``frames`` by ``(object id, frame index)``. Regions are kept
    whole in ``SidecarCalibration.regions``.
    """

    top: dict[str, Any] = field(default_factory=dict)
    dicom: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    manual: dict[str, Any] = field(default_factory=dict)
    label_set: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    frames: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)


# ---------------------------------------------------------------- the document
@dataclass(eq=False)
class SidecarDocument:
    """Everything one sidecar file holds.

    Attributes
    ----------
    annotations
        The label set and the marked objects (points ``(x, y)`` in image pixels,
        pixel-corner convention, frames 0-based).
    dicom
        The DICOM these annotations belong to.
    calibration
        DICOM regions and/or manual calibration.
    annotator, app_version
        Free text.
    created, modified
        Aware UTC datetimes; :func:`~usannotate.sidecar.save_sidecar` sets ``modified``.
    extra
        Keys this version does not know, written back unchanged.
    read_only
        True when the file was written by a newer usannotate: it can be shown but is
        never saved (nor autosaved) by this version.
    format_version
        The file's ``version``.
    warnings
        What could not be shown of a newer file (empty otherwise).
    disk_stamp
        The version (path and content hash, with a copy of the annotations then) of the
        file this document was read from or last saved to: a save replaces that version
        only, never one someone else saved since (see ``usannotate.sidecar._conflict``).
    """

    annotations: Annotations
    dicom: DicomReference
    calibration: SidecarCalibration = field(default_factory=SidecarCalibration)
    annotator: str = ""
    created: datetime = field(default_factory=utc_now)
    modified: datetime = field(default_factory=utc_now)
    app_version: str = ""
    extra: UnknownKeys = field(default_factory=UnknownKeys)
    read_only: bool = False
    format_version: int = FORMAT_VERSION
    warnings: list[str] = field(default_factory=list)
    disk_stamp: DiskVersion | None = field(default=None, repr=False)
    #: Per object (by position), where each frame's entry stood in the file read, so
    #: messages point at the file's own ``frames[j]`` (not content: never compared).
    entry_positions: dict[int, dict[int, int]] = field(default_factory=dict, repr=False)

    @property
    def label_set(self) -> LabelSet:
        return self.annotations.label_set

    # ------------------------------------------------------------ comparison
    def __eq__(self, other: object) -> bool:
        """Same content (points compared exactly), the calibration as a save writes it;
        ``disk_stamp`` is not content."""
        if not isinstance(other, SidecarDocument):
            return NotImplemented
        return (
            self.dicom == other.dicom
            and written_calibration(self) == written_calibration(other)
            and self.calibration.regions == other.calibration.regions
            and self.annotator == other.annotator
            and self.created == other.created
            and self.modified == other.modified
            and self.app_version == other.app_version
            and self.extra == other.extra
            and self.read_only == other.read_only
            and self.format_version == other.format_version
            and self.warnings == other.warnings
            and _same_annotations(self.annotations, other.annotations)
        )

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        """The document as the sidecar's JSON structure (key order as written).

        Coordinates are rounded to 3 decimals; frame entries are sorted by frame;
        unknown keys follow the known ones at each level, sorted by name.

        Raises
        ------
        ValueError
            An unknown key (in ``extra``) has the name of a key this version writes.
        """
        return self._json(raw_points=False)

    def _json(self, *, raw_points: bool) -> dict[str, Any]:
        extra = self.extra
        label_set = self.annotations.label_set
        source, manual = written_calibration(self)
        data = {
            "format": FORMAT,
            "version": self.format_version,
            "coordinate_system": COORDINATE_SYSTEM,
            "dicom": _with_extra(
                {
                    "sop_instance_uid": self.dicom.sop_instance_uid,
                    "file_name": self.dicom.file_name,
                    "rows": int(self.dicom.rows),
                    "columns": int(self.dicom.columns),
                    "n_frames": int(self.dicom.n_frames),
                    "frame_time_ms": round(float(self.dicom.frame_time_ms), 6),
                },
                extra.dicom,
            ),
            "calibration": _with_extra(
                {
                    "source": source,
                    "regions": [
                        _ordered(region, _REGION_KEYS) for region in self.calibration.regions
                    ],
                    "manual": _manual_json(manual, extra.manual),
                },
                extra.calibration,
            ),
            "label_set": _with_extra(
                {
                    "name": label_set.name,
                    "labels": [
                        _with_extra(label_to_json(label), extra.labels.get(label.id, {}))
                        for label in label_set.labels
                    ],
                },
                extra.label_set,
            ),
            "annotator": self.annotator,
            "created": format_timestamp(self.created),
            "modified": format_timestamp(self.modified),
            "app_version": self.app_version,
            "objects": [
                _object_json(obj, extra.frames, raw_points) for obj in self.annotations.objects
            ],
        }
        return _with_extra(data, extra.top)

    @classmethod
    def from_json(
        cls, data: object, *, path: str | os.PathLike[str] | None = None
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
                f'is not a usannotate sidecar: "format" is {quote(data.get("format"))}, '
                f'not "{FORMAT}"',
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

    def with_modified(self, moment: datetime) -> SidecarDocument:
        """A shallow copy with another ``modified`` time (shares the annotations)."""
        return replace(self, modified=moment)


def _checked_and_built(
    data: dict[str, Any], path: str | os.PathLike[str] | None
) -> SidecarDocument:
    version = data.get("version")
    newer = type(version) is int and version > FORMAT_VERSION
    if version == 1:
        data = _version_1_sources_kept_aside(data)
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


def new_document(
    loop: CineLoop, label_set: LabelSet, annotator: str, *, now: datetime | None = None
) -> SidecarDocument:
    """An empty sidecar document for ``loop``.

    The calibration source is ``"dicom"`` when one of the loop's regions is a 2-D region
    in cm that lies within the image, else ``"none"``; the label set is copied.
    """
    from usannotate import __version__

    moment = now or utc_now()
    usable = any(r.is_spatial_cm and r.fits_image(loop.columns, loop.rows) for r in loop.regions)
    return SidecarDocument(
        annotations=Annotations(LabelSet(label_set.name, list(label_set.labels))),
        dicom=DicomReference(
            sop_instance_uid=loop.identity.sop_instance_uid,
            file_name=os.path.basename(loop.path),
            rows=loop.rows,
            columns=loop.columns,
            n_frames=loop.n_frames,
            frame_time_ms=round(float(loop.frame_time_ms), 6),
        ),
        calibration=SidecarCalibration(
            source="dicom" if usable else "none",
            # A region clipped to the image (1 px past it in the file) records both.
            regions=[_region_json(region) for region in loop.regions],
        ),
        annotator=annotator,
        created=moment,
        modified=moment,
        app_version=__version__,
    )


def _region_json(region: Region) -> dict[str, Any]:
    data = region.to_json()
    if data["file_bounds"] is None:
        del data["file_bounds"]
    return data


# ------------------------------------------------------------ checking a loop
def loop_mismatches(
    doc: SidecarDocument, loop: CineLoop, *, sidecar_name: str = "the sidecar"
) -> list[str]:
    """Ways in which ``doc`` does not describe ``loop`` (empty when it belongs to it).

    Compares the SOP Instance UID, then the image size and frame count. Messages name the
    files, never the UIDs.
    """
    dicom = doc.dicom
    name = os.path.basename(loop.path)
    if dicom.sop_instance_uid != loop.identity.sop_instance_uid:
        return [
            f"belongs to another DICOM file: it was made for {quote(dicom.file_name)}, whose "
            f"SOP Instance UID differs from that of {quote(name)}; open {sidecar_name} with "
            "its own DICOM"
        ]
    problems = []
    if (dicom.columns, dicom.rows) != (loop.columns, loop.rows):
        problems.append(
            f"dicom: made for a {dicom.columns} x {dicom.rows} image, but {quote(name)} is "
            f"{loop.columns} x {loop.rows} (columns x rows)"
        )
    if dicom.n_frames != loop.n_frames:
        problems.append(
            f"dicom.n_frames: made for {dicom.n_frames} frames, but {quote(name)} has "
            f"{loop.n_frames}"
        )
    return problems


def check_loop(
    doc: SidecarDocument, loop: CineLoop, *, path: str | os.PathLike[str] | None = None
) -> None:
    """Raise :class:`SidecarMismatchError` unless ``doc`` belongs to ``loop``."""
    name = os.path.basename(os.fspath(path)) if path is not None else "the sidecar"
    problems = loop_mismatches(doc, loop, sidecar_name=name)
    if problems:
        raise SidecarMismatchError(path, problems)


# ------------------------------------------------------------- consistency
def consistency_problems(doc: SidecarDocument) -> list[str]:
    """What the schema cannot check, as ``"<json path>: <what>"`` lines.

    Object labels exist in the label set and have the object's kind, point counts suit
    the kind, frames lie within ``0..n_frames-1``, points lie within the image (with a
    1 px margin), object and label ids are unique, the calibration is coherent.
    """
    problems: list[str] = []
    dicom = doc.dicom
    label_set = doc.annotations.label_set
    label_ids = [label.id for label in label_set.labels]
    first_label: dict[str, int] = {}
    for index, label_id in enumerate(label_ids):
        if label_id in first_label:
            problems.append(
                f"label_set.labels[{index}].id: {quote(label_id)} is already the id of "
                f"label_set.labels[{first_label[label_id]}]: label ids must be unique"
            )
        else:
            first_label[label_id] = index
    problems += _calibration_problems(doc)
    first_object: dict[str, int] = {}
    for index, obj in enumerate(doc.annotations.objects):
        where = f"objects[{index}]"
        if obj.id in first_object:
            problems.append(
                f"{where}.id: {quote(obj.id)} is already the id of "
                f"objects[{first_object[obj.id]}]: object ids must be unique"
            )
        else:
            first_object[obj.id] = index
        try:
            kind = ShapeKind(obj.kind)
        except ValueError:
            problems.append(
                f"{where}.kind: must be one of {', '.join(k.value for k in ShapeKind)}; "
                f"got {quote(obj.kind)}"
            )
            continue
        label = label_set.get(obj.label_id)
        if label is None:
            problems.append(
                f"{where}.label: no label {quote(obj.label_id)} in the label set "
                f"{quote(label_set.name)} (labels: {', '.join(label_ids) or 'none'})"
            )
        elif label.kind != kind:
            problems.append(
                f"{where}.kind: {quote(kind.value)}, but label {quote(label.id)} is drawn "
                f"as a {label.kind.value}"
            )
        positions = doc.entry_positions.get(index)
        problems += _geometry_problems(obj, kind, where, dicom, positions)
    return problems


def _calibration_problems(doc: SidecarDocument) -> list[str]:
    calibration = doc.calibration
    problems = []
    if calibration.source not in CALIBRATION_SOURCES:
        problems.append(
            f"calibration.source: must be one of {', '.join(CALIBRATION_SOURCES)}; "
            f"got {quote(calibration.source)}"
        )
    source, manual = written_calibration(doc)
    if source == "dicom" and not calibration.regions:
        problems.append(
            "calibration.source: 'dicom', but calibration.regions records no ultrasound region"
        )
    if manual is not None:
        length_px = manual.length_px
        if not length_px > 0:
            problems.append(
                f"calibration.manual.line: the two points {quote(manual.line)} are the same: "
                "the line has no length"
            )
        elif abs(manual.length_mm / length_px - manual.mm_per_px) > (
            MANUAL_TOLERANCE * manual.mm_per_px
        ):
            problems.append(
                f"calibration.manual.mm_per_px: {manual.mm_per_px!r} disagrees with "
                f"length_mm / line length = {manual.length_mm!r} / {length_px:.3f} px"
            )
        for k, (x, y) in enumerate(manual.line):
            problem = _outside(float(x), float(y), doc.dicom)
            if problem:
                problems.append(f"calibration.manual.line[{k}]: {problem}")
    return problems


def _outside(x: float, y: float, dicom: DicomReference) -> str:
    m = POINT_MARGIN_PX
    if -m <= x <= dicom.columns + m and -m <= y <= dicom.rows + m:
        return ""
    return (
        f"(x, y) = ({x!r}, {y!r}) lies outside the {dicom.columns} x {dicom.rows} image "
        f"(x = column from 0 to {dicom.columns}, y = row from 0 to {dicom.rows} px, "
        f"{m:g} px margin allowed)"
    )


def _geometry_problems(
    obj: AnnotatedObject,
    kind: ShapeKind,
    where: str,
    dicom: DicomReference,
    positions: dict[int, int] | None = None,
) -> list[str]:
    """Problems of the stored frames and gap markers; ``positions`` maps a frame to its
    entry's index in the file (default: the order this version writes)."""
    problems: list[str] = []
    if positions is None:
        written = sorted(obj.frame_sources().keys() | obj.absent)
        positions = {frame: j for j, frame in enumerate(written)}
    for frame in sorted(obj.absent):
        if not 0 <= frame < dicom.n_frames:
            problems.append(
                f"{where}.frames[{positions.get(frame, 0)}].frame: frame {frame} is outside "
                f"the loop's {dicom.n_frames} frames (frame indices are 0-based: 0 to "
                f"{dicom.n_frames - 1})"
            )
    frames = sorted(obj.frames)
    arrays = [obj.frames[f] for f in frames]
    bad_shape = {
        j for j, a in enumerate(arrays) if not (a.ndim == 2 and a.shape[1] == 2 and len(a))
    }
    # The kind's rule, asked once per distinct point count instead of once per frame.
    count_problem: dict[int, str] = {}
    for n in {len(a) for a in arrays}:
        try:
            kind.check_points(np.zeros((n, 2)))
        except ValueError as exc:
            count_problem[n] = str(exc)
    good = [a for j, a in enumerate(arrays) if j not in bad_shape]
    all_points = np.concatenate(good) if good else np.zeros((0, 2))
    m = POINT_MARGIN_PX
    all_inside = bool(
        np.all(np.isfinite(all_points))
        and np.all((all_points[:, 0] >= -m) & (all_points[:, 0] <= dicom.columns + m))
        and np.all((all_points[:, 1] >= -m) & (all_points[:, 1] <= dicom.rows + m))
    )
    for j, (frame, points) in enumerate(zip(frames, arrays, strict=True)):
        entry = f"{where}.frames[{positions.get(frame, 0)}]"
        if not 0 <= frame < dicom.n_frames:
            problems.append(
                f"{entry}.frame: frame {frame} is outside the loop's {dicom.n_frames} frames "
                f"(frame indices are 0-based: 0 to {dicom.n_frames - 1})"
            )
        if j in bad_shape:
            problems.append(f"{entry}.points: expected [[x, y], ...], got shape {points.shape}")
            continue
        if len(points) in count_problem:
            problems.append(f"{entry}.points: {count_problem[len(points)]}")
        if not all_inside:
            for k, (x, y) in enumerate(points.tolist()):
                if not (math.isfinite(x) and math.isfinite(y)):
                    problems.append(f"{entry}.points[{k}]: (x, y) must be finite numbers")
                    continue
                problem = _outside(x, y, dicom)
                if problem:
                    problems.append(f"{entry}.points[{k}]: {problem}")
                    break  # one point is enough to locate the bad frame entry
    return problems


# ---------------------------------------------------------------- JSON helpers
def _with_extra(known: dict[str, Any], unknown: dict[str, Any]) -> dict[str, Any]:
    for key in sorted(unknown):
        if key in known:
            raise ValueError(f"the unknown key {key!r} has the name of a sidecar key")
        known[key] = unknown[key]
    return known


def _ordered(mapping: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``mapping`` with ``keys`` first, in that order, then the others sorted."""
    keys = [k for k in keys if k in mapping]
    return {
        **{k: mapping[k] for k in keys},
        **{k: mapping[k] for k in sorted(mapping) if k not in keys},
    }


def _round_points(array: np.ndarray) -> np.ndarray:
    # + 0.0 turns -0.0 into 0.0, so that a point on the border is written one way.
    # Beyond 1e305 px rounding overflows to infinity: such points are refused anyway.
    with np.errstate(over="ignore", invalid="ignore"):
        return np.round(np.asarray(array, dtype=np.float64), COORDINATE_DECIMALS) + 0.0


def _manual_json(manual: ManualCalibration | None, unknown: dict[str, Any]) -> dict | None:
    if manual is None:
        return None
    return _with_extra(
        {
            "mm_per_px": round(float(manual.mm_per_px), 9),
            "line": _round_points(np.array(manual.line, dtype=np.float64)).tolist(),
            "length_mm": round(float(manual.length_mm), 6),
        },
        unknown,
    )


def _object_json(
    obj: AnnotatedObject, frame_extra: dict[tuple[str, int], dict[str, Any]], raw_points: bool
) -> dict[str, Any]:
    # For saving, interpolated entries are made while the file is written.
    frames: list[dict[str, Any]] | StreamedFrames = (
        StreamedFrames(obj, frame_extra) if raw_points else _frame_entries(obj, frame_extra)
    )
    return _with_extra(
        {
            "id": obj.id,
            "label": obj.label_id,
            "name": obj.name,
            "kind": ShapeKind(obj.kind).value,
            "frames": frames,
        },
        obj.extra,
    )


def _frame_entries(
    obj: AnnotatedObject, frame_extra: dict[tuple[str, int], dict[str, Any]]
) -> list[dict[str, Any]]:
    geometry = obj.all_geometry()  # stored frames, and those interpolated for readers
    shown = list(geometry)
    arrays = [points for points, _ in geometry.values()]
    sources = {frame: source for frame, (_, source) in geometry.items()}
    # One rounding and one tolist() per object: 600 small numpy calls cost more.
    flat = _round_points(np.concatenate(arrays)).tolist() if arrays else []
    ends = np.cumsum([len(a) for a in arrays]).tolist()
    point_values = [flat[start:end] for start, end in zip([0, *ends], ends, strict=False)]
    entries: dict[int, dict[str, Any]] = {}
    for frame, points in zip(shown, point_values, strict=True):
        entry = {"frame": int(frame), "source": sources[frame].value, "points": points}
        unknown = frame_extra.get((obj.id, frame))
        entries[frame] = _with_extra(entry, unknown) if unknown else entry
    for frame in obj.absent:
        entry = {"frame": int(frame), "source": ABSENT}
        unknown = frame_extra.get((obj.id, frame))
        entries[frame] = _with_extra(entry, unknown) if unknown else entry
    return [entries[f] for f in sorted(entries)]


def writable_json(doc: SidecarDocument) -> dict[str, Any]:
    """``doc.to_json()`` for saving: each object's ``frames`` a
    :class:`~usannotate.sidecar._streamed.StreamedFrames`, whose points are ready-made
    JSON text and whose interpolated entries are made while the file is written.

    Only for documents whose :func:`consistency_problems` is empty (points finite,
    ``(N, 2)``): the text is made in bulk, much faster than from Python floats.
    """
    return doc._json(raw_points=True)


_PLACEHOLDER_POINTS = [[0.0, 0.0]]


def schema_view(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` of :func:`writable_json` as jsonschema can check it: every frame's points
    replaced by a one-point placeholder (the arrays themselves are checked, more
    strictly, by :func:`consistency_problems`)."""
    return _with_frame_entries(
        data,
        lambda e: {**e, "points": _PLACEHOLDER_POINTS} if type(e.get("points")) is RawJSON else e,
    )


def _with_frame_entries(
    data: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``data`` with ``change`` applied to every frame entry (a JSON object) of every
    object; ``data`` itself is not modified, and whatever is not an entry is shared."""
    objects = data.get("objects")
    if not isinstance(objects, list):
        return data
    changed = []
    for obj in objects:
        frames = obj.get("frames") if isinstance(obj, dict) else None
        if isinstance(frames, StreamedFrames):
            frames = frames.checked_entries()
        if isinstance(frames, list):
            frames = [change(e) if isinstance(e, dict) else e for e in frames]
            obj = {**obj, "frames": frames}
        changed.append(obj)
    return {**data, "objects": changed}


def _unknown(mapping: dict[str, Any], known: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in known}


def _build(data: dict[str, Any]) -> tuple[SidecarDocument, list[str]]:
    """The document of schema-valid ``data``, and what could not be built from it."""
    problems: list[str] = []
    extra = UnknownKeys(top=_unknown(data, _TOP_KEYS))
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
    extra.dicom = _unknown(d, _DICOM_KEYS)
    c = data["calibration"]
    manual = None
    if c["manual"] is not None:
        m = c["manual"]
        line = tuple(map(tuple, _round_points(np.array(m["line"], dtype=np.float64)).tolist()))
        manual = ManualCalibration(
            round(float(m["mm_per_px"]), 9),
            line,  # type: ignore[arg-type]
            round(float(m["length_mm"]), 6),
        )
        extra.manual = _unknown(m, _MANUAL_KEYS)
    calibration = SidecarCalibration(c["source"], [dict(r) for r in c["regions"]])
    extra.calibration = _unknown(c, _CALIBRATION_KEYS)

    ls = data["label_set"]
    labels = []
    for index, item in enumerate(ls["labels"]):
        try:
            labels.append(Label(*(item[k] for k in _LABEL_KEYS)))
        except ValueError as exc:
            problems.append(f"label_set.labels[{index}]: {exc}")
            continue
        unknown = _unknown(item, _LABEL_KEYS)
        if unknown:
            extra.labels[item["id"]] = unknown
    label_set = LabelSet(ls["name"])
    label_set.labels = labels  # duplicates are reported by consistency_problems, with paths
    extra.label_set = _unknown(ls, _LABEL_SET_KEYS)

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
        annotations=Annotations(label_set, objects, manual_calibration=manual),
        dicom=dicom,
        calibration=calibration,
        annotator=data["annotator"],
        created=created,
        modified=modified,
        app_version=data["app_version"],
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
        extra=_unknown(item, _OBJECT_KEYS),
    )
    entries = item["frames"]
    # Interpolated entries are derived (written for readers) and recomputed here.
    stored = [e for e in entries if e.get("source") not in ("interpolated", ABSENT)]
    point_lists = [entry["points"] for entry in stored]
    counts = list(map(len, point_lists))
    # One numpy conversion per object; each frame gets its own slice of the result.
    # The schema guaranteed [number, number] pairs, so a flat float iterator suffices.
    total = sum(counts)
    coordinates = chain.from_iterable(chain.from_iterable(point_lists))
    points = np.fromiter(coordinates, dtype=np.float64, count=2 * total).reshape(total, 2)
    points = _round_points(points)  # to 1/1000 px, as the model stores and a save writes
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
        if not _FRAME_KEY_SET.issuperset(entry):
            frame_extra[(obj.id, frame)] = _unknown(entry, _FRAME_KEYS)
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
    return _with_frame_entries(
        data,
        lambda e: (
            {("v1_source" if k == "source" else k): v for k, v in e.items()} if "source" in e else e
        ),
    )


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


def _same_annotations(a: Annotations, b: Annotations) -> bool:
    if a.label_set != b.label_set or len(a.objects) != len(b.objects):
        return False
    if a.manual_calibration != b.manual_calibration:
        return False
    for x, y in zip(a.objects, b.objects, strict=True):
        if (x.id, x.label_id, ShapeKind(x.kind), x.name, x.extra) != (
            y.id,
            y.label_id,
            ShapeKind(y.kind),
            y.name,
            y.extra,
        ):
            return False
        if (x.frames.keys(), x.tracked, x.absent) != (y.frames.keys(), y.tracked, y.absent):
            return False
        if not all(np.array_equal(x.frames[f], y.frames[f]) for f in x.frames):
            return False
    return True


__all__ = [
    "CALIBRATION_SOURCES",
    "COORDINATE_DECIMALS",
    "COORDINATE_SYSTEM",
    "FORMAT",
    "FORMAT_VERSION",
    "POINT_MARGIN_PX",
    "DicomReference",
    "ManualCalibration",
    "SidecarCalibration",
    "SidecarDocument",
    "UnknownKeys",
    "check_loop",
    "consistency_problems",
    "format_timestamp",
    "json_path",
    "loop_mismatches",
    "new_document",
    "parse_timestamp",
    "utc_now",
]
