"""The ground-truth file of a synthetic loop: its format, where it goes, how it is written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["COORDINATE_SYSTEM", "TRUTH_FORMAT", "TRUTH_VERSION", "dumps_truth", "truth_path_for"]

#: The ``format`` key of every truth file, and its ``version``.
TRUTH_FORMAT = "usannotate-synthetic-truth"
TRUTH_VERSION = 1
#: The ``coordinate_system`` key: the convention of every point, in one sentence.
COORDINATE_SYSTEM = (
    "Points are [x, y] = (column, row) in image pixels, floats, with (0, 0) at the top-left "
    "corner of the top-left pixel, so a pixel's centre is at +0.5; frame indices are 0-based; "
    "region_bounds are inclusive pixel indices [x0, y0, x1, y1] as in DICOM "
    "SequenceOfUltrasoundRegions."
)


def truth_path_for(dicom_path: str | Path) -> Path:
    """Return the ground-truth path beside a DICOM file: ``<stem>.truth.json``."""
    dicom_path = Path(dicom_path)
    return dicom_path.with_name(f"{dicom_path.stem}.truth.json")


_NUMBER = r"-?[0-9][0-9.eE+-]*"
_NUMBER_LIST = re.compile(rf"\[\s*(?:{_NUMBER}\s*,\s*)*{_NUMBER}\s*\]")
_POINT = rf"\[{_NUMBER}, {_NUMBER}\]"
_POINT_LIST = re.compile(rf"\[\s*(?:{_POINT},\s*)*{_POINT}\s*\]")


def _join_items(match: re.Match[str]) -> str:
    """``[\\n 1,\\n 2\\n]`` -> ``[1, 2]``; items are numbers or number pairs (no commas)."""
    inner = match.group(0)[1:-1]
    items = re.findall(_POINT, inner) or [item.strip() for item in inner.split(",")]
    return "[" + ", ".join(items) + "]"


def dumps_truth(truth: dict[str, Any]) -> str:
    """Serialise a truth document: indented, each list of numbers or points on one line.

    Parameters:
        truth: the document (``HydrodissectionPhantom.truth``).

    Returns:
        JSON text ending in a newline; the same document always gives the same text.
    """
    text = json.dumps(truth, indent=1, ensure_ascii=True)
    text = _NUMBER_LIST.sub(_join_items, text)  # points first: [x, y]
    return _POINT_LIST.sub(_join_items, text) + "\n"
