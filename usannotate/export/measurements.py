"""A loop's measurement table: one row per frame, object and measurement (no Qt).

As ``usannotate measure`` prints it and File > Export Measurements writes it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from usannotate._atomic import write_atomically
from usannotate.annotations import Annotations, Row, measure_frame
from usannotate.cine.calibration import Calibration

__all__ = [
    "MEASURE_COLUMNS",
    "loop_measurements",
    "measurements_csv",
    "measurements_json",
    "write_measurements",
]

#: The columns of the table, in order: a contract for the scripts that read it.
MEASURE_COLUMNS = (
    "frame",
    "object_id",
    "label_id",
    "label_name",
    "kind",
    "measurement",
    "value",
    "unit",
    "reference",
    "source",
)


def loop_measurements(
    annotations: Annotations,
    n_frames: int,
    calibration_for: Callable[[np.ndarray], Calibration],
) -> list[Row]:
    """Every measurement on every frame where a track exists (stored, or interpolated
    between keyframes), frames in order (0-based), objects in drawing order.

    Parameters
    ----------
    annotations
        The loop's annotations.
    n_frames
        Frames really in the loop: tracks are measured on frames ``0 .. n_frames - 1``.
    calibration_for
        ``(N, 2)`` image points -> :class:`Calibration`, as for
        :func:`usannotate.annotations.measure_frame`.
    """
    frames = sorted({f for obj in annotations.objects for f in obj.frame_sources(n_frames)})
    return [row for frame in frames for row in measure_frame(annotations, frame, calibration_for)]


def _record(row: Row) -> dict[str, object]:
    record = dataclasses.asdict(row)
    record["kind"] = str(record["kind"])
    return {column: record[column] for column in MEASURE_COLUMNS}


def measurements_csv(rows: Iterable[Row]) -> str:
    """The rows as CSV text: a header of :data:`MEASURE_COLUMNS`, values to 6 significant
    digits, ``\\n`` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MEASURE_COLUMNS)
    for row in rows:
        record = _record(row)
        record["value"] = f"{float(row.value):.6g}"
        writer.writerow([record[c] for c in MEASURE_COLUMNS])
    return out.getvalue()


def measurements_json(rows: Iterable[Row]) -> str:
    """The rows as JSON text: ``{"columns": [...], "rows": [{column: value}, ...]}``,
    values rounded to 6 decimals; each row also has ``unit_reason`` (why it is in px,
    "" when in mm)."""
    records = []
    for row in rows:
        record = dataclasses.asdict(row)
        record["kind"] = str(record["kind"])
        record["value"] = round(float(row.value), 6)
        records.append(record)
    return json.dumps({"columns": list(MEASURE_COLUMNS), "rows": records}, indent=1) + "\n"


def write_measurements(rows: Iterable[Row], path: str | os.PathLike[str]) -> Path:
    """Write the rows atomically to ``path``: JSON when it ends in ``.json``, else CSV.

    Raises
    ------
    OSError
        The system refused the write (full disk, read-only folder); any file already at
        ``path`` is left as it was.
    """
    path = Path(path)
    text = measurements_json(rows) if path.suffix.lower() == ".json" else measurements_csv(rows)
    write_atomically(path, text.encode("utf-8"))
    return path
