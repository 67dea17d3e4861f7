"""Reading DICOM JSON (QIDO-RS) and C-FIND answers into the records of ``models``."""

from __future__ import annotations

import re

from pydicom.dataset import Dataset

_DATE_RANGE = re.compile(r"^(\d{8})?(-)?(\d{8})?$")


def check_date_range(text: str | None) -> str | None:
    """``YYYYMMDD``, ``YYYYMMDD-YYYYMMDD``, ``YYYYMMDD-`` or ``-YYYYMMDD``; ValueError else."""
    if text is None:
        return None
    match = _DATE_RANGE.match(text.strip())
    if not text.strip() or match is None or (match.group(2) is None and match.group(3)):
        raise ValueError(
            f"study date {text!r}: use YYYYMMDD or a range YYYYMMDD-YYYYMMDD (either end "
            "may be left out)"
        )
    return text.strip()


def json_value(item: dict, tag: str) -> object:
    """The first value of ``tag`` (8 hex digits) in a DICOM JSON object, or None."""
    element = item.get(tag)
    if not isinstance(element, dict):
        return None
    values = element.get("Value")
    if not values:
        return None
    return values[0]


def json_values(item: dict, tag: str) -> list:
    """Every value of ``tag`` in a DICOM JSON object."""
    element = item.get(tag)
    if not isinstance(element, dict):
        return []
    return list(element.get("Value") or [])


def json_int(item: dict, tag: str) -> int | None:
    """An IS / US value as int, or None."""
    value = json_value(item, tag)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def json_text(item: dict, tag: str) -> str:
    """A text value as str ('' when absent)."""
    value = json_value(item, tag)
    return "" if value is None else str(value)


def ds_int(ds: Dataset, keyword: str) -> int | None:
    """A C-FIND answer's IS / US value as int, or None."""
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def ds_text(ds: Dataset, keyword: str) -> str:
    """A C-FIND answer's text value ('' when absent)."""
    value = ds.get(keyword)
    return "" if value is None else str(value)


def ds_list(ds: Dataset, keyword: str) -> list[str]:
    """A multi-valued C-FIND value as a list of str."""
    value = ds.get(keyword)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
