"""The sidecar's JSON Schema (resources/sidecar.schema.json): load it, validate, explain.

Validation runs the schema with :mod:`jsonschema` (draft 2020-12). A loop of 600 frames
with ten objects holds some 6,000 frame entries and 120,000 points, which jsonschema
walks in seconds; so the validator used on load and save hands each object's ``frames``
array to a small keyword that first checks, in plain Python, a condition that implies
the schema's (every entry a JSON object with a non-negative integer ``frame`` and a
non-empty ``points`` list of ``[number, number]`` pairs). Only when that quick check
fails does jsonschema validate the array against the schema's own definition, so the
verdict and the messages are always jsonschema's. ``exhaustive=True`` skips the shortcut.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import chain
from operator import itemgetter, methodcaller
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

# jsonschema is imported where a sidecar is first validated, not with this module: it
# costs ~100 ms, which the window's start-up (first frame on screen) need not pay.

#: The schema file: package data of ``usannotate.resources`` (the repository's top-level
#: resources/ folder, installed inside the package).
SCHEMA_PATH: Traversable = files("usannotate.resources") / "sidecar.schema.json"
#: At most this many problems are reported for one file.
MAX_PROBLEMS = 50

_FAST_KEYWORD = "x-usannotate-frames"
_FRAME = itemgetter("frame")
_POINTS = itemgetter("points")
# A frame entry may leave out "source", but an explicit null is not a source: the
# missing key is told apart by a marker of its own.
_NO_SOURCE = object()
_SOURCE = methodcaller("get", "source", _NO_SOURCE)
_SOURCES = {_NO_SOURCE, "keyframe", "tracked", "interpolated", "absent", "suggested"}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_POINTS_HINT = (
    "points are [[x, y], ...] = (column, row) in image pixels, (0, 0) the top-left corner "
    "of the top-left pixel"
)
_HINTS = {
    "frame": "frame indices are 0-based whole numbers",
    "points": _POINTS_HINT,
    "line": "the calibration line is [[x, y], [x, y]] in image pixels",
    "kind": "a kind is one of polyline, needle, region, point",
    "colour": "a colour is '#rrggbb'",
    "created": "timestamps are ISO-8601 UTC, e.g. '2025-01-31T14:05:09.250Z'",
    "modified": "timestamps are ISO-8601 UTC, e.g. '2025-01-31T14:05:09.250Z'",
    "version": "this usannotate reads sidecar format versions 1, 2 and 3",
    "status": "the status is in_progress, done or reviewed",
    "source": "a frame's source is keyframe, tracked, interpolated, absent or suggested",
    "format": 'a usannotate sidecar says "format": "usannotate-sidecar"',
    "manual": "the manual calibration is an object when source is 'manual', else null",
    "bounds": "region bounds are [x0, y0, x1, y1], inclusive pixel indices",
    "n_frames": "a sidecar describes a loop of 1 to 100,000 frames",
    "rows": "image sides are 1 to 65535 px (DICOM Rows and Columns are 16-bit)",
    "columns": "image sides are 1 to 65535 px (DICOM Rows and Columns are 16-bit)",
    "frame_time_ms": "the frame time is written with 6 decimals: at least 0.000001 ms",
    "mm_per_px": "mm per px is written with 9 decimals: at least 0.000000001",
    "length_mm": "the length is written with 6 decimals: at least 0.000001 mm",
}
_TYPE_NAMES = {
    "object": "a JSON object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "null": "null",
    "boolean": "true or false",
}


@functools.cache
def load_schema() -> dict[str, Any]:
    """The sidecar JSON Schema, version 3 (a dict; do not modify it)."""
    try:
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # an installation problem, not the user's file
        raise RuntimeError(
            "the sidecar schema sidecar.schema.json of the package data usannotate.resources "
            f"cannot be read (an incomplete installation? reinstall usannotate): {exc}"
        ) from exc
    # Not checked against the metaschema here: that took ~25 ms of every process that
    # opens a sidecar (start-up, each CLI call, each export), for a file that ships
    # with the package and is checked by tests/sidecar/test_format_doc.py.
    return schema


def _frames_look_valid(frames: object) -> bool:
    """A sufficient (not necessary) condition for ``frames`` to satisfy the schema.

    Every entry a JSON object with a non-negative integer ``frame`` and a known
    ``source`` (or none); gap entries (``source`` ``absent``) without ``points``, every
    other entry with a non-empty ``points`` list of ``[number, number]`` pairs. Checked
    with C-level iteration (``map``, ``set``) because a long loop has over 100,000 points.
    """
    if type(frames) is not list:
        return False
    if not frames:
        return True
    if set(map(type, frames)) != {dict}:
        return False
    sources = list(map(_SOURCE, frames))
    try:
        if not set(sources) <= _SOURCES:
            return False
    except TypeError:  # a list or object as a source: jsonschema says what is wrong
        return False
    if "absent" in sources:
        gaps = [e for e, source in zip(frames, sources, strict=True) if source == "absent"]
        if any("points" in e for e in gaps):
            return False
        frames = [e for e, source in zip(frames, sources, strict=True) if source != "absent"]
        if not frames:
            return _frames_are_indices(gaps)
        if not _frames_are_indices(gaps):
            return False
    try:
        point_lists = list(map(_POINTS, frames))
    except KeyError:
        return False
    if not _frames_are_indices(frames):
        return False
    if set(map(type, point_lists)) != {list} or min(map(len, point_lists)) < 1:
        return False
    points = list(chain.from_iterable(point_lists))
    if set(map(type, points)) != {list} or set(map(len, points)) != {2}:
        return False
    return set(map(type, chain.from_iterable(points))) <= {int, float}


def _frames_are_indices(entries: list[dict[str, Any]]) -> bool:
    """Every entry has a ``frame`` that is a whole number >= 0."""
    try:
        frame_values = list(map(_FRAME, entries))
    except KeyError:
        return False
    # type() is exact: bool, a subclass of int, is not a JSON number.
    return set(map(type, frame_values)) == {int} and min(frame_values) >= 0


def _frames_keyword(
    validator: Any, _value: object, instance: object, _schema: object
) -> Iterator[ValidationError]:
    if _frames_look_valid(instance):
        return
    frames_schema = load_schema()["$defs"]["object"]["properties"]["frames"]
    yield from validator.descend(instance, frames_schema)


@functools.cache
def _validator(*, fast: bool, allow_newer: bool) -> Any:
    import jsonschema
    from jsonschema import Draft202012Validator

    schema = load_schema()
    if not fast and not allow_newer:
        return Draft202012Validator(schema)
    schema = copy.deepcopy(schema)
    if allow_newer:  # read what a newer version shares with this one
        schema["properties"]["version"] = {"type": "integer", "minimum": 1}
    if fast:
        schema["$defs"]["object"]["properties"]["frames"] = {_FAST_KEYWORD: True}
        fast_validator = jsonschema.validators.extend(
            Draft202012Validator, {_FAST_KEYWORD: _frames_keyword}
        )
        return fast_validator(schema)
    return Draft202012Validator(schema)


def schema_problems(
    data: object, *, allow_newer: bool = False, exhaustive: bool = False
) -> list[str]:
    """Every way ``data`` breaks the sidecar schema, as ``"<json path>: <problem>"`` lines.

    Parameters
    ----------
    data
        A parsed sidecar (the result of ``json.loads``).
    allow_newer
        Accept any ``version`` >= 1 (for reading a newer file read-only).
    exhaustive
        Validate every frame entry with jsonschema itself (slow on long loops); by
        default a quick check that implies the schema stands in for it on valid data.

    Returns
    -------
    list[str]
        Empty when ``data`` is valid; at most :data:`MAX_PROBLEMS` lines otherwise.
    """
    validator = _validator(fast=not exhaustive, allow_newer=allow_newer)
    errors = sorted(validator.iter_errors(data), key=_error_order)
    problems: list[str] = []
    for error in errors[:MAX_PROBLEMS]:
        line = describe_error(error)
        if line not in problems:
            problems.append(line)
    return problems


def _error_order(error: ValidationError) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in error.absolute_path)


def json_path(parts: Sequence[int | str]) -> str:
    """``["objects", 2, "frames", 0]`` -> ``"objects[2].frames[0]"`` (``"(top level)"``)."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text or "(top level)"


def quote(value: object, limit: int = 60) -> str:
    """``value`` as JSON, cut to ``limit`` characters (for messages)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hint(path: Sequence[int | str]) -> str:
    for part in reversed(path):
        if isinstance(part, str) and part in _HINTS:
            return _HINTS[part]
    return ""


def describe_error(error: ValidationError) -> str:
    """One ``"<json path>: <problem>"`` line for a jsonschema error, quoting the value."""
    path = list(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    if kind == "required":
        missing = [k for k in value if isinstance(instance, dict) and k not in instance]
        names = ", ".join(repr(k) for k in missing) or repr(value)
        plural = len(missing) > 1
        what = f"the key{'s' if plural else ''} {names} {'are' if plural else 'is'} missing"
        hint = _hint(path + missing[:1])
    else:
        hint = _hint(path)
        if kind == "type":
            types = [value] if isinstance(value, str) else list(value)
            expected = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
            what = f"expected {expected}, got {quote(instance)}"
        elif kind == "const":
            what = f"must be {quote(value)}, got {quote(instance)}"
        elif kind == "enum":
            what = f"must be one of {', '.join(quote(v) for v in value)}; got {quote(instance)}"
        elif kind == "pattern":
            what = f"{quote(instance)} is not in the expected form"
        elif kind == "minimum":
            what = f"must be {value} or more, got {quote(instance)}"
        elif kind == "maximum":
            what = f"must be {value} or less, got {quote(instance)}"
        elif kind == "exclusiveMinimum":
            what = f"must be more than {value}, got {quote(instance)}"
        elif kind in ("minItems", "maxItems"):
            count = len(instance) if isinstance(instance, list) else "?"
            bound = "at least" if kind == "minItems" else "at most"
            what = f"needs {bound} {value} item{'s' if value != 1 else ''}, got {count}"
        elif kind == "minLength":
            what = "must not be empty"
        elif kind == "maxLength":
            what = f"must be at most {value} characters, got {quote(instance)}"
        elif kind == "not" and isinstance(instance, dict) and instance.get("source") == "absent":
            what = (
                f'a gap entry ("source": "absent") has no points, got '
                f"{quote(instance.get('points'))}"
            )
            hint = "the object is out of view on that frame"
        else:
            what = error.message
    return f"{json_path(path)}: {what}" + (f" ({hint})" if hint else "")
