"""Who has a loop open: the advisory edit lock beside a sidecar, and the save guard (no Qt).

Two small files beside ``loop.usannotate.json``, both hidden and named from the sidecar's
own name only (nothing the folder does not already show):

``.loop.usannotate.lock``
    The **edit lock**: the annotator, host, process and time of the session that has the
    loop open for editing. A second window or rater is told who has it and opens the loop
    read-only unless they take it over. It is advisory: it protects nobody's file by
    itself (a save's content check does, see :mod:`usannotate.sidecar.store`), it only
    tells people about each other before they both edit.
``.loop.usannotate.saving``
    The **save guard**, held for the split second a save checks the file on disk and
    replaces it, so that two saves cannot both check, then both replace (a lost update).

Both are created atomically (a complete temporary file hard-linked to the lock's name,
which fails when the name exists; ``O_CREAT | O_EXCL`` where links are not supported), so
they work on network folders, where ``flock``/``fcntl`` locks are often not shared between
machines. That, and the need to say *who* holds a lock and to tell a crashed holder from a
live one, is why this is written here rather than taken from ``filelock`` (whose
``FileLock`` is flock-based and whose ``SoftFileLock`` cannot tell a stale lock).

A lock is **stale** when its process is gone (same host: the pid no longer runs, or runs
a later process) or, for another host, when it has not been refreshed (its file's time)
for :data:`STALE_AFTER_S`: the holder's session refreshes it every
:data:`REFRESH_EVERY_S`. A stale lock is taken over with a note saying whose it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import secrets
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from usannotate._atomic import temporary_path_for
from usannotate.sidecar._names import sidecar_stem
from usannotate.sidecar.errors import SidecarError, SidecarWriteError

#: ``.<sidecar stem>.usannotate.lock`` beside the sidecar.
LOCK_SUFFIX = ".usannotate.lock"
#: ``.<sidecar stem>.usannotate.saving`` beside the sidecar, while a save runs.
SAVING_SUFFIX = ".usannotate.saving"
#: A session refreshes its edit lock this often (seconds).
REFRESH_EVERY_S = 60.0
#: An edit lock of another host not refreshed for this long is stale (seconds): well over
#: the refresh period, and over any clock difference between two machines.
STALE_AFTER_S = 15 * 60.0
#: A save guard of another host older than this is stale: a save takes about a second.
SAVE_STALE_AFTER_S = 60.0
#: How long a save waits for another save of the same sidecar to finish (seconds).
SAVE_WAIT_S = 20.0

_FORMAT = "usannotate-lock"


def lock_path_for(sidecar_path: str | os.PathLike[str]) -> Path:
    """The edit lock of a sidecar: ``.<stem>.usannotate.lock`` beside it."""
    path = Path(sidecar_path)
    return path.with_name(f".{sidecar_stem(path)}{LOCK_SUFFIX}")


def saving_path_for(sidecar_path: str | os.PathLike[str]) -> Path:
    """The save guard of a sidecar: ``.<stem>.usannotate.saving`` beside it."""
    path = Path(sidecar_path)
    return path.with_name(f".{sidecar_stem(path)}{SAVING_SUFFIX}")


#: Sessions of this very process that are running, with how many holds each has (a
#: session, its lock, a save guard). Another process is alive while its pid runs; in this
#: one, a session is alive only while held here, so a window closed (or "crashed" in a
#: test) leaves an orphan even though the program goes on.
_live_sessions: Counter[str] = Counter()


def hold_session(session: str) -> None:
    """Count ``session`` (of this process) as running (see :func:`release_session`)."""
    _live_sessions[session] += 1


def release_session(session: str) -> None:
    """One hold of ``session`` fewer; with none left its files are a gone session's."""
    _live_sessions[session] -= 1
    if _live_sessions[session] <= 0:
        del _live_sessions[session]


def new_session_token() -> str:
    """A random session id (12 hex digits): names a session's recovery file and lock."""
    return secrets.token_hex(6)


def _this_process_started() -> float | None:
    try:
        return psutil.Process(os.getpid()).create_time()
    except (psutil.Error, OSError):
        return None


def _format_time(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


# ------------------------------------------------------------------ the owner
@dataclass(frozen=True)
class LockOwner:
    """Who holds a lock, as written in its file.

    Attributes
    ----------
    annotator
        The name the user chose in Preferences (may be empty).
    host
        The computer's network name.
    pid, pid_started
        The holding process and its start time (seconds since the epoch; None when
        unknown), so a later process that reuses the pid is not taken for the holder.
    session
        The holding session's random token (12 hex digits); one process may hold
        several sessions (windows).
    since
        When the lock was taken (UTC).
    """

    annotator: str
    host: str
    pid: int
    pid_started: float | None
    session: str
    since: datetime = field(compare=False)

    @classmethod
    def current(cls, annotator: str, session: str | None = None) -> LockOwner:
        """This process as an owner (a new session token unless ``session`` is given)."""
        return cls(
            annotator=annotator,
            host=socket.gethostname(),
            pid=os.getpid(),
            pid_started=_this_process_started(),
            session=session or new_session_token(),
            since=datetime.now(UTC).replace(microsecond=0),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "annotator": self.annotator,
            "host": self.host,
            "pid": self.pid,
            "pid_started": self.pid_started,
            "session": self.session,
            "since": _format_time(self.since),
        }

    @classmethod
    def from_json(cls, data: object) -> LockOwner | None:
        """The owner of a parsed lock (or recovery) record; None when it is not one."""
        if not isinstance(data, dict):
            return None
        try:
            started = data.get("pid_started")
            since = datetime.fromisoformat(str(data["since"]).replace("Z", "+00:00"))
            owner = cls(
                annotator=str(data["annotator"]),
                host=str(data["host"]),
                pid=int(data["pid"]),
                pid_started=None if started is None else float(started),
                session=str(data["session"]),
                since=since if since.tzinfo else since.replace(tzinfo=UTC),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return owner

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def process_alive(self) -> bool:
        """Whether the holding process still runs (only meaningful on this host)."""
        if self.pid <= 0:
            return False
        try:
            process = psutil.Process(self.pid)
            started = process.create_time()
        except psutil.NoSuchProcess:
            return False
        except (psutil.Error, OSError):
            return True  # exists but cannot be inspected (another user's): assume alive
        # A start time that differs: the pid was reused by a later process.
        return self.pid_started is None or abs(started - self.pid_started) <= 1.0

    def is_alive(self, refreshed_at: float | None, *, stale_after_s: float = STALE_AFTER_S) -> bool:
        """Whether this owner still holds what it wrote.

        ``refreshed_at`` is the lock file's modification time (seconds since the epoch;
        the holder refreshes it). On this host the process decides; for another host, a
        lock refreshed within ``stale_after_s`` is alive.
        """
        if self.on_this_host:
            started = _this_process_started()
            if self.pid == os.getpid() and (
                self.pid_started == started
                or (self.pid_started and started and abs(self.pid_started - started) < 1e-3)
            ):
                return self.session in _live_sessions
            return self.process_alive()
        return refreshed_at is not None and time.time() - refreshed_at < stale_after_s

    def describe(self) -> str:
        """``"B. Rater (on ws-12, since 09:40 UTC)"`` for messages."""
        who = self.annotator or "an annotator who has not set a name"
        return f"{who} (on {self.host or 'an unknown computer'}, since {self.since:%H:%M} UTC)"


@dataclass(frozen=True)
class LockState:
    """A lock file as found: its owner (None if unreadable) and whether it is stale."""

    path: Path
    owner: LockOwner | None
    refreshed_at: float
    stale: bool


class LockHeldError(SidecarError):
    """The loop is open for editing elsewhere (``holder`` says by whom)."""

    def __init__(self, sidecar_path: str | os.PathLike[str], holder: LockOwner) -> None:
        self.holder = holder
        super().__init__(sidecar_path, f"is open for editing by {holder.describe()}")


# --------------------------------------------------------------- lock files
def _write_new(path: Path, owner: LockOwner, *, kind: str) -> bool:
    """Create ``path`` holding ``owner``, atomically; False if it exists already.

    Raises
    ------
    OSError
        Anything else the system refused (read-only folder...).
    """
    data = json.dumps({"format": _FORMAT, "kind": kind, **owner.to_json()}, indent=2) + "\n"
    payload = data.encode("utf-8")
    temporary = temporary_path_for(path)
    try:
        with open(temporary, "xb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    try:
        # A hard link appears complete and fails if the name exists: an atomic create.
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.EXDEV,
            errno.EMLINK,
        ):
            raise
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    # Folders without hard links (some network shares): exclusive create, then write.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, payload)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)
    return True


def _read(path: Path, *, stale_after_s: float) -> LockState | None:
    try:
        info = os.stat(path)
        raw = path.read_bytes()[:65536]
    except FileNotFoundError:
        return None
    except OSError:
        return LockState(path, None, time.time(), False)  # cannot tell: treat as held
    try:
        owner = LockOwner.from_json(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        owner = None
    if owner is None:  # damaged (or a foreign file): stale once it is not brand new
        return LockState(path, None, info.st_mtime, time.time() - info.st_mtime > 5.0)
    stale = not owner.is_alive(info.st_mtime, stale_after_s=stale_after_s)
    return LockState(path, owner, info.st_mtime, stale)


def _break(path: Path, expected: LockState) -> bool:
    """Remove the lock at ``path`` if it is still the one ``expected`` describes.

    The lock is first renamed aside (atomic: of two takers only one moves it), then
    checked: a lock someone else made meanwhile is put back. True when it is gone.
    """
    aside = temporary_path_for(path)
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True  # released meanwhile
    moved = _read(aside, stale_after_s=float("inf"))
    same = moved is not None and (
        (moved.owner is None and expected.owner is None)
        or (
            moved.owner is not None
            and expected.owner is not None
            and moved.owner.session == expected.owner.session
        )
    )
    if not same:
        with contextlib.suppress(OSError):
            os.link(aside, path)  # put the newer lock back (never over another one)
        with contextlib.suppress(OSError):
            os.unlink(aside)
        return False
    with contextlib.suppress(OSError):
        os.unlink(aside)
    return True


def read_lock(sidecar_path: str | os.PathLike[str]) -> LockState | None:
    """The edit lock of a sidecar, or None when nobody has the loop open."""
    return _read(lock_path_for(sidecar_path), stale_after_s=STALE_AFTER_S)


class EditLock:
    """This session's hold on a loop's edit lock (see the module's description)."""

    def __init__(self, sidecar_path: Path, owner: LockOwner) -> None:
        self.sidecar_path = sidecar_path
        self.path = lock_path_for(sidecar_path)
        self.owner = owner
        self._released = False

    @classmethod
    def acquire(
        cls,
        sidecar_path: str | os.PathLike[str],
        owner: LockOwner,
        *,
        take_over: LockOwner | None = None,
    ) -> tuple[EditLock, LockOwner | None]:
        """Take the edit lock of ``sidecar_path`` for ``owner``.

        Parameters
        ----------
        take_over
            The live holder the user chose to take the loop over from (as a
            :class:`LockHeldError` named it); only that very holder's lock is replaced.

        Returns
        -------
        (EditLock, previous)
            ``previous`` is the owner of a stale (or taken-over) lock that was replaced,
            for a note; None when the loop was free (or the stale lock unreadable).

        Raises
        ------
        LockHeldError
            A live session of someone else (or another window) holds it.
        SidecarWriteError
            The folder does not let the lock be written (read-only media...).
        """
        sidecar_path = Path(sidecar_path)
        path = lock_path_for(sidecar_path)
        previous: LockOwner | None = None
        for _ in range(20):  # each turn, someone else changed the lock in between
            try:
                if _write_new(path, owner, kind="edit"):
                    hold_session(owner.session)
                    return cls(sidecar_path, owner), previous
            except OSError as exc:
                raise SidecarWriteError(
                    sidecar_path, f"cannot be locked for editing ({exc.strerror or exc})"
                ) from None
            state = read_lock(sidecar_path)
            if state is None:
                continue
            if state.owner is not None and state.owner.session == owner.session:
                hold_session(owner.session)
                return cls(sidecar_path, owner), None  # ours already
            chosen = (
                take_over is not None
                and state.owner is not None
                and state.owner.session == take_over.session
            )
            if not (state.stale or chosen):
                if state.owner is None:
                    time.sleep(0.05)  # being written right now
                    continue
                raise LockHeldError(sidecar_path, state.owner)
            if _break(path, state):
                previous = state.owner
        raise SidecarWriteError(sidecar_path, "cannot be locked for editing (it keeps changing)")

    def held(self) -> bool:
        """Whether the lock file still names this session (not taken over, not removed)."""
        state = _read(self.path, stale_after_s=float("inf"))
        return (
            state is not None
            and state.owner is not None
            and state.owner.session == self.owner.session
        )

    def holder(self) -> LockOwner | None:
        """Who holds the lock now (None: nobody, or unreadable)."""
        state = _read(self.path, stale_after_s=float("inf"))
        return None if state is None else state.owner

    def refresh(self) -> bool:
        """Touch the lock so other hosts see this session alive; False if it was lost."""
        if not self.held():
            return False
        with contextlib.suppress(OSError):
            os.utime(self.path)
        return True

    def release(self) -> None:
        """Remove the lock if it is still this session's (never someone else's)."""
        if self._released:
            return
        self._released = True
        release_session(self.owner.session)
        _remove_own(self.path, self.owner)


def _remove_own(path: Path, owner: LockOwner) -> None:
    state = _read(path, stale_after_s=float("inf"))
    if state is not None and state.owner is not None and state.owner.session == owner.session:
        _break(path, state)


# --------------------------------------------------------------- save guard
@contextlib.contextmanager
def save_guard(
    sidecar_path: str | os.PathLike[str], *, wait_s: float = SAVE_WAIT_S
) -> Iterator[None]:
    """Hold the sidecar's save guard while the body checks and replaces the file.

    Waits (up to ``wait_s``) while another save of the same sidecar runs; breaks a guard
    whose process is gone (or of another host, older than :data:`SAVE_STALE_AFTER_S`).

    Raises
    ------
    SidecarWriteError
        Another save did not finish in time.
    """
    path = saving_path_for(sidecar_path)
    owner = LockOwner.current("")
    hold_session(owner.session)
    try:
        _take_guard(Path(sidecar_path), path, owner, wait_s)
        try:
            yield
        finally:
            _remove_own(path, owner)
    finally:
        release_session(owner.session)


def _take_guard(sidecar_path: Path, path: Path, owner: LockOwner, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    chance = random.Random()
    while True:
        try:
            if _write_new(path, owner, kind="save"):
                return
        except OSError:
            # No folder, a read-only one, a full disk: the save itself fails and says
            # why in its own words (its content check still runs).
            return
        state = _read(path, stale_after_s=SAVE_STALE_AFTER_S)
        if state is not None and state.stale:
            _break(path, state)
            continue
        if time.monotonic() > deadline:
            raise SidecarWriteError(
                sidecar_path,
                "not saved: another save of this file has not finished; nothing was written",
            )
        time.sleep(chance.uniform(0.002, 0.02))


__all__ = [
    "LOCK_SUFFIX",
    "REFRESH_EVERY_S",
    "SAVING_SUFFIX",
    "STALE_AFTER_S",
    "EditLock",
    "LockHeldError",
    "LockOwner",
    "LockState",
    "hold_session",
    "lock_path_for",
    "new_session_token",
    "read_lock",
    "release_session",
    "save_guard",
    "saving_path_for",
]
