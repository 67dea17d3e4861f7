"""Label sets: read, validate and write the ``usannotate-labels`` JSON format (no Qt).

A label-set file looks like this (keys in this order; every label key is written)::

    {
      "format": "usannotate-labels",
      "version": 1,
      "name": "Hydrodissection and trigger point injection",
      "labels": [
        {"id": "fascia.superficial", "name": "Superficial fascia", "kind": "polyline",
         "colour": "#e69f00", "shortcut": "1", "group": "fascial plane",
         "description": "..."},
        ...
      ]
    }

``kind`` is one of ``polyline``, ``needle``, ``region``, ``point`` (see
:class:`~usannotate.annotations.kinds.ShapeKind`); ``colour`` is ``"#rrggbb"``;
``shortcut`` is one key or ``null``; ``group`` and ``description`` may be omitted (empty).
Error messages number labels from 1 in file order ("label 3" is the third entry of
``labels``) and quote the offending value.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from usannotate.annotations.details import Definitions, DetailError, definitions_from_json
from usannotate.annotations.kinds import ShapeKind
from usannotate.annotations.model import _COLOUR, _LABEL_ID, Label, LabelSet

__all__ = [
    "DEFAULT_LABEL_SET_PATH",
    "FORMAT",
    "VERSION",
    "LabelSetError",
    "default_label_set",
    "label_set_from_json",
    "label_set_to_json",
    "load_label_set",
    "user_label",
]

FORMAT = "usannotate-labels"
VERSION = 1

#: The bundled default label set: package data of ``usannotate.resources`` (the
#: repository's top-level resources/ folder, installed inside the package).
DEFAULT_LABEL_SET_PATH: Traversable = (
    files("usannotate.resources") / "labels" / "hydrodissection.json"
)

_KINDS = ", ".join(kind.value for kind in ShapeKind)
_LABEL_KEYS = ("id", "name", "kind", "colour", "shortcut", "group", "description")
_REQUIRED_LABEL_KEYS = ("id", "name", "kind", "colour")
# case_fields, attributes, event_types: the label set's detail definitions (read by
# annotations.details.definitions_from_json; see load_definitions).
_TOP_KEYS = ("format", "version", "name", "labels", "case_fields", "attributes", "event_types")

#: Colours handed to user-made labels, in order, after the ones the set already uses:
#: Paul Tol's "light" scheme, colour-blind friendly and bright enough for grey B-mode.
_USER_COLOURS = (
    "#99ddff",
    "#ffaabb",
    "#bbcc33",
    "#44bb99",
    "#ee8866",
    "#77aadd",
    "#eedd88",
    "#dddddd",
)
_SHORTCUT_KEYS = tuple("1234567890")


class LabelSetError(ValueError):
    """A label set is not valid; the message quotes the bad value and what is allowed."""


# ------------------------------------------------------------------------------ reading
def load_label_set(path: str | Path) -> LabelSet:
    """Read and validate a label-set file.

    Parameters
    ----------
    path
        A ``usannotate-labels`` JSON file (UTF-8).

    Returns
    -------
    LabelSet

    Raises
    ------
    LabelSetError
        The file cannot be read, is not JSON, is not a label-set file, or holds an invalid
        label; the message starts with the file name.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LabelSetError(f"{path.name}: not a label set file (not UTF-8 text)") from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LabelSetError(f"{path.name}: cannot read the label set ({reason})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelSetError(
            f"{path.name}: not a label set file (not JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})"
        ) from exc
    try:
        return label_set_from_json(data)
    except LabelSetError as exc:
        raise LabelSetError(f"{path.name}: {exc}") from exc


def default_label_set() -> LabelSet:
    """The bundled label set for hydrodissection and trigger point injection.

    Returns a fresh :class:`LabelSet` on every call, so callers may add labels to it.

    Raises
    ------
    LabelSetError
        ``labels/hydrodissection.json`` of the package data ``usannotate.resources`` is
        missing (an incomplete installation) or invalid.
    """
    if not DEFAULT_LABEL_SET_PATH.is_file():
        raise LabelSetError(
            "the default label set labels/hydrodissection.json is missing from the "
            "package data usannotate.resources: usannotate is installed incompletely "
            "(reinstall it)"
        )
    with as_file(DEFAULT_LABEL_SET_PATH) as path:
        return load_label_set(path)


def label_set_from_json(data: Mapping[str, Any]) -> LabelSet:
    """Validate a decoded label-set document and build the :class:`LabelSet`.

    Parameters
    ----------
    data
        The decoded JSON object (see the module docstring for the format).

    Returns
    -------
    LabelSet
        Labels in file order.

    Raises
    ------
    LabelSetError
        With a message that quotes the bad value and says what is allowed, e.g.
        ``label 3 ('Vein'): kind 'circle' must be one of polyline, needle, region, point``.
    """
    if not isinstance(data, Mapping):
        raise LabelSetError(
            f'not a label set file: expected a JSON object with "format": {FORMAT!r}, '
            f"got {type(data).__name__}"
        )
    fmt = data.get("format")
    if fmt != FORMAT:
        raise LabelSetError(
            f'not a label set file: "format" is {fmt!r}, expected {FORMAT!r}'
            if "format" in data
            else f'not a label set file: no "format": {FORMAT!r} key'
        )
    unknown = [key for key in data if key not in _TOP_KEYS]
    if unknown:
        raise LabelSetError(
            f"unknown key {unknown[0]!r} in the label set (allowed: {', '.join(_TOP_KEYS)})"
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LabelSetError(f'"version" {version!r} must be a whole number, 1 or more')
    if version > VERSION:
        raise LabelSetError(
            f"label set version {version} is newer than this usannotate reads "
            f"(version {VERSION} or older); update usannotate"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LabelSetError(f'"name" {name!r} must be a non-empty string')
    items = data.get("labels")
    if not isinstance(items, list):
        raise LabelSetError(f'"labels" must be a list of labels, got {_describe(items)}')

    labels = [_label_from_json(index, item) for index, item in enumerate(items, start=1)]
    _check_unique(labels, "id", lambda label: label.id)
    _check_unique(
        [label for label in labels if label.shortcut is not None],
        "shortcut",
        lambda label: label.shortcut,
    )
    return LabelSet(name, labels)


def _label_from_json(index: int, item: Any) -> Label:
    where = f"label {index}"
    if not isinstance(item, Mapping):
        raise LabelSetError(f"{where}: must be a JSON object, got {_describe(item)}")
    name = item.get("name")
    if isinstance(name, str) and name.strip():
        where = f"label {index} ({name!r})"
    elif isinstance(item.get("id"), str):
        where = f"label {index} (id {item['id']!r})"

    unknown = [key for key in item if key not in _LABEL_KEYS]
    if unknown:
        raise LabelSetError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(_LABEL_KEYS)})"
        )
    for key in _REQUIRED_LABEL_KEYS:
        if key not in item:
            raise LabelSetError(f"{where}: missing {key!r} ({_WHAT[key]})")

    label_id = item["id"]
    if not isinstance(label_id, str) or not _LABEL_ID.match(label_id):
        raise LabelSetError(f"{where}: id {label_id!r} must be {_WHAT['id']}")
    if not isinstance(name, str) or not name.strip():
        raise LabelSetError(f"{where}: name {name!r} must be {_WHAT['name']}")
    kind = item["kind"]
    if kind not in {k.value for k in ShapeKind}:
        raise LabelSetError(f"{where}: kind {kind!r} must be one of {_KINDS}")
    colour = item["colour"]
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        raise LabelSetError(f"{where}: colour {colour!r} must be {_WHAT['colour']}")
    shortcut = item.get("shortcut")
    if shortcut is not None and not _is_key(shortcut):
        raise LabelSetError(f"{where}: shortcut {shortcut!r} must be {_WHAT['shortcut']}")
    group = item.get("group", "")
    if not isinstance(group, str):
        raise LabelSetError(f"{where}: group {group!r} must be a string")
    description = item.get("description", "")
    if not isinstance(description, str):
        raise LabelSetError(f"{where}: description {description!r} must be a string")
    return Label(label_id, name, ShapeKind(kind), colour, shortcut, group, description)


_WHAT = {
    "id": "lowercase letters, digits, '_', '.' or '-', starting with a letter or digit "
    "(e.g. 'fascia.deep')",
    "name": "a non-empty string shown to the user",
    "kind": f"one of {_KINDS}",
    "colour": "'#rrggbb' (e.g. '#56b4e9')",
    "shortcut": "a single key (one character, e.g. '1') or null",
}


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 1 and value.isprintable() and value != " "


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}" if not isinstance(value, dict) else "an object"


def _check_unique(labels: list[Label], what: str, key: Any) -> None:
    seen: dict[str, Label] = {}
    for label in labels:
        value = key(label)
        if value in seen:
            raise LabelSetError(
                f"{what} {value!r} is used by both {seen[value].name!r} and {label.name!r}; "
                f"each label needs its own {what}"
            )
        seen[value] = label


# ------------------------------------------------------------------------------ writing
def label_set_to_json(label_set: LabelSet) -> dict[str, Any]:
    """The label set as a JSON-ready dict, keys in a stable order.

    Every label key is written (``shortcut`` as ``None`` when unset, ``group`` and
    ``description`` as ``""``), so :func:`label_set_from_json` reads it back equal.
    """
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": label_set.name,
        "labels": [label_to_json(label) for label in label_set],
    }


def label_to_json(label: Label) -> dict[str, Any]:
    """One label as a JSON-ready dict with all seven keys, in a stable order (shared
    by label-set files and sidecars)."""
    return {
        "id": label.id,
        "name": label.name,
        "kind": label.kind.value,
        "colour": label.colour,
        "shortcut": label.shortcut,
        "group": label.group,
        "description": label.description,
    }


# ------------------------------------------------------------------------- user labels
def user_label(
    label_set: LabelSet,
    name: str,
    kind: ShapeKind | str,
    *,
    colour: str | None = None,
    group: str | None = None,
) -> Label:
    """A new label named by the user (e.g. a fascial plane the set does not list).

    The label is returned, not added: call ``label_set.add(label)`` (or go through the
    edit history) to keep it.

    Parameters
    ----------
    label_set
        The set the label will join; its ids, colours and shortcuts are avoided.
    name
        Shown to the user, e.g. ``"Thoracolumbar fascia"``.
    kind
        A :class:`ShapeKind` or its string (``"polyline"`` for a fascial plane).
    colour
        ``"#rrggbb"``; by default the first colour-blind-friendly colour the set does not
        use yet.
    group
        By default ``"fascial plane"`` for polylines, else ``""``.

    Returns
    -------
    Label
        Its id is ``"user."`` plus the name in lowercase ASCII with runs of other
        characters turned into ``_`` (``"Thoracolumbar fascia"`` ->
        ``"user.thoracolumbar_fascia"``), with ``-2``, ``-3``... appended when taken. Its
        shortcut is the first free key of 1-9, 0, or None.

    Raises
    ------
    LabelSetError
        Empty name, unknown kind or a colour that is not ``"#rrggbb"``.
    """
    if not isinstance(name, str) or not name.strip():
        raise LabelSetError(f"label name {name!r} must be {_WHAT['name']}")
    name = name.strip()
    try:
        shape_kind = ShapeKind(kind)
    except ValueError:
        raise LabelSetError(f"label {name!r}: kind {kind!r} must be one of {_KINDS}") from None
    if colour is not None and not _COLOUR.match(colour):
        raise LabelSetError(f"label {name!r}: colour {colour!r} must be {_WHAT['colour']}")

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "label"
    base = f"user.{slug}"
    label_id, n = base, 1
    while label_set.get(label_id) is not None:
        n += 1
        label_id = f"{base}-{n}"

    if colour is None:
        used = {label.colour.lower() for label in label_set}
        colour = next(
            (c for c in _USER_COLOURS if c not in used),
            _USER_COLOURS[len(label_set) % len(_USER_COLOURS)],
        )
    taken = {label.shortcut for label in label_set}
    shortcut = next((key for key in _SHORTCUT_KEYS if key not in taken), None)
    if group is None:
        group = "fascial plane" if shape_kind is ShapeKind.POLYLINE else ""
    return Label(label_id, name, shape_kind, colour, shortcut, group)


def load_definitions(path: str | Path) -> Definitions:
    """The case-detail, attribute and event-type definitions of a label-set file (the
    hydrodissection defaults for whatever it leaves out).

    Raises
    ------
    LabelSetError
        The file cannot be read or a definition is malformed (named by its JSON path).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelSetError(
            f"{path.name}: cannot read the label set ({type(exc).__name__})"
        ) from exc
    if not isinstance(data, dict):
        raise LabelSetError(f"{path.name}: not a label set file")
    try:
        return definitions_from_json(data)
    except DetailError as exc:
        raise LabelSetError(f"{path.name}: {exc}") from exc
