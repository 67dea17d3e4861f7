"""Real sidecars for real loops (made with tests/cine/dicom_factory.py), for team tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.cine.dicom_factory import worklist_loop
from usannotate.annotations import AnnotatedObject, ShapeKind, default_label_set
from usannotate.cine import open_cine
from usannotate.sidecar import SidecarDocument, WorkStatus, new_document, save_sidecar
from usannotate.sidecar.store import sidecar_path_for


def document_for(dicom: Path, annotator: str = "Ann") -> SidecarDocument:
    """An empty sidecar document of ``dicom``, by ``annotator``."""
    loop = open_cine(dicom, prefetch_frames=0)
    try:
        return new_document(loop, default_label_set(), annotator)
    finally:
        loop.close()


def labelled_loop(
    folder: Path,
    name: str,
    *,
    status: WorkStatus | None,
    annotator: str = "Ann",
    n_tracks: int = 1,
    frames: tuple[int, ...] = (0, 1),
    n_frames: int = 4,
) -> Path:
    """A loop in ``folder``; unless ``status`` is None, its sidecar with ``n_tracks``
    needle tracks keyed on ``frames`` (so those frames are annotated) and that status."""
    dicom = worklist_loop(folder / name, n_frames=n_frames)
    if status is None:
        return dicom
    doc = document_for(dicom, annotator)
    for number in range(n_tracks):
        obj = AnnotatedObject("needle", ShapeKind.NEEDLE, id=f"needle{number}")
        for frame in frames:
            obj.set_points(frame, np.array([[10.0 + number, 10.0], [40.0, 30.0 + frame % 40]]))
        doc.annotations.add(obj)
    doc.status = status
    save_sidecar(doc, sidecar_path_for(dicom))
    return dicom
