"""Index-mask export: per frame a PNG of label indices, with the frame and a label map.

No Qt. ``masks/<loop>_f<frame>.png`` holds 0 for the background and 1..N for the labels
(``labelmap.json``; 16-bit PNG past 255 labels), regions filled, lines (planes, needle)
drawn ``line_width_px`` wide, points as discs of that diameter, later tracks over
earlier ones; ``images/`` the frames; ``frames.json`` every mask's loop, 0-based frame
and the tracks on it with their source (keyframe, tracked, interpolated).
"""

from __future__ import annotations

import functools
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
from usannotate.export._imageset_jobs import PartialExport, loop_parts

__all__ = ["draw_line", "fill_polygon", "mask_of", "write_masks"]

#: Segments whose window is at most this many px a side are drawn in one batch.
_BATCH_PX = 48


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
    is the band's, ``width x length`` plus the two half-disc ends, at any angle.

    Not ``cv2.polylines`` with a thickness: a thickness ``t`` draws ``2 * ((t + 1) // 2)
    + 1`` rows (5 covers 7), no thickness gives an even width, and thin diagonal bands
    come out up to 18% too wide (measured), which a mask's line width must not do.
    Segments whose window fits :data:`_BATCH_PX` are measured together, in one array.
    """
    rows, columns = mask.shape
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 1:
        points = np.vstack([points, points])
    half = width_px / 2.0
    # Long segments in pieces of at most _BATCH_PX / 2: a band is the union of its
    # pieces' bands, and small pieces are measured in one batch over small windows (a
    # needle across the image was one window of 250 x 150 px, mostly empty).
    starts, ends = _pieces(points[:-1], points[1:], _BATCH_PX / 2)
    low = np.floor(np.minimum(starts, ends) - half).astype(np.int64)
    high = np.ceil(np.maximum(starts, ends) + half).astype(np.int64) + 1
    low = np.maximum(low, 0)
    high = np.minimum(high, [columns, rows])
    small = np.all(high - low <= _BATCH_PX, axis=1)
    for batch in (np.flatnonzero(small), *([i] for i in np.flatnonzero(~small))):
        if len(batch) == 0:
            continue
        size = int(np.max(high[batch] - low[batch]))
        if size <= 0:
            continue
        steps = np.arange(size)
        xs = low[batch, 0, None] + steps  # (S, size) pixel columns
        ys = low[batch, 1, None] + steps  # (S, size) pixel rows
        cx = (xs + 0.5 - starts[batch, 0, None])[:, None, :]  # centres, from the start
        cy = (ys + 0.5 - starts[batch, 1, None])[:, :, None]
        step = ends[batch] - starts[batch]
        squared = np.einsum("ij,ij->i", step, step)
        sx, sy = step[:, 0, None, None], step[:, 1, None, None]
        along = (cx * sx + cy * sy) / np.where(squared > 0, squared, 1.0)[:, None, None]
        along = np.clip(along, 0.0, 1.0)
        near = (cx - along * sx) ** 2 + (cy - along * sy) ** 2 <= half * half
        near &= (xs < columns)[:, None, :] & (ys < rows)[:, :, None]
        which, row, column = np.nonzero(near)
        mask[ys[which, row], xs[which, column]] = value


def _pieces(starts: np.ndarray, ends: np.ndarray, longest: float) -> tuple[np.ndarray, np.ndarray]:
    """The segments ``starts[i] -> ends[i]`` cut into equal pieces at most ``longest``
    long, in order (each segment's last piece ends exactly at its end)."""
    lengths = np.hypot(*(ends - starts).T)
    counts = np.maximum(np.ceil(lengths / longest).astype(np.int64), 1)
    which = np.repeat(np.arange(len(starts)), counts)
    k = np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
    step = (ends - starts)[which] / counts[which, None]
    piece_starts = starts[which] + step * k[:, None]
    last = (k == counts[which] - 1)[:, None]
    return piece_starts, np.where(last, ends[which], piece_starts + step)


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
    jobs: int = 1,
) -> Path:
    """Write index masks of the loops' frames into the folder ``output``; returns the
    path of ``labelmap.json``. ``jobs``: loops written at once, each in its own process
    (the data set is the same).

    Raises
    ------
    ExportError
        ``line_width_px`` below 1, a loop that cannot be read, nothing marked.
    PartialExport
        With ``jobs`` above 1: some loops failed (the data set of the others is written).
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
    parts, failed = loop_parts(
        functools.partial(_masks_loop, out, frames, indices, line_width_px),
        paths,
        jobs=jobs,
        progress=progress,
        frame_progress=frame_progress,
    )
    listed = [entry for _, entries in parts for entry in entries]
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
    if failed:
        raise PartialExport([path], failed, len(paths))
    return path


def _masks_loop(
    out: Path,
    frames: FrameChoice,
    indices: dict[str, int],
    line_width_px: int,
    dicom: Path,
    frame_progress: FrameProgress | None,
) -> list[dict]:
    """One loop's masks and frames written (PNG); returns its entries of
    ``frames.json``."""
    listed = []
    with PngWriter() as pngs:
        for work, _, frame, marks in loop_frames([dicom], frames, None, frame_progress):
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
    return listed
