"""Every loop's measurements of a folder in one table, with a ``file`` column (no Qt).

The rows of ``usannotate measure`` for each loop that has a sidecar, in the folder's
name order; loops without a sidecar are skipped and counted, a sidecar that cannot be
read is reported (one line each) and the other loops are still measured.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from usannotate.annotations import calibration_lookup
from usannotate.annotations.measurements import Row
from usannotate.cine import CineError, list_loop_files, open_cine
from usannotate.export.measurements import MEASURE_COLUMNS, loop_measurements
from usannotate.sidecar import SidecarError, check_loop, load_sidecar, sidecar_path_for

#: The columns of the folder table: ``file`` (the loop's file name), then those of
#: ``usannotate measure``.
FOLDER_MEASURE_COLUMNS = ("file", *MEASURE_COLUMNS)


@dataclass
class FolderMeasurements:
    """What :func:`measure_folder` found.

    ``rows`` pairs each loop's file name with its rows; ``skipped`` counts the loops with
    no sidecar; ``failed`` holds one line per loop that could not be measured (file
    names only).
    """

    rows: list[tuple[str, list[Row]]] = field(default_factory=list)
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    n_loops: int = 0

    @property
    def measured(self) -> int:
        return len(self.rows)


def measure_loop(dicom: str) -> list[Row]:
    """The rows of one loop and the sidecar beside it (as ``usannotate measure``).

    Raises
    ------
    CineError, SidecarError
        The loop or its sidecar cannot be read, or they do not belong together.
    """
    sidecar = sidecar_path_for(dicom)
    with open_cine(dicom, prefetch_frames=0) as loop:
        doc = load_sidecar(sidecar, dicom_uid=loop.identity.sop_instance_uid)
        check_loop(doc, loop, path=sidecar)
        calibration_for = calibration_lookup(
            doc.annotations, loop.regions, (loop.columns, loop.rows)
        )
        return loop_measurements(doc.annotations, loop.n_frames, calibration_for)


def measure_folder(
    folder: str | os.PathLike[str],
    progress: Callable[[int, int], None] | None = None,
    *,
    jobs: int = 1,
) -> FolderMeasurements:
    """Measure every loop of ``folder`` that has a sidecar; ``progress(done, total)``
    after each loop; ``jobs`` loops at once, each in its own process
    (:mod:`usannotate.batch`; the rows stay in the folder's order).

    Raises
    ------
    OSError
        The folder cannot be listed.
    """
    from usannotate.batch import run_batch
    from usannotate.sidecar.placement import default_layout

    paths = list_loop_files(folder)
    result = FolderMeasurements(n_loops=len(paths))
    batch = run_batch(
        functools.partial(_measure_one, default_layout().annotation_folder),
        paths,
        jobs=jobs,
        progress=None if progress is None else lambda done, _failed: progress(done, len(paths)),
        expected=(CineError, SidecarError),
    )
    for path, rows in batch.succeeded():
        if rows is None:
            result.skipped += 1
        else:
            result.rows.append((os.path.basename(path), rows))
    result.failed = [reason for _, reason in batch.failed]
    return result


def _measure_one(annotation_folder: Path | None, path: str) -> list | None:
    """One loop's rows (in a worker process the ``--annotations`` folder is set there
    too); None when it has no sidecar."""
    from usannotate.sidecar.placement import set_annotation_folder

    set_annotation_folder(annotation_folder)
    if not sidecar_path_for(path).exists():
        return None
    return measure_loop(path)


def folder_measurements_csv(result: FolderMeasurements) -> str:
    """The table as CSV: a header of :data:`FOLDER_MEASURE_COLUMNS`, values to 6
    significant digits (as ``usannotate measure``), ``\\n`` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FOLDER_MEASURE_COLUMNS)
    for name, rows in result.rows:
        for row in rows:
            record = _record(row)
            record["value"] = f"{float(row.value):.6g}"
            writer.writerow([name, *(record[c] for c in MEASURE_COLUMNS)])
    return out.getvalue()


def folder_measurements_json(result: FolderMeasurements) -> str:
    """The table as JSON: ``{"columns": [...], "rows": [{column: value}, ...]}``."""
    records = []
    for name, rows in result.rows:
        for row in rows:
            record = {"file": name, **_record(row)}
            record["value"] = round(float(row.value), 6)
            records.append(record)
    columns = list(FOLDER_MEASURE_COLUMNS)
    return json.dumps({"columns": columns, "rows": records}, indent=1) + "\n"


def _record(row: Row) -> dict[str, object]:
    return {
        "frame": row.frame,
        "object_id": row.object_id,
        "label_id": row.label_id,
        "label_name": row.label_name,
        "kind": str(row.kind),
        "measurement": row.measurement,
        "value": row.value,
        "unit": row.unit,
        "reference": row.reference,
        "source": row.source,
    }


__all__ = [
    "FOLDER_MEASURE_COLUMNS",
    "FolderMeasurements",
    "folder_measurements_csv",
    "folder_measurements_json",
    "measure_folder",
    "measure_loop",
]
