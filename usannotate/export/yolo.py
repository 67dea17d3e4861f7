"""YOLO segmentation export: normalised region polygons per frame, and ``data.yaml``.

No Qt. Ultralytics' layout: ``images/<split>/*.png``, ``labels/<split>/*.txt`` with one
line per region, ``class x1 y1 x2 y2 ...`` (x by the image width, y by its height, 0 to
1), and ``data.yaml`` naming the classes. YOLO-seg holds polygons only: fascial planes,
needles and points are not in it (COCO keypoints and the masks carry them).
``sources.csv`` lists each line's track and source (keyframe, tracked, interpolated);
frames without regions get an empty label file (a negative).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from usannotate._atomic import write_atomically
from usannotate.annotations import ShapeKind
from usannotate.export._common import ExportError, FrameChoice, Progress
from usannotate.export._imageset import (
    FrameProgress,
    PngWriter,
    frame_image,
    image_name,
    label_index,
    loop_frames,
    split_loops,
)
from usannotate.export._imageset_jobs import InItsSplit, PartialExport, loop_parts

__all__ = ["SOURCE_COLUMNS", "write_yolo"]

#: The columns of ``sources.csv``.
SOURCE_COLUMNS = ("label_file", "line", "loop", "frame", "class", "track_id", "source")


def write_yolo(
    loops: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    frames: FrameChoice = FrameChoice.ANNOTATED,
    *,
    val_fraction: float = 0.0,
    seed: int = 0,
    progress: Progress | None = None,
    frame_progress: FrameProgress | None = None,
    jobs: int = 1,
) -> Path:
    """Write a YOLO segmentation data set of the loops' regions into ``output``; returns
    the path of ``data.yaml``. ``jobs``: loops written at once, each in its own process
    (the data set is the same).

    Raises
    ------
    ExportError
        No region is marked on the loops, a loop cannot be read.
    PartialExport
        With ``jobs`` above 1: some loops failed (the data set of the others is written).
    OSError
        A file could not be written.
    """
    import yaml

    paths = [Path(p) for p in loops]
    splits = split_loops(paths, val_fraction, seed)
    labels = [label for label in label_index(paths) if label.kind is ShapeKind.REGION]
    if not labels:
        raise ExportError("no region is marked on these loops (YOLO-seg holds regions only)")
    classes = {label.id: number for number, label in enumerate(labels)}
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    parts, failed = loop_parts(
        InItsSplit(_yolo_loop, out, splits, frames, classes),
        paths,
        jobs=jobs,
        progress=progress,
        frame_progress=frame_progress,
    )
    sources = io.StringIO()
    table = csv.writer(sources, lineterminator="\n")
    table.writerow(SOURCE_COLUMNS)
    for _, rows in parts:
        table.writerows(rows)
    data = {
        "path": str(out.resolve()),  # Ultralytics resolves relative paths elsewhere
        "train": "images/train",
        "val": "images/val" if "val" in splits.values() else "images/train",
        "names": {
            number: label.name for label, number in zip(labels, classes.values(), strict=True)
        },
    }
    write_atomically(out / "sources.csv", sources.getvalue().encode())
    path = out / "data.yaml"
    write_atomically(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode())
    if failed:
        raise PartialExport([path], failed, len(paths))
    return path


def _yolo_loop(
    out: Path,
    split: str,
    frames: FrameChoice,
    classes: dict[str, int],
    dicom: Path,
    frame_progress: FrameProgress | None,
) -> list[list[object]]:
    """One loop's frames (PNG) and label files written; returns its rows of
    ``sources.csv``."""
    rows: list[list[object]] = []
    with PngWriter() as pngs:
        for work, _, frame, marks in loop_frames([dicom], frames, None, frame_progress):
            name = image_name(dicom, frame)
            pngs.submit(out / "images" / split / name, frame_image(work, frame))
            size = np.array([work.loop.columns, work.loop.rows], dtype=np.float64)
            lines = []
            label_file = f"labels/{split}/{name[:-4]}.txt"
            for mark in marks:
                if mark.label.id not in classes:
                    continue
                normalised = np.clip(mark.points / size, 0.0, 1.0).reshape(-1)
                lines.append(
                    f"{classes[mark.label.id]} " + " ".join(f"{v:.6f}" for v in normalised)
                )
                rows.append(
                    [
                        label_file,
                        len(lines),
                        dicom.name,
                        frame,
                        classes[mark.label.id],
                        mark.track_id,
                        mark.source.value,
                    ]
                )
            target = out / label_file
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, "".join(f"{line}\n" for line in lines).encode())
    return rows
