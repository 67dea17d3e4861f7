"""Annotations: labels, shapes, marked objects and their measurements (no Qt)."""

from usannotate.annotations.model import (
    AnnotatedObject,
    Annotations,
    Label,
    LabelSet,
    ShapeKind,
    as_points,
    new_object_id,
)

__all__ = [
    "AnnotatedObject",
    "Annotations",
    "Label",
    "LabelSet",
    "ShapeKind",
    "as_points",
    "new_object_id",
]
