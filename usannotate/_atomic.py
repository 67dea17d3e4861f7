"""Atomic replacement of a file: a crash at any instant leaves the old or the new file."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from pathlib import Path

#: Temporary files older than this (seconds) are left-overs of a crashed save.
STALE_AFTER_S = 600.0
_TEMP_SUFFIX = ".tmp"


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


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by a file holding ``data``, or leave it exactly as it was.

    The bytes go to a temporary file in the same folder (so the final rename cannot
    cross file systems), which is flushed to disk with ``fsync`` and only then renamed
    over ``path`` with ``os.replace`` (atomic on POSIX and Windows); the folder is then
    fsynced too, where the platform allows, so the rename itself survives a power cut.
    The new file keeps the permission bits of the file it replaces.

    Raises
    ------
    OSError
        Anything the system refused (full disk, read-only folder...). The temporary
        file is removed and ``path`` is untouched.
    """
    temporary = temporary_path_for(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temporary, flags | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:  # a write that makes no progress would loop for ever
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]
        os.fsync(fd)
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
    """Delete temporary files of ``path`` left by a crashed save (best effort).

    Only names :func:`temporary_path_for` makes, and only old ones: a younger one may
    belong to a save still running in another process.
    """
    limit = time.time() - older_than_s
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        if not is_temporary_for(entry.name, path):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime < limit:
                os.unlink(entry.path)
        except OSError:
            continue


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
