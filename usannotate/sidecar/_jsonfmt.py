"""Deterministic, diff-friendly JSON text of a sidecar.

Objects and lists are indented by two spaces, one key per line, in the order the dict
gives them; but short leaf lists (``[x, y]`` points, ``bounds``...) and each entry of a
``frames`` list are written on one line, so that a diff shows one line per changed frame
of one object instead of hundreds of lines of numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

# One encoder, built once: json.dumps with options builds a new one on every call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": ")).encode
_SCALARS = (str, int, float, bool, type(None))


class StreamedList:
    """A list written a batch of items at a time (a long track's interpolated frames):
    :func:`dump_chunks` asks it for the one-line JSON text of its items only while
    writing, so they are never all in memory at once."""

    def __bool__(self) -> bool:
        raise NotImplementedError

    def line_batches(self) -> Iterator[list[str]]:
        """The one-line JSON text of every item, in order, a batch at a time."""
        raise NotImplementedError


class _Streamed:
    """Where a :class:`StreamedList` goes in the output, and its indentation."""

    __slots__ = ("indent", "items")

    def __init__(self, items: StreamedList, indent: str) -> None:
        self.items = items
        self.indent = indent

    def chunks(self) -> Iterator[str]:
        inner = self.indent + "  "
        separator = ",\n" + inner
        start = "[\n" + inner
        for lines in self.items.line_batches():
            if lines:
                yield start + separator.join(lines)
                start = separator
        yield f"\n{self.indent}]"


def dumps(data: dict[str, Any]) -> str:
    """``data`` as the sidecar's canonical JSON text, ending with a newline.

    Raises
    ------
    ValueError
        A float is NaN or infinite.
    TypeError
        A value is not JSON (or a key is not a string).
    """
    return "".join(dump_chunks(data))


def dump_chunks(data: dict[str, Any]) -> Iterator[str]:
    """:func:`dumps`'s text in pieces; a :class:`StreamedList` is written as it comes.

    Everything but the streamed lists is laid out first (so a value that is not JSON
    raises before anything is given out); the pieces joined are :func:`dumps`'s text.
    """
    out: list[Any] = []
    _write(data, "", out)
    out.append("\n")
    pending: list[str] = []
    for piece in out:
        if type(piece) is _Streamed:
            yield "".join(pending)
            pending = []
            yield from piece.chunks()
        else:
            pending.append(piece)
    yield "".join(pending)


def _is_flat(items: list[Any]) -> bool:
    """Scalars only, or lists of scalars only (points, bounds...): one line."""
    return all(isinstance(item, _SCALARS) for item in items) or all(
        type(item) is list and all(isinstance(v, _SCALARS) for v in item) for item in items
    )


def _write(value: Any, indent: str, out: list[str]) -> None:
    if type(value) is dict and value:
        inner = indent + "  "
        out.append("{")
        separator = "\n"
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"JSON keys are strings, not {key!r}")
            out.append(f"{separator}{inner}{_ENCODE(key)}: ")
            if key == "points":
                out.append(item if type(item) is RawJSON else _ENCODE(item))
            elif key == "frames" and type(item) is list and item:
                _write_one_per_line(item, inner, out)
            elif key == "frames" and isinstance(item, StreamedList):
                out.append(_Streamed(item, inner) if item else "[]")
            else:
                _write(item, inner, out)
            separator = ",\n"
        out.append(f"\n{indent}}}")
    elif type(value) is list and value and not _is_flat(value):
        inner = indent + "  "
        out.append("[")
        separator = "\n"
        for item in value:
            out.append(separator + inner)
            _write(item, inner, out)
            separator = ",\n"
        out.append(f"\n{indent}]")
    else:
        out.append(_ENCODE(value))


def _write_one_per_line(items: list[Any], indent: str, out: list[str]) -> None:
    inner = indent + "  "
    out.append("[\n" + inner)
    out.append((",\n" + inner).join(map(_one_line, items)))
    out.append(f"\n{indent}]")


def one_line(item: Any) -> str:
    """One frame entry (a dict whose ``points`` may be :class:`RawJSON`) on one line."""
    return _one_line(item)


def _one_line(item: Any) -> str:
    if type(item) is dict and type(item.get("points")) is RawJSON:
        parts = [f"{_ENCODE(k)}: {v if k == 'points' else _ENCODE(v)}" for k, v in item.items()]
        return "{" + ", ".join(parts) + "}"
    return _ENCODE(item)


class RawJSON(str):
    """Text that is already JSON: :func:`dumps` writes it as it is."""

    __slots__ = ()


# Coordinates are written from integers of thousandths, digit by digit, in numpy: the
# same text as ``json.dumps`` of the rounded floats (see :func:`points_json`), several
# times faster than formatting 100,000 Python floats one by one.
_MAX_MILLI = 10**15  # beyond 10**12 px, Python's repr switches to exponents: not here


def _number_chars(milli: np.ndarray) -> np.ndarray:
    """``(M, W)`` uint8 characters of the numbers ``milli / 1000``; 0 marks a gap."""
    magnitude = np.abs(milli)
    whole, fraction = np.divmod(magnitude, 1000)
    n_digits = len(str(int(whole.max()))) if len(whole) else 1
    if magnitude.max(initial=0) < 2**31:  # 32-bit division is much faster
        whole = whole.astype(np.int32)
        fraction = fraction.astype(np.int32)
    chars = np.zeros((len(milli), 1 + n_digits + 4), dtype=np.uint8)
    chars[:, 0] = np.where(milli < 0, ord("-"), 0)
    rest = whole
    for column in range(n_digits, 0, -1):  # last digit first
        rest, digit = np.divmod(rest, 10)
        chars[:, column] = digit + ord("0")
    # No leading zeros, but at least one digit before the point.
    for column in range(1, n_digits):
        chars[:, column] = np.where(whole >= 10 ** (n_digits - column), chars[:, column], 0)
    chars[:, n_digits + 1] = ord(".")
    tenths, below = np.divmod(fraction, 100)
    hundredths, thousandths = np.divmod(below, 10)
    chars[:, n_digits + 2] = tenths + ord("0")  # at least one decimal: "1.0"
    chars[:, n_digits + 3] = np.where(below != 0, hundredths + ord("0"), 0)
    chars[:, n_digits + 4] = np.where(thousandths != 0, thousandths + ord("0"), 0)
    return chars


def points_json(arrays: list[np.ndarray], decimals: int = 3) -> list[str]:
    """Each ``(N, 2)`` array as the JSON text ``[[x, y], ...]`` of its rounded values.

    The text equals ``json.dumps(np.round(a, 3) + 0.0).tolist(), separators=(", ", ": "))``
    (Python's shortest float repr of the rounded value), made in bulk.

    Raises
    ------
    ValueError
        A value is not finite.
    """
    if not arrays:
        return []
    if decimals != 3:
        raise ValueError("points are written with 3 decimals")
    counts = np.array([len(a) for a in arrays])
    points = np.concatenate(arrays).astype(np.float64, copy=False)
    if not np.all(np.isfinite(points)):
        raise ValueError("points must be finite numbers")
    # np.round(x, 3) is rint(x * 1000) / 1000: its value is exactly milli / 1000.
    milli = np.rint(points * 1000.0)
    if np.any(np.abs(milli) >= _MAX_MILLI) or not len(points):
        return [_ENCODE((np.round(a, 3) + 0.0).tolist()) for a in arrays]
    milli = milli.astype(np.int64)
    number = _number_chars(milli.reshape(-1)).reshape(len(points), 2, -1)
    width = number.shape[2]
    # One row per point: "[" (entry start) "[" x ", " y "]" ", " (not last) "]" (entry end)
    row = np.zeros((len(points), 2 * width + 8), dtype=np.uint8)
    ends = np.cumsum(counts)
    starts = ends - counts
    first = np.zeros(len(points), dtype=bool)
    last = np.zeros(len(points), dtype=bool)
    first[starts[counts > 0]] = True
    last[ends[counts > 0] - 1] = True
    row[:, 0] = np.where(first, ord("["), 0)
    row[:, 1] = ord("[")
    row[:, 2 : 2 + width] = number[:, 0]
    row[:, 2 + width] = ord(",")
    row[:, 3 + width] = ord(" ")
    row[:, 4 + width : 4 + 2 * width] = number[:, 1]
    row[:, 4 + 2 * width] = ord("]")
    row[:, 5 + 2 * width] = np.where(last, 0, ord(","))
    row[:, 6 + 2 * width] = np.where(last, 0, ord(" "))
    row[:, 7 + 2 * width] = np.where(last, ord("]"), 0)
    kept = row != 0
    text = row[kept].tobytes().decode("ascii")
    row_lengths = kept.sum(axis=1)
    offsets = np.concatenate(([0], np.cumsum(row_lengths)))
    bounds = offsets[np.concatenate((starts, ends[-1:]))].tolist()
    out = []
    for k, count in enumerate(counts.tolist()):
        out.append(text[bounds[k] : offsets[ends[k]]] if count else "[]")
    return out
