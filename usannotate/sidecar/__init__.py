"""The JSON sidecar: read, validate, write atomically, recover autosaves (no Qt).

One ``<DICOM name without .dcm>.usannotate.json`` beside each DICOM file; the format is
documented for script authors in resources/SIDECAR.md and described exactly by
resources/sidecar.schema.json. Typical use::

    from usannotate.sidecar import load_sidecar, new_document, save_sidecar, sidecar_path_for

    path = sidecar_path_for(loop.path)
    doc = load_sidecar(path, dicom_uid=loop.identity.sop_instance_uid) if path.exists() \\
        else new_document(loop, label_set, annotator="A. Sonographer")
    ...  # edit doc.annotations
    save_sidecar(doc, path)

Modules by job: ``document`` (the types), ``encode`` (document -> JSON), ``decode``
(JSON -> document, version 1 migrated, newer files salvaged read-only), ``validate``
(the rules a schema cannot express, the loop check), ``schema``, ``store`` (load and
atomic save), ``recovery`` (autosaves), ``locks``, ``merge``; private helpers start with
``_``.
"""

from usannotate.cine.calibration import CALIBRATION_SOURCES, ManualCalibration
from usannotate.sidecar._timestamps import format_timestamp, parse_timestamp, utc_now
from usannotate.sidecar.decode import document_from_json
from usannotate.sidecar.document import (
    COORDINATE_DECIMALS,
    COORDINATE_SYSTEM,
    FORMAT,
    FORMAT_VERSION,
    DicomReference,
    SidecarCalibration,
    SidecarDocument,
    UnknownKeys,
    WorkStatus,
    new_document,
)
from usannotate.sidecar.encode import document_to_json
from usannotate.sidecar.errors import (
    SidecarConflictError,
    SidecarError,
    SidecarMismatchError,
    SidecarReadError,
    SidecarWriteError,
)
from usannotate.sidecar.schema import SCHEMA_PATH, load_schema, schema_problems
from usannotate.sidecar.store import (
    RECOVERY_SUFFIX,
    SIDECAR_SUFFIX,
    discard_recovery,
    is_sidecar_path,
    load_recovery,
    load_sidecar,
    offered_recovery,
    read_json,
    recovery_is_newer,
    recovery_path_for,
    save_sidecar,
    serialize,
    sidecar_matches_dicom,
    sidecar_path_for,
    write_recovery,
)
from usannotate.sidecar.validate import (
    POINT_MARGIN_PX,
    check_loop,
    consistency_problems,
    loop_mismatches,
)

__all__ = [
    "CALIBRATION_SOURCES",
    "COORDINATE_DECIMALS",
    "COORDINATE_SYSTEM",
    "FORMAT",
    "FORMAT_VERSION",
    "POINT_MARGIN_PX",
    "RECOVERY_SUFFIX",
    "SCHEMA_PATH",
    "SIDECAR_SUFFIX",
    "DicomReference",
    "ManualCalibration",
    "SidecarCalibration",
    "SidecarConflictError",
    "SidecarDocument",
    "SidecarError",
    "SidecarMismatchError",
    "SidecarReadError",
    "SidecarWriteError",
    "UnknownKeys",
    "WorkStatus",
    "check_loop",
    "consistency_problems",
    "discard_recovery",
    "document_from_json",
    "document_to_json",
    "format_timestamp",
    "is_sidecar_path",
    "load_recovery",
    "load_schema",
    "load_sidecar",
    "loop_mismatches",
    "new_document",
    "offered_recovery",
    "parse_timestamp",
    "read_json",
    "recovery_is_newer",
    "recovery_path_for",
    "save_sidecar",
    "schema_problems",
    "serialize",
    "sidecar_matches_dicom",
    "sidecar_path_for",
    "utc_now",
    "write_recovery",
]
