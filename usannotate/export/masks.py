"""Index-mask export: per frame a PNG of label indices, with the frame and a label map.

No Qt. ``masks/<loop>_f<frame>.png`` holds 0 for the background and 1..N for the labels
(``labelmap.json``; 16-bit PNG past 255 labels), regions filled, lines (planes, needle)
drawn ``line_width_px`` wide, points as discs of that diameter, later tracks over
earlier ones; ``images/`` the frames; ``frames.json`` every mask's loop, 0-based frame
and the tracks on it with their source (keyframe, tracked, interpolated).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from usannotate._atomic import write_atomically
from usannotate.annotations import ShapeKind
from usannotate.export._common import ExportError, FrameChoice, Progress
from usannotate.export._imageset import (
    FrameProgress,
    Mark,
    PngWriter,
    frame_image,
    image_name,
    label_index,
    loop_frames,
)

__all__ = ["draw_line", "fill_polygon", "mask_of", "write_masks"]


def fill_polygon(mask: np.ndarray, points: np.ndarray, value: int) -> None:
    """Set to ``value`` every pixel of ``mask`` whose centre lies inside the polygon
    (even-odd rule; ``(x, y)`` px with ``(0, 0)`` the image's top-left corner).

    Written here rather than with ``cv2.fillPoly``, which also fills every pixel the
    outline touches: a mask's area then exceeds the polygon's by half its perimeter.
    Sampling at pixel centres keeps the two within a fraction of the perimeter.
    """
    rows, columns = mask.shape
    x, y = np.asarray(points, dtype=np.float64).T
    x2, y2 = np.roll(x, -1), np.roll(y, -1)
    top = max(int(np.floor(y.min())), 0)
    bottom = min(int(np.ceil(y.max())), rows)
    for row in range(top, bottom):
        centre = row + 0.5
        crossing = (y <= centre) != (y2 <= centre)
        if not crossing.any():
            continue
        t = (centre - y[crossing]) / (y2[crossing] - y[crossing])
        xs = np.sort(x[crossing] + t * (x2[crossing] - x[crossing]))
        for left, right in zip(xs[::2], xs[1::2], strict=False):
            # Pixel i's centre is i + 0.5: inside when left <= i + 0.5 < right.
            first = max(int(np.ceil(left - 0.5)), 0)
            last = min(int(np.ceil(right - 0.5)), columns)
            if last > first:
                mask[row, first:last] = value


def draw_line(mask: np.ndarray, points: np.ndarray, width_px: float, value: int) -> None:
    """Draw an open polyline ``width_px`` wide with round ends: every pixel whose centre
    lies within ``width_px / 2`` of the polyline (one point: a disc), so the drawn area
    is the band's, ``width x length`` plus the two half-disc ends.

    Not ``cv2.polylines`` with a thickness: its thick lines come out 2 px wider than asked
    (a thickness of 5 covers 7 rows), which a mask's line width option must not do.
    """
    rows, columns = mask.shape
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 1:
        points = np.vstack([points, points])
    half = width_px / 2.0
    for start, end in itertools.pairwise(points):
        x0 = max(int(np.floor(min(start[0], end[0]) - half)), 0)
        x1 = min(int(np.ceil(max(start[0], end[0]) + half)) + 1, columns)
        y0 = max(int(np.floor(min(start[1], end[1]) - half)), 0)
        y1 = min(int(np.ceil(max(start[1], end[1]) + half)) + 1, rows)
        if x1 <= x0 or y1 <= y0:
            continue
        xs = np.arange(x0, x1) + 0.5 - start[0]  # pixel centres, relative to the start
        ys = (np.arange(y0, y1) + 0.5 - start[1])[:, None]
        step = end - start
        squared = float(step @ step)
        t = 0.0 if squared == 0 else np.clip((xs * step[0] + ys * step[1]) / squared, 0, 1)
        distance2 = (xs - t * step[0]) ** 2 + (ys - t * step[1]) ** 2
        mask[y0:y1, x0:x1][distance2 <= half * half] = value


def mask_of(
    shape: tuple[int, int], marks: Sequence[Mark], indices: dict[str, int], line_width_px: int
) -> np.ndarray:
    """The index mask of one frame: ``(rows, columns)`` uint8 (uint16 past 255 labels)."""
    dtype = np.uint8 if max(indices.values(), default=0) <= 255 else np.uint16
    mask = np.zeros(shape, dtype=dtype)
    for mark in marks:
        value = indices.get(mark.label.id)
        if value is None:
            continue
        if mark.kind is ShapeKind.REGION:
            fill_polygon(mask, mark.points, value)
        elif mark.kind is ShapeKind.POINT:
            draw_line(mask, mark.points[:1], line_width_px, value)
        else:
            draw_line(mask, mark.points, line_width_px, value)
    return mask


def write_masks(
    loops: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    frames: FrameChoice = FrameChoice.ANNOTATED,
    *,
    line_width_px: int = 3,
    progress: Progress | None = None,
    frame_progress: FrameProgress | None = None,
) -> Path:
    """Write index masks of the loops' frames into the folder ``output``; returns the
    path of ``labelmap.json``.

    Raises
    ------
    ExportError
        ``line_width_px`` below 1, a loop that cannot be read, nothing marked.
    OSError
        A file could not be written.
    """
    if line_width_px < 1:
        raise ExportError(f"--line-width-px {line_width_px} must be 1 or more")
    paths = [Path(p) for p in loops]
    labels = label_index(paths)
    if not labels:
        raise ExportError("nothing is marked on these loops")
    indices = {label.id: number for number, label in enumerate(labels, 1)}
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    listed = []
    with PngWriter() as pngs:
        for work, dicom, frame, marks in loop_frames(paths, frames, progress, frame_progress):
            name = image_name(dicom, frame)
            shape = (work.loop.rows, work.loop.columns)
            pngs.submit(out / "masks" / name, mask_of(shape, marks, indices, line_width_px))
            pngs.submit(out / "images" / name, frame_image(work, frame))
            listed.append(
                {
                    "mask": f"masks/{name}",
                    "image": f"images/{name}",
                    "loop": dicom.name,
                    "frame": frame,
                    "tracks": [
                        {"track_id": m.track_id, "label_id": m.label.id, "source": m.source.value}
                        for m in marks
                    ],
                }
            )
    labelmap = {
        "background": 0,
        "line_width_px": line_width_px,
        "labels": [
            {
                "index": indices[label.id],
                "id": label.id,
                "name": label.name,
                "kind": label.kind.value,
                "colour": label.colour,
            }
            for label in labels
        ],
    }
    write_atomically(out / "frames.json", (json.dumps(listed, indent=1) + "\n").encode())
    path = out / "labelmap.json"
    write_atomically(path, (json.dumps(labelmap, indent=1) + "\n").encode())
    return path
