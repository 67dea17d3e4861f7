"""Keyed replacements: new UIDs, the patient's pseudonym, the patient's date offset.

All come from HMAC-SHA256 with the user's key (stdlib ``hmac``), so they are the same
on every run with the same key and cannot be traced back without it. pydicom's
``generate_uid(entropy_srcs=...)`` hashes without a key, which anyone holding the
original UID could repeat, hence our own (tiny) derivation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

#: Shifted dates move back by 1 to this many days (never 0: no original date remains).
MAX_SHIFT_DAYS = 3650


def _digest(key: bytes, purpose: str, value: str) -> bytes:
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()


def keyed_uid(key: bytes, uid: str) -> str:
    """The new UID for ``uid``: ``2.25.`` and a 128-bit number (PS3.5 B.2), at most 64
    characters."""
    number = int.from_bytes(_digest(key, "uid", uid.strip())[:16], "big")
    return f"2.25.{number}"


def patient_pseudonym(key: bytes, patient_id: str) -> str:
    """The PatientID written for ``patient_id``: the same patient, the same pseudonym."""
    return "ANON-" + _digest(key, "patient", patient_id.strip()).hex()[:12].upper()


def date_offset_days(key: bytes, patient_id: str) -> int:
    """Days added to every date of this patient (negative, never 0)."""
    number = int.from_bytes(_digest(key, "dates", patient_id.strip())[:8], "big")
    return -(1 + number % MAX_SHIFT_DAYS)


def shift_date(value: str, days: int) -> str | None:
    """A DA value ``YYYYMMDD`` moved by ``days``; None when it is not a valid date."""
    text = value.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return (day + dt.timedelta(days=days)).strftime("%Y%m%d")
    except (ValueError, OverflowError):
        return None


def shift_datetime(value: str, days: int) -> str | None:
    """A DT value whose date part (its first 8 characters) moved by ``days``; the time
    and the UTC offset kept; None when it does not start with a valid date."""
    text = value.strip()
    date = shift_date(text[:8], days)
    if date is None:
        return None
    rest = text[8:]
    if rest and not all(c.isdigit() or c in ".+-" for c in rest):
        return None
    return date + rest
