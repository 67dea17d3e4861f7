"""The sidecar document's types: annotations plus what ties them to their DICOM (no Qt).

One module per job: this one holds what a sidecar is (:class:`SidecarDocument` and its
parts, the format's constants, :func:`new_document`); :mod:`~usannotate.sidecar.encode`
turns a document into the JSON structure of resources/SIDECAR.md,
:mod:`~usannotate.sidecar.decode` builds one from a parsed file (migrating version 1,
salvaging what a newer version wrote), :mod:`~usannotate.sidecar.validate` holds the
rules a schema cannot express and the check that a sidecar belongs to a loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from usannotate import __version__
from usannotate.annotations import Annotations, LabelSet
from usannotate.annotations.model import STORED_DECIMALS
from usannotate.cine.calibration import ManualCalibration, Region, measuring_region
from usannotate.sidecar._timestamps import utc_now

if TYPE_CHECKING:
    from usannotate.cine import CineLoop

#: The value of the ``format`` key.
FORMAT = "usannotate-sidecar"
#: The newest format version this code reads and the one it writes.
FORMAT_VERSION = 3
#: The ``coordinate_system`` sentence every file carries.
COORDINATE_SYSTEM = (
    "points are (x, y) = (column, row) in image pixels, floats; (0, 0) is the top-left "
    "corner of the top-left pixel, so the first pixel's centre is (0.5, 0.5) (DICOM SCOORD "
    "convention); frame indices are 0-based"
)
#: Decimals kept for coordinates (1/1000 px).
COORDINATE_DECIMALS = STORED_DECIMALS  # as the model keeps them


# ------------------------------------------------------------------- the parts
class WorkStatus(StrEnum):
    """Where a loop's annotation stands (the sidecar's ``status``; values are the file's).

    ``in_progress``: work begun (set at the first save); ``done``: the rater finished it;
    ``reviewed``: someone checked it. A loop with no sidecar has no status at all.
    """

    IN_PROGRESS = "in_progress"
    DONE = "done"
    REVIEWED = "reviewed"


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


@dataclass(frozen=True)
class DiskVersion:
    """One version of a sidecar file: where, and the SHA-256 of its bytes.

    ``base`` is a copy of the annotations the document held when it matched this version
    (None when unknown, e.g. for work recovered from an autosave); it is not identity.
    See :mod:`usannotate.sidecar._conflict` for how a save uses it.
    """

    path: str
    sha256: str
    base: Annotations | None = field(default=None, compare=False, repr=False)


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
    status
        The worklist status (:class:`WorkStatus`); files of versions 1 and 2, which had
        none, read as ``in_progress`` (a saved sidecar is work begun).
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
    status: WorkStatus = WorkStatus.IN_PROGRESS
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

    def __eq__(self, other: object) -> bool:
        """Same content (points compared exactly, see ``AnnotatedObject.__eq__``), the
        calibration as a save writes it; ``disk_stamp`` is not content."""
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
            and self.status == other.status
            and self.extra == other.extra
            and self.read_only == other.read_only
            and self.format_version == other.format_version
            and self.warnings == other.warnings
            and self.annotations == other.annotations
        )

    __hash__ = None  # type: ignore[assignment]  # mutable: equal documents may change

    def with_modified(self, moment: datetime) -> SidecarDocument:
        """A shallow copy with another ``modified`` time (shares the annotations)."""
        return replace(self, modified=moment)


def written_calibration(doc: SidecarDocument) -> tuple[str, ManualCalibration | None]:
    """``(calibration.source, calibration.manual)`` as a save of ``doc`` writes them.

    ``"manual"`` and the manual calibration when ``doc.annotations.manual_calibration``
    is set; else the recorded source, except that a recorded ``"manual"`` whose
    calibration was removed becomes ``"dicom"`` when the recorded regions hold a usable
    one (see :func:`usannotate.cine.calibration.usable_regions`), else ``"none"``.
    """
    manual = doc.annotations.manual_calibration
    if manual is not None:
        return "manual", manual
    source = doc.calibration.source
    if source == "manual":
        usable = _measuring_region(doc.calibration.regions, doc.dicom) is not None
        source = "dicom" if usable else "none"
    return source, None


def _measuring_region(regions: list[dict[str, Any]], dicom: DicomReference) -> Region | None:
    """The measuring region among a sidecar's recorded region dicts (a malformed one,
    which validation reports, gives no millimetres)."""
    parsed = []
    for data in regions:
        try:
            parsed.append(Region.from_json(data))
        except ValueError:
            continue
    return measuring_region(parsed, (dicom.columns, dicom.rows))


def new_document(
    loop: CineLoop, label_set: LabelSet, annotator: str, *, now: datetime | None = None
) -> SidecarDocument:
    """An empty sidecar document for ``loop``.

    The calibration source is ``"dicom"`` when the loop has a usable region (see
    :func:`usannotate.cine.calibration.measuring_region`), else ``"none"``; the label
    set is copied.
    """
    moment = now or utc_now()
    usable = measuring_region(loop.regions, (loop.columns, loop.rows)) is not None
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


__all__ = [
    "COORDINATE_DECIMALS",
    "COORDINATE_SYSTEM",
    "FORMAT",
    "FORMAT_VERSION",
    "DicomReference",
    "DiskVersion",
    "SidecarCalibration",
    "SidecarDocument",
    "UnknownKeys",
    "WorkStatus",
    "new_document",
    "written_calibration",
]
