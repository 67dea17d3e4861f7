"""Agreement of two sidecar files, and the report as CSV or JSON text (no Qt).

:func:`compare_files` reads and checks two raters' sidecars of one loop (and the loop, when
given) and runs :func:`usannotate.team.agreement.compare`; :func:`agreement_csv` and
:func:`agreement_json` are what ``usannotate agreement`` prints.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from usannotate.cine.calibration import Region
from usannotate.team.agreement import (
    ROW_COLUMNS,
    SUMMARY_KEYS,
    AgreementError,
    AgreementReport,
    compare,
)


# ---------------------------------------------------------------------- files
def compare_files(
    path_a: str | os.PathLike[str],
    path_b: str | os.PathLike[str],
    *,
    dicom: str | os.PathLike[str] | None = None,
) -> AgreementReport:
    """Compare two sidecars of one loop; with ``dicom``, its calibration and size (and a
    check that both sidecars belong to it), else what the sidecars recorded.

    Raises
    ------
    AgreementError
        A file cannot be read, or the files do not belong to one loop.
    """
    from usannotate.cine import CineError, open_cine
    from usannotate.sidecar import SidecarError, load_sidecar

    docs = []
    for path in (path_a, path_b):
        if not Path(path).exists():
            raise AgreementError(f"{Path(path).name}: no such file")
        try:
            docs.append(load_sidecar(path))
        except SidecarError as exc:
            raise AgreementError(str(exc).splitlines()[0]) from None
    doc_a, doc_b = docs
    names = Path(path_a).name, Path(path_b).name
    if doc_a.dicom.sop_instance_uid != doc_b.dicom.sop_instance_uid:
        raise AgreementError(
            f"{names[0]} and {names[1]} were made for different DICOM files "
            "(their SOP Instance UIDs differ): there is nothing to compare"
        )
    if dicom is not None:
        try:
            with open_cine(dicom, prefetch_frames=0) as loop:
                if loop.identity.sop_instance_uid != doc_a.dicom.sop_instance_uid:
                    raise AgreementError(
                        f"{names[0]} belongs to another DICOM file than {Path(dicom).name} "
                        "(the SOP Instance UIDs differ)"
                    )
                regions, size, n_frames = loop.regions, (loop.columns, loop.rows), loop.n_frames
        except CineError as exc:
            raise AgreementError(str(exc).splitlines()[0]) from None
    else:
        regions = []
        for data in doc_a.calibration.regions:
            try:
                regions.append(Region.from_json(data))
            except ValueError:
                continue
        size = (doc_a.dicom.columns, doc_a.dicom.rows)
        n_frames = doc_a.dicom.n_frames
    return compare(
        doc_a.annotations, doc_b.annotations, n_frames=n_frames, image_size=size, regions=regions
    )


# --------------------------------------------------------------------- output
def _number(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def agreement_json(report: AgreementReport) -> str:
    """``{"rows": [{frame, label_id, measurement, value, unit, object_a, object_b}],
    "summary": [...], "length_unit": ..., "unit_reason": ...}`` as JSON text."""
    rows = []
    for row in report.rows:
        record = {key: getattr(row, key) for key in ROW_COLUMNS}
        record["value"] = _number(row.value)
        rows.append(record)
    summary = []
    for entry in report.summary:
        record = {key: getattr(entry, key) for key in SUMMARY_KEYS}
        for key in ("mean", "median", "max"):
            record[key] = _number(record[key])
        summary.append(record)
    data = {
        "rows": rows,
        "summary": summary,
        "length_unit": report.length_unit,
        "unit_reason": report.unit_reason,
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def agreement_csv(report: AgreementReport) -> str:
    """The per-frame rows as CSV: a header of :data:`ROW_COLUMNS`, values to 6 significant
    digits, ``\\n`` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROW_COLUMNS)
    for row in report.rows:
        writer.writerow(
            [
                row.frame,
                row.label_id,
                row.measurement,
                f"{row.value:.6g}",
                row.unit,
                row.object_a,
                row.object_b,
            ]
        )
    return out.getvalue()


__all__ = ["agreement_csv", "agreement_json", "compare_files"]
