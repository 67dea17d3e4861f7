"""What a sidecar may hold and what reading one may cost, checked the same way both ways.

Issue 10 found files that ``validate`` accepted and that no save could write back
(``1e400`` read as infinity, a lone UTF-16 surrogate, a frame time that rounds to 0),
values nested so deep that writing them overflowed the stack, and files whose parsing
needed ten times their size in memory. The rules here are applied when a file is read
(:func:`value_problems` before the schema, :func:`read_cost_problem` before parsing) and
when one is written (the same :func:`value_problems` before anything is written, and the
read cost of the bytes written before they replace the old file), so that what the reader
accepts the writer writes, and what the writer writes the reader reads.

The schema carries the bounds a JSON Schema can say (``n_frames`` at most
:data:`MAX_FRAMES`, image sides at most :data:`MAX_IMAGE_SIDE_PX`, a frame time of at
least a nanosecond...); this module the rest.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import numpy as np

from usannotate.sidecar.errors import SidecarError, SidecarWriteError
from usannotate.sidecar.schema import json_path

#: Frames a sidecar may describe: more than any ultrasound cine (an hour at 25 fps is
#: 90,000 frames); also in the schema (``dicom.n_frames`` ``maximum``).
MAX_FRAMES = 100_000
#: Image sides in px (DICOM Rows and Columns are 16-bit); also in the schema.
MAX_IMAGE_SIDE_PX = 65_535
#: Lists and objects nest at most this deep, counted from the top of the file (the
#: format itself needs 7: top, objects, an object, frames, an entry, points, a point).
MAX_NESTING = 32
#: Larger files are refused unread.
MAX_SIDECAR_BYTES = 256 * 1024 * 1024
#: Memory one sidecar may take to read (parse, check, build), estimated from its bytes
#: before parsing by :func:`read_cost_bytes`. A 600-frame loop with ten objects on every
#: frame (2.8 MB) needs about 40 MB; ordinary sidecars up to about 70 MB fit.
READ_BUDGET_BYTES = 1024 * 1024 * 1024
#: At most this many problems are listed.
MAX_PROBLEMS = 50

# Memory a parsed file takes per structural character, in bytes (CPython 3.11, 64-bit):
# upper bounds fitted to tracemalloc measurements of json.loads over pathological files
# (lists of empty lists, of empty dicts, of one-key dicts, of strings, of floats, one
# dict of 200,000 keys, 900 nested lists) and of load_sidecar over real sidecars, where
# a point also costs its numpy copies and the schema's quick check: a list (with its
# over-allocation and garbage-collector header), a dict, a value slot with its number,
# a dict entry, a string (per quote: two per string). Plus the text per byte: once as
# bytes, and twice at the width Python stores its characters in (decoded text, and the
# strings' contents): 1 byte for ASCII and Latin-1, 2 below U+10000, else 4.
_COST_PER_CHAR = {ord("["): 128, ord("{"): 64, ord(","): 32, ord(":"): 80, ord('"'): 16}
_COUNT_BLOCK = 16 * 1024 * 1024

_FRAME_ENTRY_KEYS = frozenset(("frame", "source", "points"))

P = ParamSpec("P")
R = TypeVar("R")


# ------------------------------------------------------------------ read cost
class ReadCost:
    """The structural characters of a sidecar's bytes, counted chunk by chunk (the
    writer counts what it writes, the reader what it read)."""

    def __init__(self) -> None:
        self.n_bytes = 0
        self.char_width = 1  # bytes per character of the decoded text
        self._counts = dict.fromkeys(_COST_PER_CHAR, 0)

    def add(self, chunk: bytes) -> None:
        self.n_bytes += len(chunk)
        ascii_only = chunk.isascii()
        for start in range(0, len(chunk), _COUNT_BLOCK):  # bounded temporary arrays
            block = np.frombuffer(chunk, np.uint8, min(_COUNT_BLOCK, len(chunk) - start), start)
            for char in self._counts:
                self._counts[char] += int(np.count_nonzero(block == char))
            if not ascii_only and self.char_width < 4:
                top = int(block.max(initial=0))  # the UTF-8 lead bytes say how wide
                width = 4 if top >= 0xF0 else 2 if top >= 0xC4 else 1
                self.char_width = max(self.char_width, width)

    @property
    def bytes_needed(self) -> int:
        """Memory (bytes) reading these bytes may take, an upper estimate."""
        return self.n_bytes * (1 + 2 * self.char_width) + sum(
            count * _COST_PER_CHAR[char] for char, count in self._counts.items()
        )

    def problem(self) -> str | None:
        """Why these bytes may not be read (too large, or too costly), or None."""
        if self.n_bytes > MAX_SIDECAR_BYTES:
            return (
                f"is {self.n_bytes / 2**20:.0f} MB, too large to be a sidecar (at most "
                f"{MAX_SIDECAR_BYTES / 2**20:.0f} MB)"
            )
        need = self.bytes_needed
        if need > READ_BUDGET_BYTES:
            return (
                f"is too large to read: reading it would need about {need / 2**20:.0f} MB of "
                f"memory, more than the {READ_BUDGET_BYTES / 2**20:.0f} MB one sidecar may "
                "take (a 600-frame loop with ten marks on every frame needs about 40 MB)"
            )
        return None


def read_cost_bytes(raw: bytes) -> int:
    """Memory (bytes) reading the sidecar text ``raw`` may take (upper estimate)."""
    cost = ReadCost()
    cost.add(raw)
    return cost.bytes_needed


def read_cost_problem(raw: bytes) -> str | None:
    """Why the file holding ``raw`` is not read (see :meth:`ReadCost.problem`), or None."""
    cost = ReadCost()
    cost.add(raw)
    return cost.problem()


# --------------------------------------------------------------- value rules
def value_problems(data: object) -> list[str]:
    """Values no sidecar may hold, as ``"<json path>: <what>"`` lines (at most
    :data:`MAX_PROBLEMS`): numbers that are not finite (``1e400`` parses as infinity),
    text that is not Unicode (a lone surrogate such as ``"\\ud800"``), keys that are
    not text, values that are not JSON, and lists or objects nested more than
    :data:`MAX_NESTING` deep.

    The points of frame entries, and frame entries holding only the known keys, are
    left to the schema and the consistency rules, which check them (quicker, in bulk).
    The walk holds one iterator per level, so it costs no memory in proportion to the
    file (an iterative walk: a recursive one would overflow on the nesting it refuses).
    """
    problems: list[str] = []
    end = object()
    stack: list[tuple[Iterator[tuple[int | str, Any]], tuple[int | str, ...]]] = [
        (iter([("", data)]), ())
    ]
    while stack and len(problems) < MAX_PROBLEMS:
        children, parts = stack[-1]
        found = next(children, end)
        if found is end:
            stack.pop()
            continue
        key, value = found  # type: ignore[misc]
        path = (*parts, key) if len(stack) > 1 else ()
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                problems.append(f"{_path(path)}: {_not_finite(value)}")
        elif kind is str:
            if not value.isascii() and not _is_unicode(value):
                problems.append(f"{_path(path)}: {_not_unicode(value)}")
        elif kind is dict or kind is list or kind is tuple:
            if len(stack) > MAX_NESTING:
                problems.append(
                    f"{_path(path)}: lists and objects nested more than {MAX_NESTING} "
                    f"levels deep (a sidecar nests at most {MAX_NESTING}, counted from the "
                    "top of the file)"
                )
            elif kind is dict:
                stack.append((_dict_children(value, path, problems), path))
            elif _is_frames(path):
                if not _all_plain_entries(value):  # the usual case: nothing to walk
                    entries = ((j, e) for j, e in enumerate(value) if not _plain_entry(e))
                    stack.append((entries, path))
            elif not _finite_numbers(value):  # else: bounds, a line's points... all fine
                stack.append((enumerate(value), path))
        elif not (value is None or kind is bool or kind is int or isinstance(value, str)):
            # (a str subclass is ready-made JSON text: RawJSON)
            problems.append(f"{_path(path)}: {kind.__name__} is not a JSON value")
    return problems


def _dict_children(
    value: dict[Any, Any], parts: tuple[int | str, ...], problems: list[str]
) -> Iterator[tuple[int | str, Any]]:
    entry = _is_frame_entry(parts)
    for key, item in value.items():
        if type(key) is not str:
            problems.append(f"{_path(parts)}: the key {key!r} is not text (JSON keys are)")
        elif not key.isascii() and not _is_unicode(key):
            problems.append(f"{_path((*parts, key))}: the key {_not_unicode(key)}")
        elif not (entry and key == "points"):  # points: the schema's and consistency's
            yield key, item


def _finite_numbers(items: list[Any] | tuple[Any, ...]) -> bool:
    """Whether ``items`` are all numbers, and finite (a quick path for flat lists)."""
    types = set(map(type, items))
    if not types <= {int, float}:
        return False
    return float not in types or all(map(math.isfinite, items))


def _is_frames(parts: tuple[int | str, ...]) -> bool:
    return len(parts) == 3 and parts[0] == "objects" and parts[2] == "frames"


def _is_frame_entry(parts: tuple[int | str, ...]) -> bool:
    return len(parts) == 4 and parts[0] == "objects" and parts[2] == "frames"


def _all_plain_entries(entries: list[Any] | tuple[Any, ...]) -> bool:
    """Whether every frame entry holds only the known keys (checked in C, in bulk)."""
    return set(map(type, entries)) <= {dict} and all(map(_FRAME_ENTRY_KEYS.issuperset, entries))


def _plain_entry(entry: object) -> bool:
    """A frame entry with only the known keys: their values are the schema's business."""
    return type(entry) is dict and _FRAME_ENTRY_KEYS.issuperset(entry)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_unicode(text: str) -> str:
    shown = json.dumps(text)  # ASCII, with the surrogate as the file spells it: \ud800
    shown = shown if len(shown) <= 60 else shown[:56] + '..."'
    return (
        f"{shown} holds an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape without "
        "its pair): not Unicode text, so it cannot be written as UTF-8"
    )


def _not_finite(value: float) -> str:
    if math.isnan(value):
        return "not a number (NaN): JSON numbers are finite"
    sign = "-" if value < 0 else ""
    return (
        f"{sign}infinity: a number too large for a 64-bit float (such as 1e400) reads as "
        "infinity, which JSON cannot hold; numbers must be finite"
    )


def _path(parts: tuple[int | str, ...]) -> str:
    """:func:`json_path`, with keys that are not Unicode spelled as in the file."""
    bad = next((i for i, p in enumerate(parts) if isinstance(p, str) and not _is_unicode(p)), None)
    if bad is None:
        return json_path(parts)
    head = json_path(parts[:bad]) if bad else ""
    tail = json_path(parts[bad + 1 :]) if bad + 1 < len(parts) else ""
    if tail and not tail.startswith("["):
        tail = "." + tail
    return f"{head}[{json.dumps(parts[bad])}]{tail}"


# ---------------------------------------------------------- write failures
def write_errors_only(
    target: Callable[..., os.PathLike[str] | str],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make every failure of a save a :class:`SidecarWriteError` naming the file that
    ``target(*args, **kwargs)`` gives (the sidecar, or its recovery file).

    The window catches :class:`~usannotate.sidecar.SidecarError` only: a ``MemoryError``
    or ``RecursionError`` escaping a save would end the session with the work unsaved.
    Whatever failed, the file on disk is the previous one (atomic replacement) and the
    document is unchanged, so the work can be saved again once the cause is fixed.
    """

    def decorate(save: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(save)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return save(*args, **kwargs)
            except SidecarError:
                raise
            except MemoryError:
                problem = "there was not enough memory to write it"
            except RecursionError:
                problem = "its values are nested too deeply to write"
            except Exception as exc:  # the point: nothing else escapes
                problem = f"it could not be written ({type(exc).__name__})"
            raise SidecarWriteError(
                target(*args, **kwargs), f"not saved: {problem}; the previous file was kept"
            ) from None

        return guarded

    return decorate


__all__ = [
    "MAX_FRAMES",
    "MAX_IMAGE_SIDE_PX",
    "MAX_NESTING",
    "MAX_SIDECAR_BYTES",
    "READ_BUDGET_BYTES",
    "ReadCost",
    "read_cost_bytes",
    "read_cost_problem",
    "value_problems",
    "write_errors_only",
]
