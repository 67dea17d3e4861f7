"""``usannotate measure FOLDER`` with the one-loop detail options (no Qt).

``--hydro``, ``--time``, ``--case-columns``, ``--case`` and ``--events`` on a folder give
the table each loop would give alone, with a ``file`` column first, loops in the folder's
name order; the loops are measured on ``--jobs`` processes through
:func:`usannotate.batch.run_batch`. Loops without a sidecar are skipped and counted, as
in the plain folder table.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from usannotate import cli_details

__all__ = ["DETAIL_FLAGS", "FolderRecords", "folder_records"]

#: The options a loop's records depend on (sent to each worker as plain data).
DETAIL_FLAGS = ("hydro", "time", "case", "case_columns", "events")


class FolderRecords:
    """The folder's table: ``columns`` (``file`` first) and ``records``; ``skipped``
    loops without a sidecar; ``failed`` one line per loop that could not be measured."""

    def __init__(self) -> None:
        self.columns: list[str] = ["file"]
        self.records: list[dict[str, Any]] = []
        self.skipped = 0
        self.failed: list[str] = []
        self.measured = 0

    def add(self, name: str, columns: list[str], records: list[dict[str, Any]]) -> None:
        """One loop's table (columns another loop lacks, e.g. the case fields of
        another label set, are added at the end, empty for the loops without them)."""
        self.columns += [c for c in columns if c not in self.columns]
        self.records += [{"file": name, **r} for r in records]
        self.measured += 1


def folder_records(
    folder: str | os.PathLike[str],
    flags: dict[str, bool],
    *,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> FolderRecords:
    """Every loop's ``measure`` records for ``flags`` (see :data:`DETAIL_FLAGS`).

    Raises
    ------
    OSError
        The folder cannot be listed.
    """
    from usannotate.batch import run_batch
    from usannotate.cine import CineError, list_loop_files
    from usannotate.sidecar import SidecarError
    from usannotate.sidecar.placement import default_layout

    paths = list_loop_files(folder)
    batch = run_batch(
        functools.partial(_loop_records, dict(flags), default_layout().annotation_folder),
        paths,
        jobs=jobs,
        progress=None if progress is None else lambda done, _failed: progress(done, len(paths)),
        expected=(CineError, SidecarError),
    )
    out = FolderRecords()
    for path, result in batch.succeeded():
        if result is None:
            out.skipped += 1
        else:
            out.add(os.path.basename(path), *result)
    out.failed = [reason for _, reason in batch.failed]
    return out


def _loop_records(
    flags: dict[str, bool], annotation_folder: Path | None, path: str
) -> tuple[list[str], list[dict[str, Any]]] | None:
    """One loop's columns and records (in a worker process too); None without sidecar."""
    import argparse

    from usannotate.annotations import calibration_lookup
    from usannotate.cine import open_cine
    from usannotate.export.measurements import loop_measurements
    from usannotate.sidecar import check_loop, load_sidecar, sidecar_path_for
    from usannotate.sidecar.placement import set_annotation_folder

    set_annotation_folder(annotation_folder)
    sidecar = sidecar_path_for(path)
    if not sidecar.exists():
        return None
    options = argparse.Namespace(**{k: bool(flags.get(k)) for k in DETAIL_FLAGS})
    with open_cine(path, prefetch_frames=0) as loop:
        doc = load_sidecar(sidecar, dicom_uid=loop.identity.sop_instance_uid)
        check_loop(doc, loop, path=sidecar)
        calibration_for = calibration_lookup(
            doc.annotations, loop.regions, (loop.columns, loop.rows)
        )
        times_s = [float(t) / 1000.0 for t in loop.frame_start_times_ms()]
        rows: list = []
        if not (options.case or options.events):
            rows = loop_measurements(doc.annotations, loop.n_frames, calibration_for)
            if options.hydro:
                rows = cli_details.with_hydro_rows(
                    doc.annotations, loop.n_frames, calibration_for, times_s, rows
                )
    return cli_details.measure_records(options, doc.annotations, rows, times_s)
