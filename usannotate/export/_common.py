"""What every export and import shares: opening an annotated loop, frame choice, units.

No Qt. Messages name files by their name only (folders may be named after the patient)
and never quote a header value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from usannotate.annotations import (
    AnnotatedObject,
    Annotations,
    CalibrationFor,
    FrameSource,
    Label,
    LabelSet,
    Row,
    ShapeKind,
    calibration_lookup,
    user_label,
)
from usannotate.cine import CineError, CineLoop, open_cine
from usannotate.cine.folders import list_loop_files
from usannotate.sidecar import (
    SidecarDocument,
    SidecarError,
    check_loop,
    load_sidecar,
    sidecar_path_for,
)

__all__ = [
    "AnnotatedLoop",
    "ExportError",
    "FrameChoice",
    "Progress",
    "annotated_loop",
    "check_units",
    "frames_of_track",
    "frames_to_write",
    "loops_with_sidecars",
    "resolve_labels",
    "stored_source",
]

#: Progress callback of the batch exports: ``(done, total, file name)``.
Progress = Callable[[int, int, str], None]


class ExportError(ValueError):
    """An export or import cannot be made from this input; the message says why, naming
    files by their name only."""


class FrameChoice(StrEnum):
    """Which frames of a loop an export writes (the string values are the CLI's)."""

    KEYFRAMES = "keyframes"  # frames where some track has a keyframe
    ANNOTATED = "annotated"  # frames where some track is stored (keyframe or tracked)
    ALL = "all"  # every frame of the loop (frames without marks too)


@dataclass
class AnnotatedLoop:
    """An open loop with its sidecar document and the calibration its marks use."""

    loop: CineLoop
    doc: SidecarDocument
    calibration_for: CalibrationFor

    @property
    def annotations(self) -> Annotations:
        return self.doc.annotations

    @property
    def name(self) -> str:
        """The DICOM's file name (never its folder)."""
        return os.path.basename(self.loop.path)


@contextmanager
def annotated_loop(
    dicom: str | os.PathLike[str], sidecar: str | os.PathLike[str] | None = None
) -> Iterator[AnnotatedLoop]:
    """Open ``dicom`` and its sidecar (by default the one beside it), checked to belong
    together; the loop is closed on leaving.

    Raises
    ------
    ExportError
        The DICOM cannot be opened, it has no sidecar, or the sidecar is damaged or made
        for another file (one line, file names only).
    """
    path = Path(sidecar) if sidecar else sidecar_path_for(dicom)
    try:
        loop = open_cine(dicom, prefetch_frames=0)
    except CineError as exc:
        raise ExportError(str(exc).splitlines()[0]) from None
    try:
        if not path.exists():
            raise ExportError(f"{path.name}: no such sidecar (nothing annotated yet?)")
        try:
            doc = load_sidecar(path, dicom_uid=loop.identity.sop_instance_uid)
            check_loop(doc, loop, path=path)
        except SidecarError as exc:
            raise ExportError(str(exc).splitlines()[0]) from None
        lookup = calibration_lookup(doc.annotations, loop.regions, (loop.columns, loop.rows))
        yield AnnotatedLoop(loop, doc, lookup)
    finally:
        loop.close()


def loops_with_sidecars(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The DICOM loops named by ``paths``: a file as it is, a folder's loops that have a
    sidecar beside them (natural name order).

    Raises
    ------
    ExportError
        A path does not exist, or a folder holds no annotated loop.
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            try:
                files = [Path(f) for f in list_loop_files(path)]
            except OSError:
                raise ExportError(f"{path.name}: the folder cannot be read") from None
            annotated = [f for f in files if sidecar_path_for(f).exists()]
            if not annotated:
                raise ExportError(f"{path.name}: no loop in this folder has a sidecar")
            found += annotated
        elif path.is_file():
            found.append(path)
        else:
            raise ExportError(f"{path.name}: no such file or folder")
    return found


def frames_of_track(obj: AnnotatedObject, n_frames: int, all_frames: bool) -> list[int]:
    """The frames of a track an export writes: its stored frames (keyframes and tracked)
    or, with ``all_frames``, every frame where it exists (interpolated ones too)."""
    if all_frames:
        return list(obj.frame_sources(n_frames))
    return sorted(f for f in obj.frames if f < n_frames)


def frames_to_write(annotations: Annotations, n_frames: int, choice: FrameChoice) -> list[int]:
    """The frames of a loop an image export (COCO, YOLO, masks) writes, in order."""
    if choice is FrameChoice.ALL:
        return list(range(n_frames))
    frames: set[int] = set()
    for obj in annotations.objects:
        stored = obj.keyframes() if choice is FrameChoice.KEYFRAMES else obj.frames
        frames.update(f for f in stored if f < n_frames)
    return sorted(frames)


def check_units(rows: Iterable[Row], name: str, *, allow_px: bool) -> None:
    """Refuse measurements in px unless ``allow_px``: a loop measured partly in mm and
    partly in px must never go out looking like one set of numbers.

    Raises
    ------
    ExportError
        Naming how many values are in px and why the first one is.
    """
    in_px = [r for r in rows if r.unit.startswith("px")]  # px, px2, px/s, px2/s
    if in_px and not allow_px:
        reason = in_px[0].unit_reason or "the loop has no usable calibration"
        raise ExportError(
            f"{name}: {len(in_px)} measurements are in px, not mm ({reason}); "
            "export them in px anyway with --allow-px"
        )


def resolve_labels(
    label_set: LabelSet,
    wanted: Iterable[tuple[str, ShapeKind, str | None]],
    name: str,
    *,
    add_labels: bool,
) -> dict[str, Label]:
    """Map label names (or ids) met in an imported file to labels of ``label_set``.

    ``wanted`` holds ``(name or id, kind, colour or None)``; names are matched first by
    id, then by name (case-insensitively). Unknown ones are added to ``label_set`` when
    ``add_labels``, else refused.

    Raises
    ------
    ExportError
        Listing every unknown label, or a label whose kind differs from the file's.
    """
    by_name = {label.name.casefold(): label for label in label_set}
    found: dict[str, Label] = {}
    unknown: list[tuple[str, ShapeKind, str | None]] = []
    for key, kind, colour in wanted:
        label = label_set.get(key) or by_name.get(key.casefold())
        if label is None:
            unknown.append((key, kind, colour))
            continue
        # A 2-point polyline may be a needle: the label set knows which.
        lines = {ShapeKind.POLYLINE, ShapeKind.NEEDLE}
        if label.kind is not kind and not {label.kind, kind} <= lines:
            raise ExportError(
                f"{name}: label {key!r} is a {kind.value} in the file but a "
                f"{label.kind.value} in the label set"
            )
        found[key] = label
    if unknown and not add_labels:
        listed = ", ".join(repr(key) for key, _, _ in unknown)
        raise ExportError(
            f"{name}: labels not in the label set: {listed} (add them with --add-labels)"
        )
    for key, kind, colour in unknown:
        label = user_label(label_set, key, kind, colour=colour)
        label_set.add(label)
        found[key] = label
    return found


def stored_source(obj: AnnotatedObject, frame: int) -> FrameSource:
    """Keyframe or tracked: the source of a stored frame."""
    return FrameSource.TRACKED if frame in obj.tracked else FrameSource.KEYFRAME
