"""What ``usannotate measure`` adds from a loop's details (no Qt).

The hydrodissection measures, events, case details and time from the injection start.

``cli.py`` adds the options with :func:`add_measure_options` and hands the loop's rows
to :func:`measure_text`. The default table is as before (a contract: the SR holds
exactly its values); ``--hydro`` adds the new measures as more rows of it, same
columns. ``--time`` adds ``time_s`` and ``time_from_injection_s``
after ``frame``; ``--case-columns`` adds one ``case.<field>`` column per case field;
``--case`` prints the case details as JSON instead; ``--events`` prints the events.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs: `usannotate --help` stays quick
    import numpy as np

    from usannotate.annotations import Annotations, Row
    from usannotate.cine.calibration import Calibration

__all__ = [
    "EVENT_COLUMNS",
    "add_measure_options",
    "case_json",
    "detail_options_used",
    "events_text",
    "measure_records",
    "measure_text",
    "records_text",
    "with_hydro_rows",
]

#: The columns of ``measure --events``.
EVENT_COLUMNS = ("frame", "time_s", "time_from_injection_s", "type", "title", "id")


def detail_options_used(options: argparse.Namespace) -> str:
    """The first of the one-loop options given (for a folder's message), or ""."""
    for flag in ("hydro", "case", "case_columns", "events", "time"):
        if getattr(options, flag, False):
            return "--" + flag.replace("_", "-")
    return ""


def add_measure_options(measure: argparse.ArgumentParser) -> None:
    """The options of ``measure`` that come from the loop's details."""
    measure.add_argument(
        "--hydro",
        action="store_true",
        help="add the hydrodissection measures as rows: fluid_thickness, plane_separation, "
        "plane_separation_at_tip, insertion_depth, spread_rate, area_rate, advance_rate",
    )
    measure.add_argument(
        "--case",
        action="store_true",
        help="print the loop's case details as JSON (no measurements)",
    )
    measure.add_argument(
        "--case-columns",
        action="store_true",
        help="add a case.<field> column per case detail to every row",
    )
    measure.add_argument(
        "--events",
        action="store_true",
        help="list the loop's events (frame, time_s, time_from_injection_s, type, title, id)",
    )
    measure.add_argument(
        "--time",
        action="store_true",
        help="add time_s and time_from_injection_s (from the first injection_start event; "
        "empty without one) after the frame column",
    )


def with_hydro_rows(
    annotations: Annotations,
    n_frames: int,
    calibration_for: Callable[[np.ndarray], Calibration],
    times_s: Sequence[float],
    rows: Sequence[Row],
) -> list[Row]:
    """``rows`` (``loop_measurements``) with the hydrodissection measures of each frame
    after that frame's rows."""
    from usannotate.annotations.hydro import loop_hydro_rows

    extra: dict[int, list[Row]] = defaultdict(list)
    for row in loop_hydro_rows(annotations, n_frames, calibration_for, times_s, rows):
        extra[row.frame].append(row)
    # Frames in order: each frame's base rows, then its new rows.
    by_frame: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_frame[row.frame].append(row)
    return [r for f in sorted(by_frame.keys() | extra.keys()) for r in by_frame[f] + extra[f]]


def _times(annotations: Annotations, times_s: Sequence[float]) -> Callable[[int], tuple]:
    start = annotations.details.injection_start()
    zero = times_s[start] if start is not None and start < len(times_s) else None

    def at(frame: int) -> tuple[float, float | None]:
        t = float(times_s[frame])
        return round(t, 6), (round(t - zero, 6) if zero is not None else None)

    return at


def case_json(annotations: Annotations) -> str:
    """The case details as JSON: ``{"fields": [{id, title, type, unit, value}], "case":
    {id: value}}`` (every defined field, ``value`` null where not filled in)."""
    details = annotations.details
    fields = [
        {
            "id": f.id,
            "title": f.title,
            "type": f.type.value,
            "unit": f.unit,
            "value": details.case.get(f.id),
        }
        for f in details.definitions.case_fields
    ]
    return json.dumps({"fields": fields, "case": details.case}, indent=1) + "\n"


def _event_records(annotations: Annotations, times_s: Sequence[float]) -> list[dict[str, Any]]:
    details = annotations.details
    at = _times(annotations, times_s)
    records = []
    for e in details.events_sorted():
        t, rel = at(e.frame) if e.frame < len(times_s) else (None, None)
        title = details.definitions.event_title(e.type)
        records.append(
            dict(zip(EVENT_COLUMNS, (e.frame, t, rel, e.type, title, e.id), strict=True))
        )
    return records


def events_text(annotations: Annotations, times_s: Sequence[float], fmt: str) -> str:
    """The events in frame order as CSV or JSON (:data:`EVENT_COLUMNS`)."""
    return records_text(EVENT_COLUMNS, _event_records(annotations, times_s), fmt)


def measure_records(
    options: argparse.Namespace,
    annotations: Annotations,
    rows: Sequence[Row],
    times_s: Sequence[float],
) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and records ``measure`` prints for these options: the measurement
    rows (with ``time_s`` / ``time_from_injection_s`` for ``--time`` and ``case.<field>``
    columns for ``--case-columns``), the events for ``--events``, or one record of
    ``case.<field>`` values for ``--case`` (the folder table's form)."""
    fields = [f.id for f in annotations.details.definitions.case_fields]
    if getattr(options, "case", False):
        columns = [f"case.{f}" for f in fields]
        return columns, [{f"case.{f}": annotations.details.case.get(f) for f in fields}]
    if getattr(options, "events", False):
        return list(EVENT_COLUMNS), _event_records(annotations, times_s)
    from usannotate.export.measurements import MEASURE_COLUMNS

    at = _times(annotations, times_s)
    columns: list[str] = list(MEASURE_COLUMNS)
    if getattr(options, "time", False):
        columns[1:1] = ["time_s", "time_from_injection_s"]
    if getattr(options, "case_columns", False):
        columns += [f"case.{f}" for f in fields]
    records: list[dict[str, Any]] = []
    for row in rows:
        record = dataclasses.asdict(row)
        record["kind"] = str(record["kind"])
        record["value"] = float(row.value)  # rounded as it is printed (records_text)
        if "time_s" in columns:
            record["time_s"], record["time_from_injection_s"] = at(row.frame)
        if getattr(options, "case_columns", False):
            for f in fields:
                record[f"case.{f}"] = annotations.details.case.get(f)
        records.append(record)
    return columns, records


def records_text(columns: Sequence[str], records: Sequence[dict[str, Any]], fmt: str) -> str:
    """Records as ``measure`` prints them: JSON ``{"columns", "rows"}``, or CSV with a
    header, ``value`` to 6 significant digits and empty cells for missing values."""
    if fmt == "json":
        rounded = [
            {**r, "value": round(float(r["value"]), 6)} if r.get("value") is not None else r
            for r in records
        ]
        return json.dumps({"columns": list(columns), "rows": rounded}, indent=1) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        cells = []
        for c in columns:
            value = record.get(c)
            if c == "value" and value is not None:
                value = f"{float(value):.6g}"
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return out.getvalue()


def measure_text(
    options: argparse.Namespace,
    annotations: Annotations,
    rows: Sequence[Row],
    times_s: Sequence[float],
) -> str | None:
    """What ``measure`` prints for these options, or None for the plain table (the
    caller's ``measurements_csv`` / ``measurements_json``)."""
    fmt = options.format or "csv"
    if options.case:
        return case_json(annotations)
    if options.events:
        return events_text(annotations, times_s, fmt)
    if not (options.time or options.case_columns):
        return None
    return records_text(*measure_records(options, annotations, rows, times_s), fmt)
