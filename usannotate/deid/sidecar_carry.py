"""Carry a loop's sidecar to its de-identified copy, attached to the new SOP Instance UID.

The copy keeps the marks, the labels and the calibration; it drops what could name a
person or a day: the annotator (unless asked to keep it), the original file name, the
creation time (set to the moment of de-identification) and every key this version does
not know (it cannot tell what they hold).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from usannotate import __version__
from usannotate.deid.errors import DeidentifyError
from usannotate.sidecar import (
    SidecarDocument,
    SidecarError,
    UnknownKeys,
    load_sidecar,
    save_sidecar,
    sidecar_path_for,
    utc_now,
)


def source_sidecar(dicom_path: Path, sop_instance_uid: str) -> SidecarDocument | None:
    """The sidecar beside ``dicom_path``, checked against its SOP Instance UID, or None.

    Raises
    ------
    DeidentifyError
        There is a sidecar but it cannot be read or belongs to another DICOM.
    """
    path = sidecar_path_for(dicom_path)
    if not path.exists():
        return None
    try:
        return load_sidecar(path, dicom_uid=sop_instance_uid)
    except SidecarError as exc:
        reason = str(exc).splitlines()[0].split(": ", 1)[-1]
        raise DeidentifyError(path.name, f"the sidecar was not carried over: {reason}") from None


def carried(
    doc: SidecarDocument, *, sop_instance_uid: str, file_name: str, keep_annotator: bool
) -> SidecarDocument:
    """The document for the de-identified copy (``doc`` is not changed)."""
    now = utc_now()
    objects = [obj.copy() for obj in doc.annotations.objects]
    for obj in objects:
        obj.extra = {}
    details = doc.annotations.details.copy()
    if not keep_annotator:  # a comment's author is a person's name, as the annotator's is
        details.comments = [dataclasses.replace(c, author="") for c in details.comments]
    annotations = dataclasses.replace(doc.annotations, objects=objects, details=details)
    return dataclasses.replace(
        doc,
        annotations=annotations,
        dicom=dataclasses.replace(
            doc.dicom, sop_instance_uid=sop_instance_uid, file_name=file_name
        ),
        annotator=doc.annotator if keep_annotator else "",
        created=now,
        modified=now,
        app_version=__version__,
        extra=UnknownKeys(),
        disk_stamp=None,
        entry_positions={},
        warnings=[],
    )


def write_carried(doc: SidecarDocument, dicom_output: Path) -> Path:
    """Save ``doc`` beside ``dicom_output`` (named by the usual rule) and return its path.

    A sidecar already there from an earlier run is replaced; one that cannot be read is
    left alone (:class:`DeidentifyError`).
    """
    path = sidecar_path_for(dicom_output)
    if path.exists():
        try:
            doc.disk_stamp = load_sidecar(path).disk_stamp
        except SidecarError:
            raise DeidentifyError(
                path.name, "a sidecar that cannot be read is already there; it was left unchanged"
            ) from None
    try:
        save_sidecar(doc, path)
    except SidecarError as exc:
        raise DeidentifyError(path.name, str(exc).splitlines()[0].split(": ", 1)[-1]) from None
    return path
