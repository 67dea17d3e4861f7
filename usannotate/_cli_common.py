"""What the subcommand modules share: exit statuses, failures, file names, progress (no Qt).

The one-line failure, file names only, and progress on stderr at most every 10 %.
Messages name files by their name only, never their folders (which may be named after
the patient).
"""

from __future__ import annotations

import os
import sys

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def fail(message: str) -> int:
    """Print ``usannotate: MESSAGE`` on stderr; the bad-input exit status."""
    print(f"usannotate: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def file_name(path: str | os.PathLike[str]) -> str:
    """A path's last part (a file's or a folder's name), never the folders above it."""
    text = os.fspath(path)
    return os.path.basename(os.path.normpath(text)) or text


class StepProgress:
    """``usannotate: COMMAND: 120/600 UNIT`` on stderr, at most every 10 %."""

    def __init__(self, command: str, unit: str) -> None:
        self._prefix = f"usannotate: {command}:"
        self._unit = unit
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        step = done * 10 // max(total, 1)
        if step != self._shown:
            self._shown = step
            print(f"{self._prefix} {done}/{total} {self._unit}", file=sys.stderr, flush=True)


__all__ = ["EXIT_BAD_INPUT", "EXIT_OK", "StepProgress", "fail", "file_name"]
