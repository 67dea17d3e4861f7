"""The teaching page's case details, learning points, teaching comments and events (no Qt).

What :mod:`usannotate.export.teaching` adds from the loop's details:

- the title: the ``teaching_title`` case detail when there is one;
- a **Case** table of the case details filled in (the title and learning points apart);
- **Learning points**: the ``learning_points`` detail, one point per line;
- **Teaching notes**: the comments meant for teaching, those whose text starts with
  ``Teaching:`` (review notes stay out of the page), without their author (the page is
  de-identified: names are people's), with the frame and time they are on;
- **Events**: a table of the events (time, time from the injection start) and, on the
  curves, a line at each event (:func:`curve_events`).

Every text is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from typing import Any

from usannotate.annotations.details import FieldDef, FieldType, LoopDetails

__all__ = [
    "TEACHING_PREFIX",
    "curve_events",
    "details_html",
    "merge_hydro_rows",
    "page_title",
    "teaching_comments",
]

#: A comment whose text starts with this (any case) is meant for the teaching page.
TEACHING_PREFIX = "teaching:"
_APART = ("teaching_title", "learning_points", "teaching_case")


def page_title(details: LoopDetails | None) -> str:
    """The page's title: the ``teaching_title`` detail, or "Teaching case"."""
    title = (details.case.get("teaching_title") if details is not None else None) or ""
    return str(title).strip() or "Teaching case"


def _value_text(f: FieldDef, value: Any) -> str:
    if f.type is FieldType.YES_NO:
        return "yes" if value else "no"
    if f.type is FieldType.NUMBER:
        number = f"{value:g}" if isinstance(value, float) else str(value)
        return f"{number} {f.unit}".strip() if f.unit not in ("", "1-5") else number
    if f.type is FieldType.CHOICE and value in f.choices:
        return str(value).replace("_", " ")
    return str(value)


def teaching_comments(details: LoopDetails) -> list[tuple[int | None, str]]:
    """``(frame or None, text without the prefix)`` of the comments meant for teaching,
    loop comments first, then by frame."""
    out = []
    for c in details.comments:
        if c.text.strip().lower().startswith(TEACHING_PREFIX):
            out.append((c.frame, c.text.strip()[len(TEACHING_PREFIX) :].strip()))
    return sorted(out, key=lambda item: (item[0] is not None, item[0] or 0))


def curve_events(details: LoopDetails | None, times_s: list[float]) -> list[tuple[float, str]]:
    """``(time s, title)`` of each event on the loop's frames, for the curves."""
    if details is None:
        return []
    return [
        (times_s[e.frame], details.definitions.event_title(e.type))
        for e in details.events_sorted()
        if e.frame < len(times_s)
    ]


def details_html(details: LoopDetails | None, times_s: list[float]) -> list[str]:
    """The page's parts from the details: Case, Learning points, Teaching notes, Events
    (each only when it has something)."""
    if details is None:
        return []
    e = html.escape
    out: list[str] = []
    filled = [
        (f, details.case[f.id])
        for f in details.definitions.case_fields
        if f.id not in _APART and details.case.get(f.id) is not None
    ]
    if filled:
        out.append('<h2>Case</h2><table class="case">')
        out += [f"<tr><th>{e(f.title)}</th><td>{e(_value_text(f, v))}</td></tr>" for f, v in filled]
        out.append("</table>")
    points = str(details.case.get("learning_points") or "").strip()
    if points:
        items = [p.strip(" -•\t") for p in re.split(r"\n+", points) if p.strip(" -•\t")]
        out.append("<h2>Learning points</h2><ul>")
        out += [f"<li>{e(p)}</li>" for p in items]
        out.append("</ul>")
    notes = teaching_comments(details)
    if notes:
        out.append("<h2>Teaching notes</h2><ul>")
        for frame, text in notes:
            where = (
                ""
                if frame is None or frame >= len(times_s)
                else (f'<span class="note">frame {frame} · {times_s[frame]:.2f} s: </span>')
            )
            out.append(f"<li>{where}{e(text)}</li>")
        out.append("</ul>")
    events = [ev for ev in details.events_sorted() if ev.frame < len(times_s)]
    if events:
        start = details.injection_start()
        zero = times_s[start] if start is not None and start < len(times_s) else None
        out.append(
            '<h2>Events</h2><table class="events"><tr><th>frame</th><th>time</th>'
            "<th>from injection start</th><th>event</th></tr>"
        )
        for ev in events:
            t = times_s[ev.frame]
            rel = f"{t - zero:+.2f} s" if zero is not None else ""
            out.append(
                f'<tr><td class="num">{ev.frame}</td><td class="num">{t:.2f} s</td>'
                f'<td class="num">{rel}</td>'
                f"<td>{e(details.definitions.event_title(ev.type))}</td></tr>"
            )
        out.append("</table>")
    return out


def merge_hydro_rows(annotations, n_frames: int, calibration_for, times_s, rows: list) -> list:
    """``rows`` with the hydrodissection measures of each frame after its own rows (as
    ``measure --hydro`` lists them)."""
    from usannotate.annotations.hydro import loop_hydro_rows

    by_frame: dict[int, list] = {}
    for row in rows:
        by_frame.setdefault(row.frame, []).append(row)
    for row in loop_hydro_rows(annotations, n_frames, calibration_for, times_s, rows):
        by_frame.setdefault(row.frame, []).append(row)
    return [r for f in sorted(by_frame) for r in by_frame[f]]
