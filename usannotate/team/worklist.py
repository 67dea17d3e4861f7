"""The worklist: each loop's status, raters, tracks and last save, read cheaply (no Qt).

A folder of loops is a worklist: a loop with no sidecar is unlabelled, one with a sidecar
has its ``status`` (``in_progress`` / ``done`` / ``reviewed``, resources/SIDECAR.md). The
Loops list and ``usannotate status`` show the same :class:`LoopStatus` rows.

Why not :func:`usannotate.sidecar.load_sidecar`: a worklist of a thousand loops must list
in a second or two, and loading validates every point against the JSON Schema and builds
arrays; even ``json.loads`` spends most of its time building the points' lists.
:func:`summarise_sidecar` reads only what a row needs: in a file laid out as usannotate
writes it (resources/SIDECAR.md, deterministic), everything but the ``objects`` list is
parsed as JSON, and the objects are counted and their frame entries' ``frame`` and
``source`` read from the bytes, never parsing a point. Any other layout (a script's
``json.dump``) is parsed whole. Only the keys a row needs are checked; ``usannotate
validate`` checks the rest.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from usannotate.cine.folders import list_loop_files
from usannotate.sidecar.document import FORMAT, WorkStatus
from usannotate.sidecar.errors import SidecarReadError
from usannotate.sidecar.placement import (
    ADJUDICATED,
    ProjectError,
    SidecarLayout,
    default_layout,
    rater_sidecars,
    sidecar_location,
)
from usannotate.sidecar.store import read_json

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
    n_frames
        The loop's frames as the sidecar recorded them (``dicom.n_frames``; usannotate
        refuses to open a sidecar whose count differs from its loop's), None if absent.
    case
        The case details as ``(field id, value)`` pairs in the file's order (the Loops
        list's procedure, target, side and teaching columns); values as stored (text,
        number or yes/no), those of another type left out.
    """

    status: WorkStatus
    raters: tuple[str, ...]
    n_tracks: int
    annotated_frames: int
    modified: str
    n_frames: int | None = None
    case: tuple[tuple[str, str | float | bool], ...] = ()

    def case_value(self, field_id: str) -> str | float | bool | None:
        """The case detail ``field_id``, or None when not filled in."""
        return next((v for k, v in self.case if k == field_id), None)


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
    data, n_tracks, frames = _read_fast(path)
    if data is None:
        data = read_json(path)
        n_tracks, frames = None, None
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
    for key in ("rater", "annotator", "saved_by"):
        value = data.get(key)
        if isinstance(value, str) and value.strip() and value not in raters:
            raters.append(value)
    objects = data.get("objects")
    if not isinstance(objects, list):
        raise SidecarReadError(path, "objects: must be a list")
    if n_tracks is None or frames is None:
        n_tracks, frames = _tracks_and_frames(path, objects)
    modified = data.get("modified")
    dicom = data.get("dicom")
    n_frames = dicom.get("n_frames") if isinstance(dicom, dict) else None
    case = data.get("case")  # top level: parsed by the fast path too
    return SidecarSummary(
        status=status,
        raters=tuple(raters),
        n_tracks=n_tracks,
        annotated_frames=frames if isinstance(frames, int) else len(frames),
        modified=modified if isinstance(modified, str) else "",
        n_frames=n_frames if type(n_frames) is int else None,
        case=tuple(
            (k, v)
            for k, v in (case.items() if isinstance(case, dict) else ())
            if isinstance(k, str) and isinstance(v, str | int | float | bool)
        ),
    )


# The layout usannotate writes (sidecar/_jsonfmt.py): top-level keys indented by two
# spaces, each object opening with its "id" at six, one frame entry per line starting
# with its "frame" and "source".
_LAYOUT_START = b'{\n  "format": "usannotate-sidecar",\n'
_OBJECTS_OPEN = b'\n  "objects": [\n'
_OBJECTS_CLOSE = b"\n  ]"
_OBJECT_START = b'    {\n      "id": '
_FRAMES_OPEN = b'"frames": [\n'
_ENTRY_OPEN = b'{"frame": '
_ABSENT = b'"source": "absent"'
_SMALL_BYTES = 64 * 1024  # below this, parsing it whole costs nothing worth saving


def _read_fast(path: str | os.PathLike[str]) -> tuple[object, int | None, int | None]:
    """``(parsed file without its objects, tracks, marked frames)`` for a file in
    usannotate's layout; ``(None, None, None)`` for any other (then parse it whole)."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError:
        return None, None, None  # read_json says why
    if len(raw) < _SMALL_BYTES or not raw.startswith(_LAYOUT_START):
        return None, None, None
    start = raw.find(_OBJECTS_OPEN)
    end = raw.find(_OBJECTS_CLOSE, start + len(_OBJECTS_OPEN)) if start >= 0 else -1
    if end < 0 or raw[end + len(_OBJECTS_CLOSE) : end + len(_OBJECTS_CLOSE) + 1] not in (
        b",",
        b"\n",
    ):
        return None, None, None
    body = raw[start + len(_OBJECTS_OPEN) : end]
    rest = raw[:start] + b'\n  "objects": []' + raw[end + len(_OBJECTS_CLOSE) :]
    try:
        data = json.loads(rest)
    except ValueError:
        return None, None, None  # read_json says what is wrong
    # Every frame entry on one line, "frame" then "source", as usannotate writes them
    # (a script's json.dump(indent=2) spreads them over lines: parse that one whole).
    if not _one_line_entries(body) or data.get("version") == 1:  # type: ignore[union-attr]
        return None, None, None  # version 1: gaps between listed frames, parse it whole
    starts = _object_starts(body)
    runs: list[tuple[int, int]] = []
    for begin, end in itertools.pairwise([*starts, len(body)]):
        runs += _object_runs(body, begin, end)
    return data, len(starts), _union(runs)


def _object_starts(body: bytes) -> list[int]:
    starts = [0] if body.startswith(_OBJECT_START) else []
    at = body.find(b"\n" + _OBJECT_START)
    while at >= 0:
        starts.append(at + 1)
        at = body.find(b"\n" + _OBJECT_START, at + 1)
    return starts


def _frame_at(body: bytes, at: int) -> int:
    """The frame number of the entry starting at ``at`` (``{"frame": N, ...``)."""
    digits = at + len(_ENTRY_OPEN)
    return int(body[digits : body.index(b",", digits, digits + 12)])


def _object_runs(body: bytes, begin: int, end: int) -> list[tuple[int, int]]:
    """The frames where one object exists, as ``[first, stop)`` runs: entries are listed
    in frame order, every frame of a track has one (interpolated ones included) and a
    track is out of view only from the entry after its last one before an ``absent``
    entry to the next entry. Found with searches that jump over the points: the first
    and last entries, and each absent one with the entries around it."""
    first = body.find(_ENTRY_OPEN, begin, end)
    if first < 0:
        return []
    runs = []
    start: int | None = _frame_at(body, first)
    at = body.find(_ABSENT, first, end)
    while at >= 0:
        entry = body.rfind(_ENTRY_OPEN, begin, at)
        # The track ends at the entry before the absent one (no interpolation across it).
        before = body.rfind(_ENTRY_OPEN, begin, entry)
        if start is not None and before >= 0:
            stop = _frame_at(body, before) + 1
            if stop > start:
                runs.append((start, stop))
        following = body.find(_ENTRY_OPEN, at, end)
        start = None if following < 0 else _frame_at(body, following)
        at = body.find(_ABSENT, at + len(_ABSENT), end)
    if start is not None:
        last = _frame_at(body, body.rfind(_ENTRY_OPEN, begin, end))
        runs.append((start, last + 1))
    return runs


def _union(runs: list[tuple[int, int]]) -> int:
    """How many frames ``[first, stop)`` runs cover together."""
    total, reach = 0, None
    for first, stop in sorted(runs):
        if reach is None or first > reach:
            total += stop - first
            reach = stop
        elif stop > reach:
            total += stop - reach
            reach = stop
    return total


def _one_line_entries(body: bytes) -> bool:
    """Whether each object's frame entries are written one per line (usannotate's
    layout), judged by each ``frames`` list's first entry: a search that jumps from one
    object to the next, not a read of every entry."""
    at = body.find(_FRAMES_OPEN)
    while at >= 0:
        first = body[at + len(_FRAMES_OPEN) : at + len(_FRAMES_OPEN) + 64].lstrip(b" ")
        if not (first.startswith(b'{"frame": ') or first.startswith(b"]")):
            return False
        at = body.find(_FRAMES_OPEN, at + len(_FRAMES_OPEN))
    return True


def _tracks_and_frames(path: object, objects: list[Any]) -> tuple[int, set[int]]:
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
    return len(objects), frames


def loop_status(
    dicom_path: str | os.PathLike[str],
    *,
    n_frames: int | None = None,
    rater: str | None = None,
    layout: SidecarLayout | None = None,
) -> LoopStatus:
    """The worklist row of one loop (its sidecar found by the one rule,
    :func:`usannotate.sidecar.placement.sidecar_location`).

    With ``rater``, only a sidecar that rater worked on counts: a loop whose sidecar is
    someone else's reads as unlabelled for them (status None). In a multi-rater project
    the row stands for every rater's file (:func:`_team_status`).
    """
    layout = layout or default_layout()
    path = os.fspath(dicom_path)
    try:
        if layout.multi_rater(path):
            return _team_status(path, n_frames, rater, layout)
        sidecar = sidecar_location(path, layout=layout)
    except ProjectError as exc:  # a usannotate.toml that cannot be used: listed, not lost
        return LoopStatus(path, n_frames, None, None, str(exc))
    if not sidecar.exists():
        return LoopStatus(path, n_frames)
    try:
        summary = summarise_sidecar(sidecar)
    except SidecarReadError as exc:
        return LoopStatus(path, n_frames, sidecar.name, None, str(exc))
    if rater is not None and rater not in summary.raters:
        return LoopStatus(path, n_frames)
    if n_frames is None:
        n_frames = summary.n_frames
    return LoopStatus(path, n_frames, sidecar.name, summary)


def _team_status(
    path: str, n_frames: int | None, rater: str | None, layout: SidecarLayout
) -> LoopStatus:
    """A loop's row in a multi-rater project.

    With ``rater``: that rater's own file only. Without: the adjudicated file's status
    if there is one, else the least advanced of the raters' files (a raters listed in
    the project who has no file yet keeps the loop in progress); raters are the files'
    raters, tracks and annotated frames the largest of the files'.
    """
    files = rater_sidecars(path, layout=layout)
    adjudicated = sidecar_location(path, rater=ADJUDICATED, layout=layout)
    if rater is not None:
        files = {rater: files[rater]} if rater in files else {}
    elif adjudicated.exists():
        files = {**files, ADJUDICATED: adjudicated}
    if not files:
        return LoopStatus(path, n_frames)
    summaries: dict[str, SidecarSummary] = {}
    for name, file in files.items():
        try:
            summaries[name] = summarise_sidecar(file)
        except SidecarReadError as exc:
            return LoopStatus(path, n_frames, file.name, None, str(exc))
    raters = tuple(name for name in summaries if name != ADJUDICATED)
    if ADJUDICATED in summaries:
        status = summaries[ADJUDICATED].status
    else:
        status = min((s.status for s in summaries.values()), key=STATUS_ORDER.index)
        project = layout.project(Path(os.path.abspath(path)).parent)
        expected = project.raters if project is not None and rater is None else ()
        if any(name not in summaries for name in expected):
            status = WorkStatus.IN_PROGRESS
    values = list(summaries.values())
    summary = SidecarSummary(
        status=status,
        raters=raters,
        n_tracks=max(s.n_tracks for s in values),
        annotated_frames=max(s.annotated_frames for s in values),
        modified=max(s.modified for s in values),
        n_frames=next((s.n_frames for s in values if s.n_frames is not None), None),
    )
    if n_frames is None:
        n_frames = summary.n_frames
    leading = files.get(ADJUDICATED) or next(iter(files.values()))
    return LoopStatus(path, n_frames, leading.name, summary)


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
    """The sidecar path a loop's status is read from (the one rule)."""
    return sidecar_location(dicom_path)


def sidecar_files(
    dicom_path: str | os.PathLike[str], layout: SidecarLayout | None = None
) -> list[Path]:
    """Every file a loop's row is read from: its sidecar, or in a multi-rater project
    each rater's and the adjudicated one (existing or not: a watcher compares them)."""
    layout = layout or default_layout()
    try:
        if not layout.multi_rater(dicom_path):
            return [sidecar_location(dicom_path, layout=layout)]
    except ProjectError:
        return []  # its row says why
    files = list(rater_sidecars(dicom_path, layout=layout).values())
    return [*files, sidecar_location(dicom_path, rater=ADJUDICATED, layout=layout)]


__all__ = [
    "STATUS_ORDER",
    "STATUS_TEXT",
    "LoopStatus",
    "SidecarSummary",
    "count_line",
    "folder_status",
    "loop_status",
    "sidecar_files",
    "sidecar_of",
    "summarise_sidecar",
]
