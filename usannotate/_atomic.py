"""Atomic replacement of a file: a crash at any instant leaves the old or the new file.

A save killed between creating its temporary file and the rename leaves that file
behind. Each writer holds an advisory lock (``flock``) on its temporary file while it
writes; the system drops the lock when the process dies, so a temporary file nobody
holds is the left-over of a dead save, removed at once (before every save, and when a
loop is opened) instead of after a delay: a folder never keeps more than one dead
temporary file per target. Where locks are not available (Windows, some network file
systems) left-overs are removed once older than :data:`STALE_AFTER_S`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

#: Without locks, temporary files older than this (seconds) are left-overs of a crash.
STALE_AFTER_S = 600.0
_TEMP_SUFFIX = ".tmp"
#: Bytes handed to one os.write call when the data comes in chunks.
_WRITE_BATCH_BYTES = 1 << 20


def temporary_path_for(path: Path) -> Path:
    """A fresh temporary name beside ``path``: ``.<name>.<8 hex>.tmp``.

    Hidden and ending in ``.tmp``, so nothing that looks for sidecars takes it for one;
    derived from the target's own name plus a random token, so it carries nothing the
    folder does not already show.
    """
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")


def is_temporary_for(candidate: str, path: Path) -> bool:
    """Whether the file name ``candidate`` is one of :func:`temporary_path_for`'s names."""
    prefix = f".{path.name}."
    return (
        candidate.startswith(prefix)
        and candidate.endswith(_TEMP_SUFFIX)
        and re.fullmatch(r"[0-9a-f]{8}", candidate[len(prefix) : -len(_TEMP_SUFFIX)]) is not None
    )


def write_atomically(
    path: Path,
    data: bytes | Iterable[bytes],
    *,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Replace ``path`` by a file holding ``data``, or leave it exactly as it was.

    The bytes go to a temporary file in the same folder (so the final rename cannot
    cross file systems), which is flushed to disk with ``fsync`` and only then renamed
    over ``path`` with ``os.replace`` (atomic on POSIX and Windows); the folder is then
    fsynced too, where the platform allows, so the rename itself survives a power cut.
    The new file keeps the permission bits of the file it replaces. Left-overs of dead
    saves of ``path`` are removed first.

    Parameters
    ----------
    data
        The bytes, or an iterable of chunks (written as they come: a large file need
        not be held in memory).
    before_replace
        Called once everything is written and flushed, before the rename; whatever it
        raises abandons the save (the temporary file is removed, ``path`` untouched).

    Raises
    ------
    OSError
        Anything the system refused (full disk, read-only folder...). The temporary
        file is removed and ``path`` is untouched. Whatever ``data`` or
        ``before_replace`` raise is raised as it is, with the same guarantee.
    """
    remove_stale_temporaries(path)
    temporary, fd = _locked_temporary(path)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        if isinstance(data, bytes | bytearray | memoryview):
            _write_all(fd, data)
        else:
            pending: list[bytes] = []
            size = 0
            for chunk in data:
                pending.append(chunk)
                size += len(chunk)
                if size >= _WRITE_BATCH_BYTES:
                    _write_all(fd, b"".join(pending))
                    pending, size = [], 0
            _write_all(fd, b"".join(pending))
        os.fsync(fd)
        if before_replace is not None:
            before_replace()
    except BaseException:
        os.close(fd)
        _remove_quietly(temporary)
        raise
    try:
        os.close(fd)  # network file systems may report a failed write only here
        os.replace(temporary, path)
    except BaseException:
        _remove_quietly(temporary)
        raise
    fsync_folder(path.parent)


def _locked_temporary(path: Path) -> tuple[Path, int]:
    """A new temporary file beside ``path``, open for writing and locked against the
    cleaners of other processes (see the module's docstring)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _ in range(5):
        temporary = temporary_path_for(path)
        fd = os.open(temporary, flags, 0o666)
        if fcntl is None:
            return temporary, fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no locks on this file system: the age rule applies
            return temporary, fd
        try:
            # A cleaner may have taken the file for a dead one between open and lock.
            if os.path.samestat(os.fstat(fd), os.stat(temporary)):
                return temporary, fd
        except FileNotFoundError:
            pass
        os.close(fd)
    raise OSError(errno.EAGAIN, "no temporary file could be made beside the file")


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # a write that makes no progress would loop for ever
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not fsync folders; the data itself is on disk
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(path: Path, *, older_than_s: float = STALE_AFTER_S) -> None:
    """Delete temporary files of ``path`` left by dead saves (best effort).

    Only names :func:`temporary_path_for` makes. A file whose writer holds its lock
    belongs to a save still running (in this or another process) and is left; one that
    nobody holds is removed at once. Where locks cannot be taken, only files older
    than ``older_than_s`` seconds are removed.
    """
    limit = time.time() - older_than_s
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        if is_temporary_for(entry.name, path):
            with contextlib.suppress(OSError):
                _remove_if_dead(entry.path, limit)


def _remove_if_dead(candidate: str, limit: float) -> None:
    """Delete the temporary file ``candidate`` if it belongs to no running save."""
    if fcntl is not None:
        fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # a writer holds it
            except OSError:
                pass  # no locks here: judge by age below
            else:
                # Unlocked: its writer is gone. Deleted while we hold the lock, so a
                # writer that created it a moment ago sees it gone and starts afresh.
                if os.path.samestat(os.fstat(fd), os.stat(candidate)):
                    os.unlink(candidate)
                return
        finally:
            os.close(fd)
    if os.stat(candidate, follow_symlinks=False).st_mtime < limit:
        os.unlink(candidate)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
