"""CVAT for video 1.1 XML export: one ``<track>`` per track, a shape per stored frame.

No Qt. CVAT re-interpolates every frame that is not a keyframe when it imports a track,
so tracked frames go out as keyframes too, with the attribute ``tracked=true``; frames
we interpolate are left to CVAT. A shape with ``outside="1"`` starts each gap and follows
the last stored frame (the track leaves the view). The needle is a 2-point polyline with
the attribute ``kind=needle`` (entry first, tip second). The attributes ``track_id`` and
``name`` keep the sidecar's object id and name, so an import gives them back; the label
set's attributes (``tip_visible``, ``spread``, ``confidence``) are declared in the meta's
labels and carried by every shape (:mod:`usannotate.export.cvat_attributes`).
Coordinates are CVAT's and ours alike: ``(x, y)`` in image pixels, ``(0, 0)`` at the
top-left corner of the image.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from usannotate._atomic import write_atomically
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.export._common import AnnotatedLoop, ExportError
from usannotate.export.cvat_attributes import (
    attribute_change_frames,
    declare_attributes,
    shape_attributes,
)
from usannotate.sidecar import format_timestamp, utc_now

__all__ = ["CVAT_SHAPES", "cvat_xml", "write_cvat"]

#: Our shape kind -> CVAT's shape element.
CVAT_SHAPES = {
    ShapeKind.POLYLINE: "polyline",
    ShapeKind.NEEDLE: "polyline",
    ShapeKind.REGION: "polygon",
    ShapeKind.POINT: "points",
}


def _points_text(points: np.ndarray) -> str:
    """CVAT's ``x1,y1;x2,y2`` with the 3 decimals the sidecar keeps."""
    return ";".join(f"{x:.3f},{y:.3f}" for x, y in np.asarray(points, dtype=np.float64))


def _sub(parent: ET.Element, tag: str, text: object = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = str(text)
    return element


def _attribute_spec(parent: ET.Element, name: str, input_type: str, values: list[str]) -> None:
    spec = _sub(parent, "attribute")
    _sub(spec, "name", name)
    _sub(spec, "mutable", "True" if name == "tracked" else "False")
    _sub(spec, "input_type", input_type)
    _sub(spec, "default_value", values[0])
    _sub(spec, "values", "\n".join(values))


def _meta(root: ET.Element, work: AnnotatedLoop) -> None:
    now = format_timestamp(utc_now())
    loop = work.loop
    meta = _sub(root, "meta")
    task = _sub(meta, "task")
    for tag, text in (
        ("id", 1),
        ("name", Path(work.name).stem),
        ("size", loop.n_frames),
        ("mode", "interpolation"),
        ("overlap", 0),
        ("bugtracker", ""),
        ("created", now),
        ("updated", now),
        ("subset", "default"),
        ("start_frame", 0),
        ("stop_frame", loop.n_frames - 1),
        ("frame_filter", ""),
    ):
        _sub(task, tag, text)
    labels = _sub(task, "labels")
    used = {o.label_id for o in work.annotations.objects}
    for label in work.annotations.label_set:
        if label.id not in used:
            continue
        element = _sub(labels, "label")
        _sub(element, "name", label.name)
        _sub(element, "color", label.colour)
        _sub(element, "type", CVAT_SHAPES[label.kind])
        specs = _sub(element, "attributes")
        _attribute_spec(specs, "tracked", "checkbox", ["false", "true"])
        _attribute_spec(specs, "track_id", "text", [""])
        _attribute_spec(specs, "name", "text", [""])
        if label.kind is ShapeKind.NEEDLE:
            _attribute_spec(specs, "kind", "select", ["needle"])
        declare_attributes(specs, work.annotations.details, label.id)  # the label set's
    size = _sub(task, "original_size")
    _sub(size, "width", loop.columns)
    _sub(size, "height", loop.rows)
    _sub(meta, "dumped", now)


def _track(root: ET.Element, number: int, obj: AnnotatedObject, work: AnnotatedLoop) -> None:
    label = work.annotations.label_set.get(obj.label_id)
    n = work.loop.n_frames
    stored = sorted(f for f in obj.frames if f < n)
    source = "semi-auto" if obj.tracked else "manual"
    track = _sub(
        root, "track", id=str(number), label=label.name if label else obj.label_id, source=source
    )
    shape_tag = CVAT_SHAPES[obj.kind]

    def shape(
        frame: int, points: np.ndarray, outside: bool, tracked: bool, keyframe: bool = True
    ) -> None:
        element = _sub(
            track,
            shape_tag,
            frame=str(frame),
            keyframe="1" if keyframe else "0",
            outside="1" if outside else "0",
            occluded="0",
            points=_points_text(points),
            z_order="0",
        )
        _sub(element, "attribute", "true" if tracked else "false", name="tracked")
        _sub(element, "attribute", obj.id, name="track_id")
        _sub(element, "attribute", obj.name, name="name")
        if obj.kind is ShapeKind.NEEDLE:
            _sub(element, "attribute", "needle", name="kind")
        shape_attributes(element, work.annotations.details, obj, frame)

    sources = obj.frame_sources(n)
    for index, frame in enumerate(stored):
        shape(frame, obj.frames[frame], False, frame in obj.tracked)
        following = stored[index + 1] if index + 1 < len(stored) else None
        # The track leaves the view after this frame: after its last one, or in a gap.
        after = frame + 1
        if after < n and after not in sources and (following is None or following > after):
            shape(after, obj.frames[frame], True, frame in obj.tracked)
    # A per-frame attribute changed where the track has no stored shape: an interpolated
    # shape there carries it (cvat_attributes.py), then the shapes in frame order.
    changes = attribute_change_frames(work.annotations.details, obj) - set(stored)
    if changes:
        geometry = obj.all_geometry(n)
        for frame in sorted(f for f in changes if f < n and f in geometry):
            shape(frame, geometry[frame][0], False, False, keyframe=False)
        track[:] = sorted(track, key=lambda element: int(element.get("frame", "0")))


def cvat_xml(work: AnnotatedLoop) -> bytes:
    """The CVAT for video 1.1 XML document of ``work``'s tracks (UTF-8 bytes).

    Raises
    ------
    ExportError
        Nothing is marked on the loop.
    """
    objects = [o for o in work.annotations.objects if o.frames]
    if not objects:
        raise ExportError(f"{work.name}: nothing is marked on this loop")
    root = ET.Element("annotations")
    _sub(root, "version", "1.1")
    _meta(root, work)
    for number, obj in enumerate(objects):
        _track(root, number, obj, work)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_cvat(work: AnnotatedLoop, output: str | os.PathLike[str]) -> Path:
    """Write :func:`cvat_xml` atomically to ``output``.

    Raises
    ------
    ExportError
        As :func:`cvat_xml`.
    OSError
        The file could not be written (any file already there is left as it was).
    """
    path = Path(output)
    write_atomically(path, cvat_xml(work))
    return path
