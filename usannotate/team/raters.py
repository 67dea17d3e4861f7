"""The raters' sidecars of one loop, read for comparing and adjudicating (no Qt).

Read-only: nothing here writes a rater's file. The files are found by the one rule
(:func:`usannotate.sidecar.placement.rater_sidecars`), each checked to belong to the loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from usannotate.sidecar import SidecarDocument, SidecarError, load_sidecar
from usannotate.sidecar.placement import SidecarLayout, rater_sidecars


@dataclass
class RaterDocuments:
    """Each rater's document of a loop (by name), and the files that could not be read
    (``"<file name>: <why>"``, no folder)."""

    documents: dict[str, SidecarDocument] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_rater_documents(
    dicom_path: str | os.PathLike[str],
    *,
    dicom_uid: str | None = None,
    exclude: tuple[str, ...] = (),
    layout: SidecarLayout | None = None,
) -> RaterDocuments:
    """Read every rater's sidecar of ``dicom_path`` but those in ``exclude``; a damaged
    or foreign file is reported in ``problems`` and skipped, never changed."""
    found = RaterDocuments()
    for rater, path in rater_sidecars(dicom_path, layout=layout).items():
        if rater in exclude:
            continue
        try:
            found.documents[rater] = load_sidecar(
                path, dicom_uid=dicom_uid, dicom_name=os.path.basename(dicom_path)
            )
        except SidecarError as exc:
            found.problems.append(str(exc).splitlines()[0])
    return found


__all__ = ["RaterDocuments", "read_rater_documents"]
