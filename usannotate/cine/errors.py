"""Typed errors of the cine engine, worded for the person who chose the file."""

from __future__ import annotations

import os

from usannotate.cine._header_values import one_line


class CineError(Exception):
    """A loop could not be opened or a frame could not be read.

    The message always starts with the file's name (never its folder, which may carry
    patient details) and says what is wrong in words a sonographer understands, on one
    line of at most a few hundred characters; it quotes header values only when they
    were checked to be UIDs or codes (see ``usannotate.cine._header_values``).
    """

    def __init__(self, path: str | os.PathLike[str] | None, problem: str) -> None:
        self.path = os.fspath(path) if path is not None else None
        problem = one_line(problem)
        self.problem = problem
        name = os.path.basename(self.path) if self.path else "<stream>"
        super().__init__(f"{name}: {problem}")


class NotDicomError(CineError):
    """The file is not a DICOM file at all (or is empty)."""


class CorruptDicomError(CineError):
    """The file is DICOM but damaged: truncated, or its lengths disagree with its bytes."""


class UnsupportedDicomError(CineError):
    """The file is valid DICOM but uses an encoding or layout we cannot display."""


class NoPixelDataError(CineError):
    """The DICOM file holds no image (a report, a structured document...)."""
