"""Header values checked before they are shown or quoted: UIDs, codes and short texts.

A damaged length field makes pydicom read an element's value together with the bytes of
the elements after it (a Transfer Syntax UID of 552 bytes holds the whole header that
follows, the patient's name and ID among them). Such a value is never quoted: a message
quotes a UID only if it is a UID (digits and dots, at most 64 characters), a code only if
it is a code (upper-case letters, digits, spaces and ``_``, at most 16), and a text shown
as a scanner detail only if it is printable and no longer than its VR allows. The
swallowed bytes of a following element always include its tag (binary, with zero bytes),
so a swallowing value never passes these checks.
"""

from __future__ import annotations

import re

#: PS3.5 9.1: a UID is components of digits separated by dots, 64 characters at most.
UID_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)*")
MAX_UID_CHARS = 64
#: PS3.5 6.2, VR CS: upper-case letters, digits, space and underscore, 16 at most.
CODE_PATTERN = re.compile(r"[A-Z0-9_ ]+")
MAX_CODE_CHARS = 16
#: Longest text kept for a scanner detail (VR LO: 64 characters per value).
MAX_TEXT_CHARS = 64
#: Longest decoder complaint kept in a message.
MAX_REASON_CHARS = 120
# A decoder's words: letters, digits and plain punctuation; anything else (quotes, bytes
# written as escapes, '^' of person names) ends the complaint there.
_REASON_PATTERN = re.compile(r"[A-Za-z0-9 ,.:;()%=+/_-]*")


def checked_uid(value: object) -> str | None:
    """``value`` as a UID when it is one (padding removed), else None."""
    if value is None:
        return None
    text = str(value).strip("\0 ")
    if len(text) > MAX_UID_CHARS or UID_PATTERN.fullmatch(text) is None:
        return None
    return text


def checked_code(value: object, *, max_chars: int = MAX_CODE_CHARS) -> str | None:
    """``value`` as a DICOM code string (e.g. ``"MONOCHROME2"``) when it is one, else None."""
    if value is None:
        return None
    text = str(value).strip("\0 ")
    if not text or len(text) > max_chars or CODE_PATTERN.fullmatch(text) is None:
        return None
    return text


def checked_text(value: object, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """``value`` when it is a short printable text, else ``""`` (damaged: not shown)."""
    text = str(value).strip("\0 ")
    if len(text) > max_chars or not text.isprintable():
        return ""
    return text


def decoder_reason(exc: BaseException) -> str:
    """A decoder's complaint, safe to quote: one line, plain words only, bounded.

    Decoders see only pixel data and the image attributes, but their messages may quote
    a codestream's bytes or an option's value; the complaint is cut where anything but
    plain words begins, and the exception's type names it when nothing is left.
    """
    text = " ".join(str(exc).split())
    words = _REASON_PATTERN.match(text)
    kept = words.group(0) if words else ""
    if len(kept) < len(text) and not kept.endswith(" "):
        kept = kept.rpartition(" ")[0]  # the word the cut went through goes too
    kept = kept[:MAX_REASON_CHARS].rpartition(" ")[0] if len(kept) > MAX_REASON_CHARS else kept
    kept = kept.strip(" ,:;(")
    return kept or type(exc).__name__


def one_line(text: str, *, max_chars: int = 300) -> str:
    """``text`` on one line of printable characters, at most ``max_chars`` long."""
    flat = "".join(c if c.isprintable() else " " for c in " ".join(text.split()))
    return flat if len(flat) <= max_chars else flat[: max_chars - 3] + "..."
