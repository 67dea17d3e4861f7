"""The sidecar's ``suggestions``: marks offered and not accepted yet, read and written.

A top-level list beside ``objects``, each item shaped like an object of one frame whose
``source`` is ``"suggested"`` (resources/SIDECAR.md), plus ``suggested_by`` (how it was
made) and, for a snap, ``replaces`` (the id of the mark it would replace on that frame).
Kept out of ``objects`` so that a reader of ``objects`` (usannotate's exports and
measurements, and other people's scripts) never takes a suggestion for the user's work,
and a usannotate older than this key keeps it as an unknown key, untouched.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from usannotate.annotations import LabelSet, ShapeKind
from usannotate.annotations.suggestions import HOW, SUGGESTED, SuggestedMark

__all__ = ["SUGGESTIONS_KEY", "suggestions_from_json", "suggestions_json"]

SUGGESTIONS_KEY = "suggestions"


def suggestions_json(marks: list[SuggestedMark]) -> dict[str, Any]:
    """``{"suggestions": [...]}`` for a document's suggestions; ``{}`` when there are none
    (a file without suggestions is written exactly as before)."""
    if not marks:
        return {}
    items = []
    for mark in marks:
        item: dict[str, Any] = {
            "id": mark.id,
            "label": mark.label_id,
            "name": "",
            "kind": ShapeKind(mark.kind).value,
            "suggested_by": mark.how,
        }
        if mark.replaces is not None:
            item["replaces"] = mark.replaces
        points = np.round(mark.points, 3).tolist()
        item["frames"] = [{"frame": mark.frame, "source": SUGGESTED, "points": points}]
        items.append(item)
    return {SUGGESTIONS_KEY: items}


def suggestions_from_json(
    data: dict[str, Any], label_set: LabelSet, n_frames: int
) -> tuple[list[SuggestedMark], list[str]]:
    """The suggestions of a sidecar's JSON, and what is wrong with them (``"<json path>:
    <what>"``, as the other problems)."""
    raw = data.get(SUGGESTIONS_KEY)
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [f"{SUGGESTIONS_KEY}: must be a list of suggested marks"]
    marks: list[SuggestedMark] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        where = f"{SUGGESTIONS_KEY}[{index}]"
        try:
            marks.append(_mark(item, where, label_set, n_frames))
        except ValueError as exc:
            problems.append(str(exc))
    return marks, problems


def _mark(item: Any, where: str, label_set: LabelSet, n_frames: int) -> SuggestedMark:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: must be a JSON object")
    for key in ("id", "label", "kind"):
        if not isinstance(item.get(key), str):
            raise ValueError(f"{where}.{key}: must be a string")
    label = label_set.get(item["label"])
    if label is None:
        raise ValueError(f"{where}.label: {item['label']!r} is not in the label set")
    if item["kind"] != label.kind.value:
        raise ValueError(f"{where}.kind: {item['kind']!r}, but {label.id!r} is a {label.kind}")
    how = item.get("suggested_by", HOW[0])
    if how not in HOW:
        raise ValueError(f"{where}.suggested_by: must be one of {', '.join(HOW)}")
    replaces = item.get("replaces")
    if replaces is not None and not isinstance(replaces, str):
        raise ValueError(f"{where}.replaces: must be a mark's id (a string)")
    frames = item.get("frames")
    if not isinstance(frames, list) or len(frames) != 1 or not isinstance(frames[0], dict):
        raise ValueError(f"{where}.frames: a suggestion is on exactly one frame")
    entry = frames[0]
    if entry.get("source") != SUGGESTED:
        raise ValueError(f'{where}.frames[0].source: must be "{SUGGESTED}"')
    frame = entry.get("frame")
    if type(frame) is not int or not 0 <= frame < n_frames:
        raise ValueError(f"{where}.frames[0].frame: must be 0 to {n_frames - 1} (0-based)")
    points = entry.get("points")
    if not isinstance(points, list) or not all(
        isinstance(p, list)
        and len(p) == 2
        and all(type(v) in (int, float) and math.isfinite(v) for v in p)
        for p in points
    ):
        raise ValueError(f"{where}.frames[0].points: must be [[x, y], ...] finite image px")
    try:
        return SuggestedMark(label.id, label.kind, frame, points, how, replaces, item["id"])
    except ValueError as exc:
        raise ValueError(f"{where}.frames[0].points: {exc}") from None
