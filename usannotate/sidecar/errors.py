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
