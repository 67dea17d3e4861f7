"""Imports into a new sidecar: DICOM SR and CVAT tracks read back beside their DICOM.

No Qt. The CLI's ``import sr|cvat`` and the window call these.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from usannotate.annotations import AnnotatedObject, Annotations, default_label_set
from usannotate.cine import CineError, CineLoop, open_cine
from usannotate.export._common import ExportError
from usannotate.sidecar import SidecarError, new_document, save_sidecar

__all__ = ["import_cvat", "import_sr"]

#: Reads a file's tracks into the annotations: ``(path, loop, annotations) -> objects``.
Reader = Callable[[Path, CineLoop, Annotations], list[AnnotatedObject]]


def _import(
    source: str | os.PathLike[str],
    dicom: str | os.PathLike[str],
    output: str | os.PathLike[str],
    annotator: str,
    read: Reader,
) -> list[AnnotatedObject]:
    out = Path(output)
    if out.exists():
        raise ExportError(f"{out.name}: already exists (choose another output; nothing lost)")
    try:
        loop = open_cine(dicom, prefetch_frames=0)
    except CineError as exc:
        raise ExportError(str(exc).splitlines()[0]) from None
    with loop:
        doc = new_document(loop, default_label_set(), annotator)
        added = read(Path(source), loop, doc.annotations)
        try:
            save_sidecar(doc, out)
        except SidecarError as exc:
            raise ExportError(str(exc).splitlines()[0]) from None
    return added


def import_sr(
    sr: str | os.PathLike[str],
    dicom: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    add_labels: bool = False,
    annotator: str = "",
) -> list[AnnotatedObject]:
    """Write a new sidecar ``output`` for ``dicom`` holding the tracks of the SR ``sr``
    (the default label set, plus the SR's other labels with ``add_labels``).

    Raises
    ------
    ExportError
        ``output`` exists, the files do not open, the SR is not about this DICOM, or
        labels are unknown.
    OSError
        The sidecar could not be written.
    """
    from usannotate.export.sr_import import read_sr_tracks, sr_into_annotations

    def read(path: Path, loop: CineLoop, annotations: Annotations) -> list[AnnotatedObject]:
        tracks = read_sr_tracks(
            path, sop_instance_uid=loop.identity.sop_instance_uid, n_frames=loop.n_frames
        )
        return sr_into_annotations(tracks, annotations, path.name, add_labels=add_labels)

    return _import(sr, dicom, output, annotator, read)


def import_cvat(
    xml: str | os.PathLike[str],
    dicom: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    add_labels: bool = False,
    annotator: str = "",
) -> list[AnnotatedObject]:
    """Write a new sidecar ``output`` for ``dicom`` holding the tracks of the CVAT for
    video 1.1 XML ``xml`` (labels matched by name; others added with ``add_labels``).

    Raises
    ------
    ExportError
        As :func:`import_sr`, or the XML is not CVAT for video 1.1.
    OSError
        The sidecar could not be written.
    """
    from usannotate.export.cvat_import import cvat_into_annotations, read_cvat_tracks

    def read(path: Path, loop: CineLoop, annotations: Annotations) -> list[AnnotatedObject]:
        tracks = read_cvat_tracks(path, n_frames=loop.n_frames)
        return cvat_into_annotations(tracks, annotations, path.name, add_labels=add_labels)

    return _import(xml, dicom, output, annotator, read)
