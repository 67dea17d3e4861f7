"""No lost updates: a save never replaces a sidecar version it did not read (no Qt).

Which version of a sidecar a document was read from, and the check made before a save.

A document remembers the **content hash** (SHA-256) of the file it was read from or last
saved to, with a copy of its annotations as they were then (the base of a three-way
merge). A save first hashes the file on disk: another hash means someone else saved in
between, and the save raises :class:`~usannotate.sidecar.errors.SidecarConflictError`
instead of replacing their work. File times alone would miss a change within the same
tick of a coarse clock (network shares keep 1-2 s), and a copy put back over the file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from usannotate.annotations import Annotations, LabelSet
from usannotate.sidecar.document import DiskVersion, SidecarDocument
from usannotate.sidecar.errors import SidecarConflictError

#: Optional top-level key: the annotator who saved the file last (see resources/SIDECAR.md).
SAVED_BY_KEY = "saved_by"


def _absolute(path: Path) -> str:
    return os.path.abspath(path)


def snapshot(annotations: Annotations) -> Annotations:
    """A copy of ``annotations`` that later edits do not change (the points are shared:
    arrays are replaced, never changed in place)."""
    return Annotations(
        LabelSet(annotations.label_set.name, list(annotations.label_set.labels)),
        [obj.copy() for obj in annotations.objects],
        manual_calibration=annotations.manual_calibration,
        details=annotations.details.copy(),
        suggestions=list(annotations.suggestions),
    )


def version_of_bytes(
    path: str | os.PathLike[str], data: bytes, annotations: Annotations | None = None
) -> DiskVersion:
    """The version of ``path`` once it holds ``data`` (``annotations``: what it holds)."""
    base = snapshot(annotations) if annotations is not None else None
    return DiskVersion(_absolute(Path(path)), hashlib.sha256(data).hexdigest(), base)


def version_of_digest(
    path: str | os.PathLike[str], sha256: str, annotations: Annotations | None = None
) -> DiskVersion:
    """The version of ``path`` once it holds bytes of that SHA-256 (a streamed save)."""
    base = snapshot(annotations) if annotations is not None else None
    return DiskVersion(_absolute(Path(path)), sha256, base)


def read_version(path: str | os.PathLike[str]) -> DiskVersion | None:
    """The version of the file now at ``path``; None when there is none (or unreadable:
    reading it properly then says why)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return version_of_bytes(path, data)


def with_base(version: DiskVersion | None, annotations: Annotations) -> DiskVersion | None:
    """``version`` remembering ``annotations`` as what it holds."""
    if version is None:
        return None
    return DiskVersion(version.path, version.sha256, snapshot(annotations))


def was_read_from(doc: SidecarDocument, path: Path, current: DiskVersion | None) -> bool:
    """Whether the file at ``path`` (``current``) is the very version ``doc`` was read
    from or last saved to: then a save may replace it."""
    read = doc.disk_stamp
    return (
        isinstance(read, DiskVersion)
        and current is not None
        and read.path == current.path == _absolute(path)
        and read.sha256 == current.sha256
    )


def saved_by(doc: SidecarDocument) -> str:
    """Who saved ``doc``'s file last: its ``saved_by`` key, else its annotator."""
    name = doc.extra.top.get(SAVED_BY_KEY)
    return name if isinstance(name, str) and name else doc.annotator


def conflict(path: Path, mine: SidecarDocument, theirs: SidecarDocument) -> SidecarConflictError:
    """The error a save of ``mine`` over ``theirs`` (read from ``path``) raises."""
    read = mine.disk_stamp
    base = read.base if isinstance(read, DiskVersion) and read.path == _absolute(path) else None
    return SidecarConflictError(
        path,
        mine=mine,
        theirs=theirs,
        base=base,
        theirs_version=theirs.disk_stamp,
        saved_by=saved_by(theirs),
        saved_at=theirs.modified,
    )


def rebase(doc: SidecarDocument, version: DiskVersion | None) -> None:
    """Make ``version`` the one ``doc`` replaces at its next save: the user chose to
    overwrite it (or merged it in). A newer version than that is still refused."""
    doc.disk_stamp = version


__all__ = [
    "SAVED_BY_KEY",
    "conflict",
    "read_version",
    "rebase",
    "saved_by",
    "snapshot",
    "version_of_bytes",
    "was_read_from",
    "with_base",
]
