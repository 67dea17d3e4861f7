"""The rules a sidecar's JSON Schema cannot express, and the check that it belongs to a loop.

:func:`consistency_problems` is asked on reading (after the schema) and before every save
(what load accepts, save can write); each problem is one ``"<json path>: <what>"`` line
naming the file's own entry. :func:`loop_mismatches` compares a sidecar with the DICOM it
is opened with, naming files, never UIDs.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np

from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.cine.calibration import CALIBRATION_SOURCES
from usannotate.sidecar.document import DicomReference, SidecarDocument, written_calibration
from usannotate.sidecar.errors import SidecarMismatchError
from usannotate.sidecar.schema import quote

if TYPE_CHECKING:
    from usannotate.cine import CineLoop

__all__ = [
    "MANUAL_TOLERANCE",
    "POINT_MARGIN_PX",
    "check_loop",
    "consistency_problems",
    "loop_mismatches",
]

#: How far (px) a point may lie outside the image (a click on the border, rounding).
POINT_MARGIN_PX = 1.0
#: Relative disagreement allowed between mm_per_px and length_mm / line length.
MANUAL_TOLERANCE = 0.01


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
