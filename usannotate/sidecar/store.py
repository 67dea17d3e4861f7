"""Sidecar files on disk: naming, loading, atomic saving and the autosave recovery file.

A sidecar is the user's work, so it is treated like a database treats a commit: it is
saved atomically (a crash at any instant leaves the previous file intact), a damaged
file is never overwritten, and autosave goes to a separate recovery file.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from usannotate._atomic import remove_stale_temporaries, write_atomically
from usannotate.sidecar import _conflict
from usannotate.sidecar._limits import MAX_SIDECAR_BYTES, read_cost_problem, write_errors_only
from usannotate.sidecar._names import RECOVERY_SUFFIX, SIDECAR_SUFFIX, sidecar_stem
from usannotate.sidecar._timestamps import utc_now
from usannotate.sidecar._writer import prepare_sidecar
from usannotate.sidecar.decode import document_from_json
from usannotate.sidecar.document import DiskVersion, SidecarDocument
from usannotate.sidecar.errors import (
    SidecarError,
    SidecarMismatchError,
    SidecarReadError,
    SidecarWriteError,
)
from usannotate.sidecar.locks import LockOwner, save_guard
from usannotate.sidecar.placement import SidecarLayout, sidecar_location
from usannotate.sidecar.recovery import (
    AUTOSAVE_KEY,
    autosave_record,
    check_session_token,
    offered_recovery,
    orphaned_recoveries,
    read_recovery_file,
    recovery_files,
)
from usannotate.sidecar.schema import quote

# File names only, never folders or contents: both may carry patient details.
_log = logging.getLogger(__name__)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large file is parsed or built.

    Parsing creates some 100,000 lists that hold no reference cycles, yet each batch of
    new containers triggers a collection that walks them all again: a third of the load
    time. Reference counting still frees everything as usual meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ----------------------------------------------------------------------- names
def sidecar_path_for(
    dicom_path: str | os.PathLike[str],
    *,
    rater: str | None = None,
    layout: SidecarLayout | None = None,
) -> Path:
    """The sidecar of a DICOM file: ``<name without .dcm>.usannotate.json``, beside it
    unless the archive is read-only (then in the annotation folder); per rater in a
    multi-rater project. The rule is :func:`usannotate.sidecar.placement.sidecar_location`.

    ``loop.dcm`` (or ``loop.DCM``) -> ``loop.usannotate.json``; a file without the
    extension keeps its whole name: ``IM_0001`` -> ``IM_0001.usannotate.json``.
    """
    return sidecar_location(dicom_path, rater=rater, layout=layout)


def is_sidecar_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is named like a sidecar (not a recovery or temporary file)."""
    name = Path(path).name
    return name.endswith(SIDECAR_SUFFIX) and len(name) > len(SIDECAR_SUFFIX)


def sidecar_matches_dicom(
    sidecar_path: str | os.PathLike[str], dicom_path: str | os.PathLike[str]
) -> bool:
    """Whether ``sidecar_path`` is the name :func:`sidecar_path_for` gives ``dicom_path``.

    The inverse check of the naming rule (by name only: the SOP Instance UID inside the
    sidecar is checked when it is loaded).
    """
    return Path(sidecar_path) == sidecar_path_for(dicom_path)


def recovery_path_for(sidecar_path: str | os.PathLike[str], session: str | None = None) -> Path:
    """A session's autosave file: ``.<stem>.<session>.usannotate.recovery.json`` beside
    the sidecar (see :mod:`usannotate.sidecar.recovery`); without ``session``, the single
    name of older versions, ``.<stem>.usannotate.recovery.json``.

    Hidden, and not ending in ``.usannotate.json``, so it is never taken for a sidecar.
    """
    path = Path(sidecar_path)
    token = f".{check_session_token(session)}" if session is not None else ""
    return path.with_name(f".{sidecar_stem(path)}{token}{RECOVERY_SUFFIX}")


# --------------------------------------------------------------------- loading
def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: str | os.PathLike[str]) -> object:
    """Parse a sidecar file's JSON.

    Raises
    ------
    SidecarReadError
        Missing, unreadable, too large (over ``MAX_SIDECAR_BYTES``, or needing more
        memory to read than ``usannotate.sidecar._limits.READ_BUDGET_BYTES``), not UTF-8
        text, not JSON or cut short.
    """
    path = Path(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise SidecarReadError(path, "is a folder, not a sidecar file")
        if not stat.S_ISREG(info.st_mode):
            raise SidecarReadError(path, "is not a regular file")
        if info.st_size > MAX_SIDECAR_BYTES:
            raise SidecarReadError(
                path, f"is {info.st_size / 2**20:.0f} MB, too large to be a sidecar"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SidecarReadError(path, "no such file") from None
    except OSError as exc:
        raise SidecarReadError(path, f"cannot be read ({_reason(exc)})") from None
    if not raw.strip():
        raise SidecarReadError(path, "is empty: it holds no annotations (an interrupted copy?)")
    problem = read_cost_problem(raw)  # before anything is allocated for it
    if problem is not None:
        raise SidecarReadError(path, problem)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SidecarReadError(
            path, f"is not a text (UTF-8) file: byte {exc.start} cannot be read"
        ) from None
    del raw  # the text is all the parser needs
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise SidecarReadError(
                path,
                f"is cut short: the JSON ends at line {exc.lineno} before it is complete "
                "(an interrupted copy or save?)",
            ) from None
        raise SidecarReadError(
            path, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except ValueError as exc:  # NaN / Infinity
        raise SidecarReadError(path, f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise SidecarReadError(path, "is not valid JSON (nested too deeply)") from None
    except MemoryError:
        raise SidecarReadError(path, "is too large to read in the memory available") from None


def load_sidecar(
    path: str | os.PathLike[str],
    *,
    dicom_uid: str | None = None,
    dicom_name: str | None = None,
) -> SidecarDocument:
    """Read, validate and check a sidecar file. The file is never modified.

    Parameters
    ----------
    path
        The sidecar file.
    dicom_uid
        The SOP Instance UID of the DICOM being opened; when given, a sidecar made for
        another DICOM raises :class:`SidecarMismatchError`.
    dicom_name
        That DICOM's file name, for the message.

    Returns
    -------
    SidecarDocument
        ``read_only=True`` (and no exception) when the file was written by a newer
        usannotate; its ``warnings`` say what could not be shown.

    Raises
    ------
    SidecarReadError
        Not JSON, cut short, not shaped as the schema says, or inconsistent.
    SidecarMismatchError
        Made for another DICOM file.
    """
    path = Path(path)
    stamp = _conflict.read_version(path)  # before reading: a change after it is a conflict
    with _gc_paused():
        doc = document_from_json(read_json(path), path=path)
    if dicom_uid is not None and doc.dicom.sop_instance_uid != dicom_uid:
        opened = quote(dicom_name) if dicom_name else "the DICOM file being opened"
        raise SidecarMismatchError(
            path,
            f"belongs to another DICOM file: it was made for {quote(doc.dicom.file_name)}, "
            f"whose SOP Instance UID differs from that of {opened}; it was not opened and "
            "is left unchanged",
        )
    doc.disk_stamp = _conflict.with_base(stamp, doc.annotations)
    return doc


# ---------------------------------------------------------------------- saving
def _reason(exc: OSError) -> str:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the disk is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOENT: "the folder does not exist",
        errno.ENOTDIR: "part of the folder path is a file, not a folder",
        errno.EISDIR: "a folder has that name",
        errno.ENAMETOOLONG: "the name is too long",
    }
    return reasons.get(exc.errno, exc.strerror or type(exc).__name__)  # type: ignore[arg-type]


def serialize(
    doc: SidecarDocument,
    *,
    modified: datetime | None = None,
    autosave: dict[str, object] | None = None,
) -> bytes:
    """The file's bytes for ``doc``, validated (schema and consistency).

    Parameters
    ----------
    modified
        Written as ``modified`` instead of ``doc.modified`` (which is left alone).
    autosave
        Written as the ``autosave`` key (recovery files only: the session that wrote it).

    Raises
    ------
    SidecarWriteError
        The document breaks the format; nothing is written.
    """
    prepared = prepare_sidecar(
        doc, modified=modified, extra={AUTOSAVE_KEY: autosave} if autosave else None
    )
    try:
        return prepared.to_bytes()
    except (ValueError, TypeError) as exc:  # a value the checks let through
        raise SidecarWriteError(
            None, f"not saved: a value cannot be written as JSON ({type(exc).__name__})"
        ) from None


def _existing_problem(path: Path, doc: SidecarDocument) -> tuple[bool, str] | None:
    """Why the file at ``path`` must not be replaced by ``doc``: ``(damaged, message)``.

    None when there is no file, or it is an older state of this very document (the file
    it was read from or last saved to, untouched since: same content hash).

    Raises
    ------
    SidecarConflictError
        A valid sidecar of the same DICOM that this document did not read (someone else
        saved it since): it is never replaced without the user choosing.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return False, f"could not be saved: {_reason(exc)}; nothing was written"
    if not stat.S_ISREG(info.st_mode):
        return False, "could not be saved: a folder or device has that name"
    if not info.st_mode & stat.S_IWUSR:
        return False, "not saved: the file is read-only; it was kept unchanged"
    current = _conflict.read_version(path)
    if _conflict.was_read_from(doc, path, current):
        return None
    try:
        existing = load_sidecar(path)
    except SidecarError as exc:
        return True, (
            f"not saved: the existing file is damaged ({exc.problems[0]}); it was kept "
            "unchanged: save under another name, or move it away first"
        )
    if existing.read_only:
        return False, (
            "not saved: the existing file was written by a newer usannotate "
            f"(format version {existing.format_version}); it was kept unchanged"
        )
    if existing.dicom.sop_instance_uid != doc.dicom.sop_instance_uid:
        return False, (
            "not saved: the existing file belongs to another DICOM file "
            f"({quote(existing.dicom.file_name)}); it was kept unchanged"
        )
    raise _conflict.conflict(path, doc, existing)


def _move_damaged_aside(path: Path) -> None:
    aside = path.with_name(f"{path.name}.damaged-{utc_now():%Y%m%dT%H%M%S%fZ}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        raise SidecarWriteError(
            path, f"could not be saved: the damaged file could not be moved ({_reason(exc)})"
        ) from None


@write_errors_only(lambda doc, path, **_: path)
def save_sidecar(
    doc: SidecarDocument,
    path: str | os.PathLike[str],
    *,
    now: datetime | None = None,
    overwrite_corrupt: bool = False,
) -> None:
    """Validate ``doc`` and save it atomically to ``path``, unless someone else saved
    ``path`` since ``doc`` was read (then :class:`SidecarConflictError`).

    The check and the replacement run under the sidecar's save guard
    (:func:`usannotate.sidecar.locks.save_guard`), so two saves of one file, from two
    windows or two computers, never both pass the check. Otherwise as
    :func:`_save_checked`, whose description follows.
    """
    with save_guard(path):
        _save_checked(doc, path, now=now, overwrite_corrupt=overwrite_corrupt)


def _save_checked(
    doc: SidecarDocument,
    path: str | os.PathLike[str],
    *,
    now: datetime | None = None,
    overwrite_corrupt: bool = False,
) -> None:
    """Validate ``doc`` and save it atomically to ``path``.

    The bytes go to a temporary file beside ``path`` (flushed and fsynced), which then
    replaces ``path`` in one rename; a crash at any instant leaves the previous file.
    On success ``doc.modified`` becomes ``now`` (default: the current UTC time); on
    failure ``doc`` is unchanged, the previous file is intact and no temporary file is
    left. The same document saved at the same ``now`` gives the same bytes.

    Parameters
    ----------
    overwrite_corrupt
        When the existing file is damaged (not a readable sidecar), move it aside as
        ``<name>.damaged-<UTC time>`` and save. By default such a file is kept and the
        save is refused: a damaged sidecar is never overwritten.

    Raises
    ------
    SidecarConflictError
        ``path`` holds a valid sidecar of the same DICOM that ``doc`` was not read from
        (or last saved to): someone else saved it meanwhile; it carries both versions.
    SidecarWriteError
        ``doc`` is read-only or breaks the format; the existing file is damaged, newer,
        read-only or belongs to another DICOM; the file written would be too large to
        read back; or the system refused the write (full disk, read-only folder, no
        permission). Every failure is one, whatever its cause (a ``MemoryError`` too):
        the window catches it, says why and keeps the work unsaved.
    """
    path = Path(path)
    if doc.read_only:
        raise SidecarWriteError(
            path,
            "not saved: it was opened read-only because a newer usannotate wrote it "
            f"(format version {doc.format_version})",
        )
    moment = now or utc_now()
    try:
        with _gc_paused():
            prepared = prepare_sidecar(doc, modified=moment)
    except SidecarWriteError as exc:
        raise SidecarWriteError(path, exc.problems) from None
    problem = _existing_problem(path, doc)
    if problem is not None:
        damaged, message = problem
        if not (damaged and overwrite_corrupt):
            raise SidecarWriteError(path, message)
        _move_damaged_aside(path)  # kept beside, never overwritten
    existed = path.exists()
    try:
        with _gc_paused():
            write_atomically(path, prepared.chunks(), before_replace=prepared.check_read_back)
    except SidecarWriteError as exc:
        raise SidecarWriteError(path, exc.problems) from None
    except OSError as exc:
        kept = "the previous version was kept" if existed else "nothing was written"
        raise SidecarWriteError(path, f"could not be saved: {_reason(exc)}; {kept}") from None
    doc.modified = moment
    doc.disk_stamp = _conflict.version_of_digest(path, prepared.sha256(), doc.annotations)
    remove_stale_temporaries(path)


# -------------------------------------------------------------------- recovery
@write_errors_only(lambda doc, sidecar_path, **_: recovery_path_for(sidecar_path))
def write_recovery(
    doc: SidecarDocument,
    sidecar_path: str | os.PathLike[str],
    *,
    now: datetime | None = None,
    owner: LockOwner | None = None,
) -> Path:
    """Autosave ``doc`` to the sidecar's recovery file (atomically); return its path.

    The recovery file is a complete sidecar whose ``modified`` is the autosave time;
    ``doc`` itself is not changed and the sidecar is not touched. With ``owner`` (the
    session autosaving), the file is that session's own and names it (``autosave`` key,
    with the content hash of the sidecar version ``doc`` was read from); without, the
    single recovery file name of older versions is used.

    Raises
    ------
    SidecarWriteError
        As :func:`save_sidecar` (the recovery file is ours: it is always replaced).
    """
    target = recovery_path_for(sidecar_path, owner.session if owner else None)
    if doc.read_only:
        raise SidecarWriteError(target, "not autosaved: the sidecar was opened read-only")
    record = None
    if owner is not None:
        read = doc.disk_stamp
        same = isinstance(read, DiskVersion) and read.path == os.path.abspath(sidecar_path)
        record = autosave_record(owner, read.sha256 if same else None)  # type: ignore[union-attr]
    try:
        with _gc_paused():
            prepared = prepare_sidecar(
                doc, modified=now or utc_now(), extra={AUTOSAVE_KEY: record} if record else None
            )
            write_atomically(target, prepared.chunks(), before_replace=prepared.check_read_back)
    except SidecarWriteError as exc:
        raise SidecarWriteError(target, exc.problems) from None
    except OSError as exc:
        raise SidecarWriteError(target, f"could not be autosaved: {_reason(exc)}") from None
    remove_stale_temporaries(target)
    return target


def load_recovery(
    sidecar_path: str | os.PathLike[str],
    *,
    dicom_uid: str | None = None,
    recovery_file: str | os.PathLike[str] | None = None,
) -> SidecarDocument | None:
    """The autosaved document of a sidecar, or None when there is none usable.

    ``recovery_file`` chooses the file; by default the newest work of a session that is
    gone (:func:`usannotate.sidecar.recovery.orphaned_recoveries`). A recovery file that
    cannot be read, or that belongs to another DICOM (when ``dicom_uid`` is given), gives
    None and a logged warning (without names or contents). The document's next save
    replaces the sidecar only if it is still the version the autosaved work started from.
    """
    if recovery_file is None:
        orphans = orphaned_recoveries(sidecar_path)
        if not orphans:
            _warn_unreadable_recoveries(sidecar_path)
            return None
        recovery_file = orphans[0].path
    target = Path(recovery_file)
    if not target.exists():
        return None
    try:
        doc = load_sidecar(target, dicom_uid=dicom_uid)
    except SidecarMismatchError:
        _log.warning("an autosave recovery file belongs to another DICOM file; it was ignored")
        return None
    except SidecarError as exc:
        _log.warning("an autosave recovery file could not be read; it was ignored (%s)", _kind(exc))
        return None
    record = doc.extra.top.pop(AUTOSAVE_KEY, None)  # about the file, not the work
    base = record.get("base_sha256") if isinstance(record, dict) else None
    # The save goes to the sidecar: it may replace only the version the work started from.
    doc.disk_stamp = (
        DiskVersion(os.path.abspath(sidecar_path), base) if isinstance(base, str) else None
    )
    return doc


def _warn_unreadable_recoveries(sidecar_path: str | os.PathLike[str]) -> None:
    for candidate in recovery_files(sidecar_path):
        if read_recovery_file(candidate) is None:
            try:
                read_json(candidate)
                kind = "not a valid sidecar"
            except SidecarError as exc:
                kind = _kind(exc)
            _log.warning("an autosave recovery file could not be read; it was ignored (%s)", kind)


def _kind(exc: SidecarError) -> str:
    # Only the nature of the problem: the message quotes values, which may be patient data.
    problem = exc.problems[0]
    for words in ("is empty", "is cut short", "is not valid JSON", "is not a text", "no such"):
        if words in problem:
            return words.removeprefix("is ")
    return "not a valid sidecar"


def discard_recovery(
    sidecar_path: str | os.PathLike[str],
    session: str | None = None,
    *,
    recovery_file: str | os.PathLike[str] | None = None,
) -> None:
    """Delete a recovery file, if any (after a save, or when declined): ``session``'s
    own (another session's is never touched), or ``recovery_file`` (an orphan the user
    recovered or declined); without either, the single file of older versions.

    Raises
    ------
    SidecarWriteError
        The file exists but cannot be deleted.
    """
    target = Path(recovery_file) if recovery_file else recovery_path_for(sidecar_path, session)
    try:
        target.unlink(missing_ok=True)
    except OSError as exc:
        raise SidecarWriteError(target, f"could not be deleted ({_reason(exc)})") from None


def recovery_is_newer(sidecar_path: str | os.PathLike[str]) -> bool:
    """Whether a recovery file holds work the sidecar does not: offer it on reopening
    (see :func:`offered_recovery`)."""
    return offered_recovery(sidecar_path) is not None


__all__ = [
    "MAX_SIDECAR_BYTES",
    "RECOVERY_SUFFIX",
    "SIDECAR_SUFFIX",
    "discard_recovery",
    "is_sidecar_path",
    "load_recovery",
    "load_sidecar",
    "offered_recovery",
    "read_json",
    "recovery_is_newer",
    "recovery_path_for",
    "save_sidecar",
    "serialize",
    "sidecar_matches_dicom",
    "sidecar_path_for",
    "write_recovery",
]
