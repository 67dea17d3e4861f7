"""Annotations: labels, shapes, marked objects, their edits and measurements (no Qt)."""

from usannotate.annotations.calibration import CalibrationFor, calibration_lookup, measures_in_mm
from usannotate.annotations.kinds import FrameSource, ShapeKind
from usannotate.annotations.labels import (
    LabelSetError,
    default_label_set,
    label_set_from_json,
    label_set_to_json,
    load_label_set,
    user_label,
)
from usannotate.annotations.measurements import Measurement, Row, measure_frame
from usannotate.annotations.model import (
    AnnotatedObject,
    Annotations,
    Label,
    LabelSet,
    as_points,
    new_object_id,
)

__all__ = [
    "AnnotatedObject",
    "Annotations",
    "CalibrationFor",
    "FrameSource",
    "Label",
    "LabelSet",
    "LabelSetError",
    "Measurement",
    "Row",
    "ShapeKind",
    "as_points",
    "calibration_lookup",
    "default_label_set",
    "label_set_from_json",
    "label_set_to_json",
    "load_label_set",
    "measure_frame",
    "measures_in_mm",
    "new_object_id",
    "user_label",
]
