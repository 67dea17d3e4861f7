"""The loops of a folder, in the order a person reads them (no Qt).

One listing for everything that walks a folder: the viewer opens the first loop of
:func:`list_loop_files` and the Loops list shows the same files in the same order.
"""

from __future__ import annotations

import os
import re

#: File name endings of DICOM loops (compared case-insensitively); files without any
#: ending are tried too, since many archives export ``IM_0001``-style names.
DICOM_SUFFIXES = (".dcm", ".dicom")
# A DICOMDIR has no ending but is an index of other files, never a loop.
_NOT_LOOPS = {"DICOMDIR"}


def natural_key(name: str) -> list[object]:
    """Sort ``loop_2`` before ``loop_10``, ignoring case, as file managers do."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)]


def is_loop_file_name(name: str) -> bool:
    """Whether a file name looks like a DICOM loop worth opening.

    Names ending in ``.dcm`` / ``.dicom`` (any case) or with no ending at all; hidden
    files, ``DICOMDIR`` and anything else (JSON sidecars, truth files, notes) are not.
    """
    if name.startswith(".") or name.upper() in _NOT_LOOPS:
        return False
    suffix = os.path.splitext(name)[1].lower()
    return suffix == "" or suffix in DICOM_SUFFIXES


def list_loop_files(folder: str | os.PathLike[str]) -> list[str]:
    """Paths of the files directly in ``folder`` that may be loops, in natural name order
    (see :func:`natural_key`); whether each opens is for the caller to find out.

    Raises
    ------
    OSError
        The folder cannot be listed.
    """
    folder = os.fspath(folder)
    with os.scandir(folder) as entries:
        names = [e.name for e in entries if is_loop_file_name(e.name) and e.is_file()]
    return [os.path.join(folder, name) for name in sorted(names, key=natural_key)]
