"""The keys this version knows at each level of a sidecar, in the order it writes them.

Every other key is someone else's: decoding keeps it (``UnknownKeys``, an object's
``extra``) and encoding writes it back after the known ones, sorted by name.
"""

from __future__ import annotations

TOP_KEYS = (
    "format",
    "version",
    "coordinate_system",
    "dicom",
    "calibration",
    "label_set",
    "annotator",
    "created",
    "modified",
    "app_version",
    "status",
    "case",
    "events",
    "comments",
    "objects",
    "suggestions",
)
DICOM_KEYS = ("sop_instance_uid", "file_name", "rows", "columns", "n_frames", "frame_time_ms")
CALIBRATION_KEYS = ("source", "regions", "manual")
MANUAL_KEYS = ("mm_per_px", "line", "length_mm")
REGION_KEYS = (
    "bounds",
    "file_bounds",
    "spatial_format",
    "data_type",
    "units_x",
    "units_y",
    "mm_per_px_x",
    "mm_per_px_y",
    "reference_pixel",
)
LABEL_SET_KEYS = ("name", "labels", "case_fields", "attributes", "event_types")
LABEL_KEYS = ("id", "name", "kind", "colour", "shortcut", "group", "description")
OBJECT_KEYS = ("id", "label", "name", "kind", "attributes", "frames")
FRAME_KEYS = ("frame", "source", "points")
FRAME_KEY_SET = frozenset(FRAME_KEYS)
#: The ``source`` of a frame entry that marks a gap (no points).
ABSENT = "absent"
