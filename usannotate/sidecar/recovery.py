"""Autosave recovery files, one per session, and which hold work of a session now gone.

No Qt.

Every editing session autosaves to its own hidden file,
``.<sidecar stem>.<session token>.usannotate.recovery.json``, so one window's save never
deletes another window's (or rater's) only crash backup. The file is a complete sidecar
plus an ``autosave`` key naming its session (annotator, host, process, token) and the
content hash of the sidecar version its work started from. A session refreshes its
file's time while it runs; a file whose session is gone (its process no longer runs on
this host, or another host's file has not been refreshed for
:data:`~usannotate.sidecar.locks.STALE_AFTER_S`) is an **orphan**, offered back when the
loop is opened next. Files of the older single name
``.<sidecar stem>.usannotate.recovery.json`` are orphans too.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from usannotate.sidecar._names import RECOVERY_SUFFIX, sidecar_stem
from usannotate.sidecar._timestamps import parse_timestamp
from usannotate.sidecar.locks import LockOwner

#: The top-level key of a recovery file that names the session which wrote it.
AUTOSAVE_KEY = "autosave"
_TOKEN = re.compile(r"[0-9a-f]{12}")
#: Larger files are not looked into (the sidecar's own limit applies when one is loaded).
_MAX_BYTES = 512 * 1024 * 1024


def check_session_token(session: str) -> str:
    """``session`` if it is a session token (12 lowercase hex digits); else ValueError."""
    if not _TOKEN.fullmatch(session):
        raise ValueError(f"a session token is 12 hex digits, not {session!r}")
    return session


def autosave_record(owner: LockOwner, base_sha256: str | None) -> dict[str, object]:
    """The ``autosave`` value of a recovery file written by ``owner``'s session."""
    return {**owner.to_json(), "base_sha256": base_sha256}


@dataclass(frozen=True)
class RecoveryFile:
    """A recovery file found beside a sidecar.

    Attributes
    ----------
    path
        The file.
    owner
        The session that wrote it (None: a file of the older single name, or without
        a readable ``autosave`` key).
    modified
        Its ``modified`` time: when the work was autosaved (None if unreadable).
    base_sha256
        The content hash of the sidecar version the work started from (None: unknown).
    refreshed_at
        The file's modification time (seconds since the epoch): its session touches it.
    """

    path: Path
    owner: LockOwner | None
    modified: datetime | None
    base_sha256: str | None
    refreshed_at: float

    @property
    def orphaned(self) -> bool:
        """Whether the session that wrote it is gone (then its work may be offered)."""
        return self.owner is None or not self.owner.is_alive(self.refreshed_at)


def recovery_files(sidecar_path: str | os.PathLike[str]) -> list[Path]:
    """Every recovery file of the sidecar (any session, and the older single name)."""
    sidecar_path = Path(sidecar_path)
    stem = sidecar_stem(sidecar_path)
    prefix, legacy = f".{stem}.", f".{stem}{RECOVERY_SUFFIX}"
    try:
        entries = list(os.scandir(sidecar_path.parent))
    except OSError:
        return []
    found = []
    for entry in entries:
        name = entry.name
        if name == legacy or (
            name.startswith(prefix)
            and name.endswith(RECOVERY_SUFFIX)
            and _TOKEN.fullmatch(name[len(prefix) : -len(RECOVERY_SUFFIX)])
        ):
            found.append(sidecar_path.with_name(name))
    return sorted(found)


def read_recovery_file(path: Path) -> RecoveryFile | None:
    """What a recovery file says of itself; None when it cannot be read as JSON."""
    try:
        info = os.stat(path)
        if info.st_size > _MAX_BYTES:
            return None
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    record = data.get(AUTOSAVE_KEY)
    owner = LockOwner.from_json(record)
    base = record.get("base_sha256") if isinstance(record, dict) else None
    try:
        modified = parse_timestamp(data["modified"])
    except (KeyError, TypeError, ValueError, AttributeError):
        modified = None
    return RecoveryFile(
        path, owner, modified, base if isinstance(base, str) else None, info.st_mtime
    )


def orphaned_recoveries(sidecar_path: str | os.PathLike[str]) -> list[RecoveryFile]:
    """The readable recovery files of sessions that are gone, the newest work first."""
    found = [read_recovery_file(p) for p in recovery_files(sidecar_path)]
    orphans = [f for f in found if f is not None and f.orphaned and f.modified is not None]
    return sorted(orphans, key=lambda f: f.modified, reverse=True)  # type: ignore[arg-type, return-value]


def offered_recovery(sidecar_path: str | os.PathLike[str]) -> Path | None:
    """The recovery file to offer on opening the loop, or None.

    The newest work autosaved by a session that is gone (crashed, or closed without
    saving or discarding it; never a running session's file), when the sidecar is
    missing, unreadable, or was last saved (its ``modified``) before that autosave.
    """
    orphans = orphaned_recoveries(sidecar_path)
    if not orphans:
        return None
    sidecar = read_recovery_file(Path(sidecar_path))  # its "modified", as for an autosave
    saved = sidecar.modified if sidecar is not None else None
    newest = orphans[0]
    if saved is None or newest.modified > saved:  # type: ignore[operator]
        return newest.path
    return None


__all__ = [
    "AUTOSAVE_KEY",
    "RecoveryFile",
    "autosave_record",
    "check_session_token",
    "offered_recovery",
    "orphaned_recoveries",
    "read_recovery_file",
    "recovery_files",
]
