"""The worklist: each loop's status, raters, tracks and last save, read cheaply (no Qt).

A folder of loops is a worklist: a loop with no sidecar is unlabelled, one with a sidecar
has its ``status`` (``in_progress`` / ``done`` / ``reviewed``, resources/SIDECAR.md). The
Loops list and ``usannotate status`` show the same :class:`LoopStatus` rows.

Why not :func:`usannotate.sidecar.load_sidecar`: a worklist of a thousand loops must list
in a second or two, and loading validates every point against the JSON Schema and builds
arrays. :func:`summarise_sidecar` parses the JSON (the stdlib's C parser) and looks only
at the keys a row needs, checking just those; ``usannotate validate`` checks the rest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from usannotate.cine.folders import list_loop_files
from usannotate.sidecar.document import FORMAT, WorkStatus
from usannotate.sidecar.errors import SidecarReadError
from usannotate.sidecar.store import read_json, sidecar_path_for

#: Status values in worklist order (None: no sidecar).
STATUS_ORDER: tuple[WorkStatus | None, ...] = (
    None,
    WorkStatus.IN_PROGRESS,
    WorkStatus.DONE,
    WorkStatus.REVIEWED,
)
#: Words for a status, as the Loops list and the count line say them.
STATUS_TEXT = {
    None: "none",
    WorkStatus.IN_PROGRESS: "in progress",
    WorkStatus.DONE: "done",
    WorkStatus.REVIEWED: "reviewed",
}


@dataclass(frozen=True)
class SidecarSummary:
    """What a worklist row needs of one sidecar.

    Attributes
    ----------
    status
        The sidecar's status (versions 1 and 2: ``in_progress``).
    raters
        Who worked on it: ``annotator`` and ``saved_by`` (when not empty), in that order,
        each once.
    n_tracks
        Objects (tracks) in the file.
    annotated_frames
        Frames on which at least one track has a mark (keyframe, tracked or interpolated).
    modified
        The ``modified`` timestamp as written (ISO-8601 UTC).
    """

    status: WorkStatus
    raters: tuple[str, ...]
    n_tracks: int
    annotated_frames: int
    modified: str


@dataclass(frozen=True)
class LoopStatus:
    """One loop of a worklist: its file name and what its sidecar says.

    ``summary`` is None when the loop has no sidecar (unlabelled) or it cannot be read;
    then ``error`` says why (``"<sidecar name>: <what>"``, no folder, no patient data).
    """

    path: str
    n_frames: int | None = None
    sidecar: str | None = None
    summary: SidecarSummary | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def file(self) -> str:
        """The loop's file name."""
        return os.path.basename(self.path)

    @property
    def status(self) -> WorkStatus | None:
        """The status; None for a loop with no (readable) sidecar."""
        return None if self.summary is None else self.summary.status

    @property
    def labelled(self) -> bool:
        """Whether the loop has a sidecar (readable or not: a damaged one is someone's work)."""
        return self.sidecar is not None

    def to_json(self) -> dict[str, Any]:
        """The row of ``usannotate status --json``."""
        s = self.summary
        row: dict[str, Any] = {
            "file": self.file,
            "n_frames": self.n_frames,
            "status": None if s is None else str(s.status),
            "raters": [] if s is None else list(s.raters),
            "n_tracks": 0 if s is None else s.n_tracks,
            "annotated_frames": 0 if s is None else s.annotated_frames,
            "modified": None if s is None else s.modified,
        }
        if self.error is not None:
            row["error"] = self.error
        return row


def summarise_sidecar(path: str | os.PathLike[str]) -> SidecarSummary:
    """Read the worklist facts of one sidecar, checking only the keys they come from.

    Raises
    ------
    SidecarReadError
        Missing, not JSON, not a sidecar, or one of those keys is malformed; the
        message names the file (its name only) and the key.
    """
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SidecarReadError(path, "is not a usannotate sidecar")
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise SidecarReadError(path, "version: must be a whole number, 1 or more")
    raw_status = data.get("status") if version >= 3 else WorkStatus.IN_PROGRESS.value
    try:
        status = WorkStatus(raw_status)
    except ValueError:
        if version == 3:
            raise SidecarReadError(path, "status: must be in_progress, done or reviewed") from None
        status = WorkStatus.IN_PROGRESS  # a newer file's status this version does not know
    raters: list[str] = []
    for key in ("annotator", "saved_by"):
        value = data.get(key)
        if isinstance(value, str) and value.strip() and value not in raters:
            raters.append(value)
    objects = data.get("objects")
    if not isinstance(objects, list):
        raise SidecarReadError(path, "objects: must be a list")
    frames: set[int] = set()
    for index, obj in enumerate(objects):
        entries = obj.get("frames") if isinstance(obj, dict) else None
        if not isinstance(entries, list):
            raise SidecarReadError(path, f"objects[{index}].frames: must be a list")
        for entry in entries:
            if isinstance(entry, dict) and entry.get("source") != "absent":
                frame = entry.get("frame")
                if type(frame) is int:
                    frames.add(frame)
    modified = data.get("modified")
    return SidecarSummary(
        status=status,
        raters=tuple(raters),
        n_tracks=len(objects),
        annotated_frames=len(frames),
        modified=modified if isinstance(modified, str) else "",
    )


def loop_status(
    dicom_path: str | os.PathLike[str], *, n_frames: int | None = None, rater: str | None = None
) -> LoopStatus:
    """The worklist row of one loop (its sidecar found by the naming rule of
    :func:`usannotate.sidecar.sidecar_path_for`).

    With ``rater``, only a sidecar that rater worked on counts: a loop whose sidecar is
    someone else's reads as unlabelled for them (status None).
    """
    path = os.fspath(dicom_path)
    sidecar = sidecar_path_for(path)
    if not sidecar.exists():
        return LoopStatus(path, n_frames)
    try:
        summary = summarise_sidecar(sidecar)
    except SidecarReadError as exc:
        return LoopStatus(path, n_frames, sidecar.name, None, str(exc))
    if rater is not None and rater not in summary.raters:
        return LoopStatus(path, n_frames)
    return LoopStatus(path, n_frames, sidecar.name, summary)


def folder_status(
    folder: str | os.PathLike[str],
    *,
    rater: str | None = None,
    frame_counts: dict[str, int | None] | None = None,
) -> list[LoopStatus]:
    """The worklist of a folder: one row per loop file, in natural name order.

    ``frame_counts`` (path -> frames), when the caller read the headers, fills
    ``n_frames``; else it stays None.

    Raises
    ------
    OSError
        The folder cannot be listed.
    """
    counts = frame_counts or {}
    return [
        loop_status(path, n_frames=counts.get(path), rater=rater)
        for path in list_loop_files(folder)
    ]


def count_line(rows: Iterable[LoopStatus]) -> str:
    """``"37 of 120 done"`` (done counts reviewed loops too), then in progress, unlabelled."""
    rows = list(rows)
    statuses = [row.status for row in rows]
    done = sum(s in (WorkStatus.DONE, WorkStatus.REVIEWED) for s in statuses)
    reviewed = statuses.count(WorkStatus.REVIEWED)
    in_progress = statuses.count(WorkStatus.IN_PROGRESS)
    unlabelled = sum(not row.labelled for row in rows)
    text = f"{done} of {len(rows)} done"
    parts = []
    if reviewed:
        parts.append(f"{reviewed} reviewed")
    if in_progress:
        parts.append(f"{in_progress} in progress")
    if unlabelled:
        parts.append(f"{unlabelled} unlabelled")
    return text + (f" ({', '.join(parts)})" if parts else "")


def sidecar_of(dicom_path: str | os.PathLike[str]) -> Path:
    """The sidecar path a loop's status is read from."""
    return sidecar_path_for(dicom_path)


__all__ = [
    "STATUS_ORDER",
    "STATUS_TEXT",
    "LoopStatus",
    "SidecarSummary",
    "count_line",
    "folder_status",
    "loop_status",
    "sidecar_of",
    "summarise_sidecar",
]
