"""One loop's annotation session: its sidecar, edit history, lock, saving and autosave.

No Qt here either (the window asks the questions): a session holds the loop's edit lock
while it edits, autosaves to its own recovery file, and resolves a save conflict the way
the user chose (reload, save a copy, overwrite, merge).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from usannotate._atomic import remove_stale_temporaries
from usannotate.annotations import LabelSet, default_label_set, load_label_set
from usannotate.annotations.edits import EditHistory, ReplaceContent
from usannotate.cine import CineLoop
from usannotate.sidecar import (
    SIDECAR_SUFFIX,
    SidecarConflictError,
    SidecarDocument,
    SidecarError,
    SidecarReadError,
    SidecarWriteError,
    check_loop,
    discard_recovery,
    load_recovery,
    load_sidecar,
    new_document,
    offered_recovery,
    recovery_path_for,
    save_sidecar,
    sidecar_path_for,
    write_recovery,
)
from usannotate.sidecar._conflict import SAVED_BY_KEY, read_version, rebase
from usannotate.sidecar._names import sidecar_stem
from usannotate.sidecar.locks import EditLock, LockOwner, hold_session, release_session
from usannotate.sidecar.merge import MergeResult, merge_documents
from usannotate.sidecar.placement import (
    ADJUDICATED,
    default_layout,
    folder_writable,
    rater_name_problem,
)

#: The key that records whose file a multi-rater project's sidecar is.
RATER_KEY = "rater"

#: A project's label set: this file in the loop's folder or one of its two parents.
PROJECT_LABELS_NAME = "labels.usannotate.json"


def project_label_set(folder: Path, fallback: LabelSet | None = None) -> LabelSet:
    """The label set new sidecars in ``folder`` start with.

    A ``labels.usannotate.json`` (label-set format, see resources/labels/) in the folder
    or up to two levels above chooses it for a project; otherwise ``fallback`` (the
    user's preferred set), else the default hydrodissection set. Existing sidecars keep
    the set they were made with.
    """
    for candidate in (folder, *list(folder.parents)[:2]):
        path = candidate / PROJECT_LABELS_NAME
        if path.is_file():
            return load_label_set(path)
    return fallback if fallback is not None else default_label_set()


def copy_path_for(sidecar_path: Path, *, now: datetime | None = None) -> Path:
    """A free name beside the sidecar for "save as copy":
    ``<stem>.copy-<UTC time>.usannotate.json`` (the sidecar's name and a time only)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stem = sidecar_stem(sidecar_path)
    candidate = sidecar_path.with_name(f"{stem}.copy-{moment:%Y%m%dT%H%M%SZ}{SIDECAR_SUFFIX}")
    number = 2
    while candidate.exists():
        candidate = sidecar_path.with_name(
            f"{stem}.copy-{moment:%Y%m%dT%H%M%SZ}-{number}{SIDECAR_SUFFIX}"
        )
        number += 1
    return candidate


def session_sidecar_path(loop_path: str | os.PathLike[str], rater: str) -> Path:
    """Where this rater's work on a loop is read and saved (the one rule,
    :func:`usannotate.sidecar.placement.sidecar_location`), its annotation folder made
    when the archive is read-only.

    Raises
    ------
    SidecarReadError
        A multi-rater project and ``rater`` is not a valid rater name (never falls back
        to another rater's or the adjudicated file).
    """
    layout = default_layout()
    if layout.multi_rater(loop_path) and rater != ADJUDICATED:
        problem = rater_name_problem(rater)
        if problem is not None:
            path = sidecar_path_for(loop_path, layout=layout)
            raise SidecarReadError(path, f"this folder has one sidecar per rater: {problem}")
    path = sidecar_path_for(loop_path, rater=rater or None, layout=layout)
    if not path.parent.exists() and layout.redirected(loop_path):
        with contextlib.suppress(OSError):  # saving says why it cannot
            path.parent.mkdir(parents=True, exist_ok=True)
    return path


class AnnotationSession:
    """The sidecar document of one loop and the single history that edits it.

    Construction never raises for a missing sidecar (a new document is made); a damaged
    or foreign sidecar raises :class:`usannotate.sidecar.SidecarError` so the window can
    say why and keep the file untouched.

    Parameters
    ----------
    owner
        This session (its annotator's name and random token); a new one by default.
    lock
        The loop's edit lock, held by ``owner`` (None: not locked, e.g. read-only media).
    locked_by
        Who else has the loop open: the session is then read-only.
    recovery_file
        An orphaned autosave the user chose to recover; it is deleted once saved.
    rater
        Whose file this session edits (default: ``annotator``; :data:`ADJUDICATED` for
        the adjudicated result). Only a multi-rater project names files after it.
    """

    def __init__(
        self,
        loop: CineLoop,
        *,
        recovery_file: Path | None = None,
        annotator: str = "",
        label_set: LabelSet | None = None,
        owner: LockOwner | None = None,
        lock: EditLock | None = None,
        locked_by: LockOwner | None = None,
        rater: str | None = None,
    ) -> None:
        self.loop = loop
        self.rater = annotator if rater is None else rater
        self.multi_rater = default_layout().multi_rater(loop.path)
        self.path: Path = session_sidecar_path(loop.path, self.rater)
        self.owner = owner or LockOwner.current(annotator)
        hold_session(self.owner.session)  # its recovery file is a running session's
        self._closed = False
        self.lock = lock
        self.locked_by = locked_by
        self.adopted_recovery: Path | None = None
        # Left-overs of saves killed earlier go now, not at the next save (issue 10).
        remove_stale_temporaries(self.path)
        remove_stale_temporaries(recovery_path_for(self.path))
        uid = loop.identity.sop_instance_uid
        recovered = None
        if recovery_file is not None and locked_by is None:
            recovered = load_recovery(self.path, dicom_uid=uid, recovery_file=recovery_file)
        if recovered is not None:
            self.document: SidecarDocument = recovered
            self.adopted_recovery = Path(recovery_file)  # type: ignore[arg-type]
        elif self.path.exists():
            self.document = load_sidecar(self.path, dicom_uid=uid, dicom_name=Path(loop.path).name)
        else:
            self.document = new_document(
                loop, project_label_set(Path(loop.path).parent, label_set), annotator
            )
        check_loop(self.document, loop, path=self.path)
        self.history = EditHistory(self.document.annotations)
        self.history.mark_saved()
        if recovered is not None:
            self.history.mark_unsaved()  # recovered work is not on disk yet
        self._autosaved_at: int | None = None
        #: Called before each save writes the document (adjudication records provenance).
        self.before_save: list[Callable[[], None]] = []

    @staticmethod
    def offered_recovery(loop: CineLoop, rater: str = "") -> Path | None:
        """The autosave of a session that is gone holding work the sidecar does not."""
        try:
            return offered_recovery(session_sidecar_path(loop.path, rater))
        except SidecarError:
            return None

    @staticmethod
    def has_recovery(loop: CineLoop, rater: str = "") -> bool:
        """Whether an autosave holds work the sidecar does not (offer it to the user)."""
        return AnnotationSession.offered_recovery(loop, rater) is not None

    def title_note(self) -> str:
        """What the title bar adds: whose file (multi-rater) and the annotation folder
        when the archive is read-only (its top folder, the user's or project's choice)."""
        note = ""
        if self.rater == ADJUDICATED:
            note = " (adjudication)"
        elif self.multi_rater:
            note = f" ({self.rater})"
        try:
            root = default_layout().annotation_root(Path(os.path.abspath(self.loop.path)).parent)
        except SidecarError:  # the project file changed since: the next save says why
            root = None
        if root is not None:
            note += f" — annotations in {root}"
        return note

    @property
    def read_only(self) -> bool:
        """Not editable: a newer usannotate wrote the sidecar, or someone else has it."""
        return self.document.read_only or self.locked_by is not None

    @property
    def is_modified(self) -> bool:
        return self.history.is_modified

    @property
    def recovery_path(self) -> Path:
        """This session's own autosave file."""
        return recovery_path_for(self.path, self.owner.session)

    # ------------------------------------------------------------------ saving
    def _saved(self) -> None:
        self.history.mark_saved()
        discard_recovery(self.path, self.owner.session)
        if self.adopted_recovery is not None:
            with contextlib.suppress(OSError):
                discard_recovery(self.path, recovery_file=self.adopted_recovery)
            self.adopted_recovery = None

    def _sign(self) -> None:
        for prepare in self.before_save:
            prepare()
        if self.owner.annotator:
            self.document.extra.top[SAVED_BY_KEY] = self.owner.annotator
        if self.multi_rater and self.rater != ADJUDICATED:
            self.document.extra.top[RATER_KEY] = self.rater  # from Preferences, never the DICOM

    def save(self) -> Path:
        """Write the sidecar atomically.

        Raises
        ------
        SidecarConflictError
            Someone else saved the sidecar since it was read here: nothing was written;
            resolve with :meth:`reload`, :meth:`save_copy`, :meth:`overwrite` or
            :meth:`merge`.
        SidecarWriteError
            Not saved (full disk...); the work stays unsaved.
        """
        if not folder_writable(self.path.parent):
            # The settings may have changed since the loop was opened (an annotation
            # folder chosen after a refused save): the rule says where it goes now.
            target = session_sidecar_path(self.loop.path, self.rater)
            if target != self.path and folder_writable(target.parent):
                return self.save_as(target)
            raise SidecarWriteError(
                self.path,
                "not saved: the loop's folder is read-only (an archive); choose an "
                "annotation folder in Edit > Preferences (or in the project's "
                "usannotate.toml) and save again. The marks are kept",
            )
        self._sign()
        save_sidecar(self.document, self.path)
        self._saved()
        return self.path

    def save_as(self, path: Path, *, replace_existing: bool = False) -> Path:
        """Write the sidecar to ``path`` instead, and make it this session's file: later
        saves go there (and the edit lock moves with it). ``replace_existing``: the user
        confirmed replacing a file already there (else a valid one is a conflict)."""
        path = Path(path)
        if replace_existing and path.exists() and path.resolve() != self.path.resolve():
            rebase(self.document, read_version(path))
        self._sign()
        save_sidecar(self.document, path)
        old, old_session = self.path, self.owner.session
        self.path = path
        self._saved()
        discard_recovery(old, old_session)
        self._move_lock(old)
        return self.path

    def _move_lock(self, old: Path) -> None:
        if self.lock is None or self.path == old:
            return
        self.lock.release()
        try:
            self.lock, _ = EditLock.acquire(self.path, self.owner)
        except SidecarError:  # held, or cannot be written: the save itself is done
            self.lock = None

    # -------------------------------------------------------------- conflicts
    def reload(self) -> None:
        """Read the sidecar from disk again; the edit history starts anew (the caller
        asked the user first if there was unsaved work)."""
        uid = self.loop.identity.sop_instance_uid
        self.document = load_sidecar(self.path, dicom_uid=uid, dicom_name=Path(self.loop.path).name)
        check_loop(self.document, self.loop, path=self.path)
        self.history = EditHistory(self.document.annotations)
        self.history.mark_saved()
        discard_recovery(self.path, self.owner.session)
        self._autosaved_at = None

    def save_copy(self) -> Path:
        """Save this session's work to a new file beside the sidecar (which keeps the
        other version) and go on working there."""
        return self.save_as(copy_path_for(self.path))

    def overwrite(self, conflict: SidecarConflictError) -> Path:
        """Replace the version ``conflict`` found with this session's work (and nothing
        newer: a save after the conflict is another conflict)."""
        rebase(self.document, conflict.theirs_version)  # type: ignore[arg-type]
        return self.save()

    def merge(self, conflict: SidecarConflictError) -> MergeResult:
        """Merge the version ``conflict`` found into this session's work, as one undoable
        edit, then save over that version (raises like :meth:`save`)."""
        merged, result = merge_documents(conflict)
        self.history.push(ReplaceContent(merged.annotations))
        self.document.extra = merged.extra
        rebase(self.document, conflict.theirs_version)  # type: ignore[arg-type]
        self.save()
        return result

    # ----------------------------------------------------- autosave, the lock
    def autosave(self) -> bool:
        """Write the recovery file when there is unsaved work not yet autosaved."""
        if self.read_only or not self.history.is_modified:
            return False
        if self.history.revision == self._autosaved_at:
            return False
        write_recovery(self.document, self.path, owner=self.owner)
        self._autosaved_at = self.history.revision
        return True

    def heartbeat(self) -> bool:
        """Show other sessions this one still runs (lock and recovery file touched).

        False when this session lost its lock (someone took the loop over:
        ``lock.holder()`` says who); its work and autosave go on, and a save still never
        replaces theirs unasked.
        """
        with contextlib.suppress(OSError):
            if self.recovery_path.exists():
                os.utime(self.recovery_path)
        return self.lock is None or self.lock.refresh()

    def take_over(self, holder: LockOwner) -> LockOwner | None:
        """Take the edit lock from ``holder`` and reread the sidecar (a read-only session
        has nothing unsaved); returns the previous holder.

        Raises
        ------
        LockHeldError
            Someone else took it meanwhile.
        """
        self.lock, previous = EditLock.acquire(self.path, self.owner, take_over=holder)
        self.locked_by = None
        if self.path.exists():
            self.reload()
        return previous

    def discard_recovery(self) -> None:
        """Delete this session's recovery file (the user discarded the unsaved work)."""
        discard_recovery(self.path, self.owner.session)

    def close(self) -> None:
        """Release the edit lock (the recovery file stays unless discarded or saved)."""
        if self.lock is not None:
            with contextlib.suppress(OSError):
                self.lock.release()
            self.lock = None
        if not self._closed:
            self._closed = True
            release_session(self.owner.session)
