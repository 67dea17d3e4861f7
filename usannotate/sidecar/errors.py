"""Typed errors of sidecar reading and writing, worded for the person who owns the file."""

from __future__ import annotations

import os
from collections.abc import Sequence


class SidecarError(Exception):
    """A sidecar could not be read, does not belong to its DICOM, or could not be saved.

    The message always starts with the sidecar's file name (never its folder, which may
    carry patient details). ``problems`` lists every problem found, each on one line as
    ``"<where>: <what>"`` (``where`` is a JSON path such as ``objects[2].frames[0]``).
    """

    def __init__(self, path: str | os.PathLike[str] | None, problems: str | Sequence[str]) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if not self.problems:
            self.problems = ["unknown problem"]
        self.name = os.path.basename(self.path) if self.path else "<sidecar>"
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{self.name}: {self.problems[0]}{suffix}")


class SidecarReadError(SidecarError):
    """The sidecar is unreadable: not JSON, cut short, not shaped as the schema says, or
    inconsistent (an unknown label, a wrong number of points, a frame out of range...).

    The file is left exactly as it is.
    """


class SidecarMismatchError(SidecarError):
    """The sidecar belongs to another DICOM file (its SOP Instance UID, or its image size
    or frame count, differs from the loop's)."""


class SidecarWriteError(SidecarError):
    """The sidecar could not be saved (full disk, read-only folder, no permission, an
    existing file that is damaged or newer...). The previous file on disk is intact."""


class SidecarConflictError(SidecarWriteError):
    """The sidecar changed on disk since this document was read (another window or rater
    saved it): it was not replaced, and nothing was written.

    Attributes
    ----------
    mine
        The document that was to be saved (unchanged).
    theirs
        The document now on disk, as read during the save.
    base
        The annotations ``mine`` started from (what it was read as, or last saved), for
        a three-way merge; None when unknown (``mine`` never read this file).
    theirs_version
        The identity (content hash) of the file on disk: a save that resolved the
        conflict replaces that version only, never a newer one.
    saved_by, saved_at
        Who saved the file on disk last, and when (its ``modified``), for the message.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mine: object,
        theirs: object,
        base: object,
        theirs_version: object,
        saved_by: str,
        saved_at: object,
    ) -> None:
        self.mine = mine
        self.theirs = theirs
        self.base = base
        self.theirs_version = theirs_version
        self.saved_by = saved_by
        self.saved_at = saved_at
        who = saved_by or "someone"
        super().__init__(
            path,
            f"not saved: it was changed by {who} since it was opened here; the file was "
            "left as they saved it (reload it, save a copy, overwrite it or merge)",
        )
