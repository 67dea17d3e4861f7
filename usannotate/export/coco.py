"""COCO export: frames as PNG, regions as polygons, planes and needles as keypoints.

No Qt. One ``annotations/<split>.json`` (``train``, and ``val`` when loops are held out)
and ``images/<split>/*.png``. Regions (fluid, structures to avoid) are polygon
``segmentation`` with ``area`` and ``bbox`` in px; a needle is 2 keypoints (entry, tip),
a fascial plane :data:`PLANE_KEYPOINTS` keypoints spaced evenly along it (COCO needs a
fixed count per category), a target 1 keypoint, each with its category's ``skeleton``.
Every annotation's ``attributes`` say its ``track_id``, ``source`` (keyframe, tracked
or interpolated) and ``keyframe``, and the mark's attributes on that frame; every image
its loop and 0-based frame, the loop's case details and the frame's events
(:mod:`usannotate.export.coco_details`). Coordinates
are px only (no mm values are written, so none can be mixed with px).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from usannotate import __version__
from usannotate._atomic import write_atomically
from usannotate.annotations import FrameSource, Label, ShapeKind
from usannotate.export._common import ExportError, FrameChoice, Progress
from usannotate.export._imageset import (
    FrameProgress,
    Mark,
    PngWriter,
    bbox,
    frame_image,
    image_name,
    label_index,
    loop_frames,
    polygon_area,
    split_loops,
)
from usannotate.export._imageset_jobs import InItsSplit, PartialExport, loop_parts
from usannotate.export.coco_details import case_fields_info, image_details, mark_attributes
from usannotate.sidecar import format_timestamp, utc_now

__all__ = ["PLANE_KEYPOINTS", "resample_polyline", "write_coco"]

#: Keypoints a fascial plane is resampled to.
PLANE_KEYPOINTS = 16


def resample_polyline(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced along an open polyline, both ends kept."""
    points = np.asarray(points, dtype=np.float64)
    lengths = np.hypot(*np.diff(points, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(lengths)])
    if arc[-1] == 0:
        return np.repeat(points[:1], n, axis=0)
    wanted = np.linspace(0.0, arc[-1], n)
    return np.column_stack(
        [np.interp(wanted, arc, points[:, 0]), np.interp(wanted, arc, points[:, 1])]
    )


def _category(number: int, label: Label) -> dict[str, object]:
    category: dict[str, object] = {
        "id": number,
        "name": label.name,
        "supercategory": label.group or label.kind.value,
        "label_id": label.id,
        "kind": label.kind.value,
    }
    names = {
        ShapeKind.NEEDLE: ["entry", "tip"],
        ShapeKind.POLYLINE: [f"p{i}" for i in range(1, PLANE_KEYPOINTS + 1)],
        ShapeKind.POINT: ["point"],
    }.get(label.kind)
    if names is not None:
        category["keypoints"] = names
        # COCO's skeleton numbers keypoints from 1.
        category["skeleton"] = [[i, i + 1] for i in range(1, len(names))]
    return category


def _annotation(number: int, image_id: int, category_id: int, mark: Mark) -> dict[str, object]:
    attributes = {
        "track_id": mark.track_id,
        "label_id": mark.label.id,
        "source": mark.source.value,
        "keyframe": mark.source is FrameSource.KEYFRAME,
    }
    entry: dict[str, object] = {"id": number, "image_id": image_id, "category_id": category_id}
    points = np.round(mark.points, 3)
    if mark.kind is ShapeKind.REGION:
        entry["segmentation"] = [[float(v) for v in points.reshape(-1)]]
        entry["area"] = round(polygon_area(points), 3)
        entry["bbox"] = bbox(points)
    else:
        if mark.kind is ShapeKind.POLYLINE:
            points = np.round(resample_polyline(mark.points, PLANE_KEYPOINTS), 3)
        keypoints = np.column_stack([points, np.full(len(points), 2.0)])  # 2: visible
        entry["keypoints"] = [float(v) for v in keypoints.reshape(-1)]
        entry["num_keypoints"] = len(points)
        box = bbox(points)
        entry["bbox"] = box
        entry["area"] = round(box[2] * box[3], 3)
    entry["iscrowd"] = 0
    entry["attributes"] = attributes
    return entry


def _coco_loop(
    out: Path,
    split: str,
    frames: FrameChoice,
    categories: dict[str, int],
    dicom: Path,
    frame_progress: FrameProgress | None,
) -> tuple[list[dict], list[dict], dict[str, dict[str, object]]]:
    """One loop's frames written as PNG, its images and annotations, numbered from 1
    within the loop (the writer numbers them across the data set), and the definitions of
    its case fields by id."""
    images: list[dict] = []
    entries: list[dict] = []
    case_fields: dict[str, dict[str, object]] = {}
    with PngWriter() as pngs:
        for work, _, frame, marks in loop_frames([dicom], frames, None, frame_progress):
            name = image_name(dicom, frame)
            pngs.submit(out / "images" / split / name, frame_image(work, frame))
            image_id = len(images) + 1
            images.append(
                {
                    "id": image_id,
                    "file_name": f"{split}/{name}",
                    "width": work.loop.columns,
                    "height": work.loop.rows,
                    "loop": dicom.name,
                    "frame": frame,
                    **image_details(work.annotations.details, frame),  # case, events
                }
            )
            case_fields_info(case_fields, work.annotations.details)
            for mark in marks:
                if mark.label.id not in categories:
                    continue
                number = len(entries) + 1
                category = categories[mark.label.id]
                entry = _annotation(number, image_id, category, mark)
                entry["attributes"].update(  # type: ignore[union-attr]
                    mark_attributes(work.annotations.details, mark.track_id, mark.label.id, frame)
                )
                entries.append(entry)
    return images, entries, case_fields


def write_coco(
    loops: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    frames: FrameChoice = FrameChoice.ANNOTATED,
    *,
    val_fraction: float = 0.0,
    seed: int = 0,
    progress: Progress | None = None,
    frame_progress: FrameProgress | None = None,
    jobs: int = 1,
) -> list[Path]:
    """Write a COCO data set of the loops' frames into the folder ``output``.

    Parameters
    ----------
    loops
        Annotated DICOM loops (each with its sidecar beside it).
    frames
        Which frames of each loop (see :class:`FrameChoice`).
    val_fraction, seed
        Share of the loops held out as ``val`` (whole loops), and the split's seed.
    progress
        Called with ``(loops done, loops, file name)``; ``frame_progress`` with
        ``(frames done, frames)`` of the loop being written (it may raise to stop).
    jobs
        Loops written at once, each in its own process (see
        :func:`~usannotate.export._imageset_jobs.loop_parts`); the data set is the same.

    Returns
    -------
    list of Path
        The annotation files written (``annotations/train.json`` [, ``val.json``]).

    Raises
    ------
    ExportError
        A loop cannot be opened or read, or nothing is marked.
    PartialExport
        With ``jobs`` above 1: some loops failed (the data set of the others is written).
    OSError
        A file could not be written.
    """
    paths = [Path(p) for p in loops]
    splits = split_loops(paths, val_fraction, seed)
    labels = label_index(paths)
    if not labels:
        raise ExportError("nothing is marked on these loops")
    categories = {label.id: number for number, label in enumerate(labels, 1)}
    out = Path(output)
    now = format_timestamp(utc_now())
    sets: dict[str, dict[str, list]] = {
        split: {"images": [], "annotations": []} for split in sorted(set(splits.values()))
    }
    # The split of each loop rides with it: one picklable function for every loop.
    parts, failed = loop_parts(
        InItsSplit(_coco_loop, out, splits, frames, categories),
        paths,
        jobs=jobs,
        progress=progress,
        frame_progress=frame_progress,
    )
    next_annotation = 1
    case_fields: dict[str, dict[str, object]] = {}
    for dicom, (images, entries, fields) in parts:
        for field_id, field in fields.items():  # the first loop's definition of an id
            case_fields.setdefault(field_id, field)
        content = sets[splits[dicom]]
        first_image = len(content["images"])
        for image in images:
            image["id"] += first_image
        for entry in entries:
            entry["id"] = next_annotation
            entry["image_id"] += first_image
            next_annotation += 1
        content["images"] += images
        content["annotations"] += entries
    written = []
    for split, content in sets.items():
        document = {
            "info": {
                "description": "usannotate export",
                "version": __version__,
                "date_created": now,
                "frames": frames.value,
                "case_fields": list(case_fields.values()),
            },
            "licenses": [],
            "images": content["images"],
            "annotations": content["annotations"],
            "categories": [_category(categories[label.id], label) for label in labels],
        }
        path = out / "annotations" / f"{split}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))
        written.append(path)
    if failed:
        raise PartialExport(written, failed, len(paths))
    return written
