"""The DICOM PS3.15 Annex E Basic Profile table (Table E.1-1), read from dicom-anonymizer.

We do not type the table by hand: dicom-anonymizer (KitwareMedical, BSD) ships it scraped
from the standard, one module per edition. We follow **PS3.15 2026c** (its
``dicomfields_2026c`` module); :data:`EDITION` names it in the output's
DeidentificationMethod. Each attribute's Basic Profile action code is one of ``D``
(replace with a dummy), ``Z`` (empty or dummy), ``X`` (remove), ``U`` (replace the UID),
or a choice such as ``X/Z/D`` (the least severe allowed for the IOD).
"""

from __future__ import annotations

import functools
import importlib

#: The edition of PS3.15 whose Table E.1-1 this package follows.
EDITION = "2026c"
_TABLE_MODULE = "dicomanonymizer.dicom_anonymization_databases.dicomfields_2026c"

#: dicom-anonymizer's list names -> the Basic Profile action code they stand for.
_CODES = {
    "D_TAGS": "D",
    "Z_TAGS": "Z",
    "X_TAGS": "X",
    "U_TAGS": "U",
    "Z_D_TAGS": "Z/D",
    "X_Z_TAGS": "X/Z",
    "X_D_TAGS": "X/D",
    "X_Z_D_TAGS": "X/Z/D",
    "X_Z_U_STAR_TAGS": "X/Z/U*",
}


@functools.cache
def basic_profile_actions() -> dict[int, str]:
    """Every tag of Table E.1-1 (``0xGGGGEEEE``) -> its Basic Profile action code.

    Ranges (curves, overlays: ``(0x5000, 0x0000, 0xFF00, 0x0000)``) are left out here:
    their groups are handled by :func:`in_removed_group`.
    """
    table = importlib.import_module(_TABLE_MODULE)
    actions: dict[int, str] = {}
    for name, code in _CODES.items():
        for entry in getattr(table, name):
            if len(entry) == 2:
                actions[(entry[0] << 16) | entry[1]] = code
    return actions


def in_removed_group(tag: int) -> bool:
    """Whether ``tag`` is in a repeating group the profile removes (curves 50xx, overlay
    data and comments 60xx)."""
    group = tag >> 16
    return (group & 0xFF00) in (0x5000, 0x6000)


def action_for(tag: int) -> str | None:
    """The Basic Profile action code of ``tag``, or None when the table does not list it."""
    if in_removed_group(tag):
        return "X"
    return basic_profile_actions().get(tag)
