"""Pull a study or series into a folder, push files, echo and find: by either protocol.

A pulled instance is written atomically (a hidden temporary file beside it, renamed once
complete) as ``<SOP Instance UID>.dcm``, so a file with that name is always whole; a pull
skips the instances already there (same UID in the header, same frame count), so running
it again after a failure resumes it. ``PullResult.complete`` is True only when every
instance the server listed is there: a half-pulled series never looks complete.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pydicom

from usannotate._atomic import write_atomically
from usannotate.pacs.dicomweb import DicomWebConnection, StoreOutcome
from usannotate.pacs.dimse import DimseConnection
from usannotate.pacs.errors import PacsCancelled, PacsError
from usannotate.pacs.models import InstanceRef, SeriesInfo, StudyInfo, StudyQuery
from usannotate.pacs.servers import DicomWebServer, Server

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
Connection = DicomWebConnection | DimseConnection


def connect(server: Server) -> Connection:
    """A connection to ``server`` (nothing is sent until the first call)."""
    if isinstance(server, DicomWebServer):
        return DicomWebConnection(server)
    return DimseConnection(server)


def check_uid(uid: str, what: str = "UID") -> str:
    """``uid`` if it is a DICOM UID (digits and dots, at most 64 characters)."""
    if not _UID.match(uid or "") or len(uid) > 64:
        raise PacsError(f"{what} {uid[:70]!r} is not a DICOM UID (digits and dots)")
    return uid


def instance_path(folder: Path, sop_uid: str) -> Path:
    """Where a pulled instance goes: ``<SOP Instance UID>.dcm`` in ``folder``."""
    return folder / f"{check_uid(sop_uid, 'SOP Instance UID')}.dcm"


def is_complete(path: Path, ref: InstanceRef) -> bool:
    """Whether ``path`` holds ``ref`` in full: its header names the same instance and, when
    the server gave one, the same frame count (files are written whole or not at all)."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return False
    if str(ds.get("SOPInstanceUID", "")) != ref.sop_uid:
        return False
    if ref.n_frames is not None:
        try:
            return int(ds.get("NumberOfFrames", 1) or 1) == ref.n_frames
        except (TypeError, ValueError):
            return False
    return True


@dataclass
class PullProgress:
    """Where a pull is: instances done of the total, bytes received so far."""

    instances_done: int
    instances_total: int
    bytes_received: int = 0


@dataclass
class PullResult:
    """What a pull left in its folder."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    written: int = 0
    skipped: int = 0
    total: int = 0

    @property
    def complete(self) -> bool:
        """Every instance the server listed is in the folder."""
        return self.total > 0 and len(self.files) == self.total


class PullFailed(PacsError):
    """A pull stopped part-way; ``result`` says what is in the folder (complete files only)."""

    def __init__(self, message: str, result: PullResult) -> None:
        super().__init__(message)
        self.result = result


def pull(
    server: Server | Connection,
    study_uid: str,
    output: Path,
    *,
    series_uid: str | None = None,
    progress: Callable[[PullProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PullResult:
    """Pull a study (or one series of it) into ``output`` (made if missing).

    Raises
    ------
    PacsError
        The server cannot be reached, refuses, or has no such study / series (nothing
        written), or :class:`PullFailed` when it stopped part-way (``PacsCancelled`` when
        the user cancelled): the files already complete stay and a new pull resumes.
    """
    check_uid(study_uid, "study UID")
    if series_uid is not None:
        check_uid(series_uid, "series UID")
    conn = server if isinstance(server, Connection) else connect(server)
    is_cancelled = cancelled or (lambda: False)
    refs = conn.instances(study_uid, series_uid)
    for ref in refs:
        check_uid(ref.sop_uid, "SOP Instance UID")
    output.mkdir(parents=True, exist_ok=True)
    result = PullResult(folder=output, total=len(refs))
    received = [0]
    missing = []
    for ref in refs:
        path = instance_path(output, ref.sop_uid)
        if path.exists() and is_complete(path, ref):
            result.files.append(path)
            result.skipped += 1
        else:
            missing.append(ref)

    def report() -> None:
        if progress is not None:
            progress(PullProgress(len(result.files), result.total, received[0]))

    def done(ref: InstanceRef) -> None:
        path = instance_path(output, ref.sop_uid)
        if path.exists():
            result.files.append(path)
            result.written += 1
        report()

    report()
    try:
        if isinstance(conn, DicomWebConnection):
            for ref in missing:
                if is_cancelled():
                    raise PacsCancelled("cancelled")

                def count(n: int) -> None:
                    received[0] += n
                    if progress is not None:
                        progress(PullProgress(len(result.files), result.total, received[0]))

                chunks = conn.instance_chunks(ref, on_bytes=count, cancelled=is_cancelled)
                write_atomically(instance_path(output, ref.sop_uid), chunks)
                done(ref)
        elif missing:

            def stored(uid: str, data: bytes) -> None:
                received[0] += len(data)
                write_atomically(instance_path(output, uid), data)

            conn.retrieve(missing, stored, done, is_cancelled)
        if not result.complete:
            # The server said it was done, yet some never came (a C-GET of a SOP class
            # we did not offer, a server that skipped one): never a complete-looking pull.
            raise PacsError(
                f"{conn.server.display}: {result.total - len(result.files)} instance(s) did "
                "not arrive (the server did not send them)"
            )
    except PacsError as exc:
        kept = f"{len(result.files)} of {result.total} instances in the folder"
        if isinstance(exc, PacsCancelled):
            raise PullCancelled(f"pull cancelled: {kept}", result) from None
        raise PullFailed(f"{exc} ({kept}; run the pull again to resume)", result) from None
    except OSError as exc:
        raise PullFailed(
            f"cannot write into the output folder ({exc.strerror or exc}); "
            f"{len(result.files)} of {result.total} instances in the folder",
            result,
        ) from None
    return result


class PullCancelled(PullFailed, PacsCancelled):
    """The user cancelled a pull; ``result`` says what is complete."""


def find(
    server: Server | Connection, query: StudyQuery, *, with_series: bool = True
) -> list[StudyInfo]:
    """Studies matching ``query``, each with its series when ``with_series``."""
    conn = server if isinstance(server, Connection) else connect(server)
    studies = conn.find_studies(query)
    if with_series:
        for study in studies:
            study.series = conn.find_series(study.study_uid)
    return studies


def series_of(server: Server | Connection, study_uid: str) -> list[SeriesInfo]:
    """The series of one study."""
    conn = server if isinstance(server, Connection) else connect(server)
    return conn.find_series(check_uid(study_uid, "study UID"))


def echo(server: Server | Connection) -> str:
    """C-ECHO, or a QIDO-RS search of one study for DICOMweb; a line saying it answered."""
    conn = server if isinstance(server, Connection) else connect(server)
    return conn.echo()


def push(server: Server | Connection, paths: Sequence[Path]) -> list[StoreOutcome]:
    """STOW-RS (DICOMweb) or C-STORE (DIMSE) each file: one outcome per file."""
    conn = server if isinstance(server, Connection) else connect(server)
    return conn.store([Path(p) for p in paths])
