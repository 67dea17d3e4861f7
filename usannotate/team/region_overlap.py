"""Dice and IoU of two region outlines rasterised at the image's resolution (no Qt).

A pixel belongs to an outline when its centre ``(c + 0.5, r + 0.5)`` lies inside (even-odd
rule; a centre exactly on a left or top edge is inside, on a right or bottom edge outside,
so outlines that tile the image share no pixel). :func:`fill_outline` draws that mask;
:func:`overlap_batch` counts the same pixels without drawing them: on each scanline an
outline covers whole runs of pixels between its sorted edge crossings, so the pixels of
each outline and of both are sums of run lengths, for many frames in one array operation.

Coordinates: ``(x, y)`` = (column, row) in image pixels, ``(0, 0)`` at the top-left
corner of the top-left pixel.
"""

from __future__ import annotations

import math

import numpy as np

#: Elements (frames x scanlines x vertices) of the temporary arrays of one batch.
_BATCH_ELEMENTS = 1 << 20


def fill_outline(outline: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A ``(rows, columns)`` bool mask of the pixels whose centre ``(c + 0.5, r + 0.5)``
    lies inside the closed outline (even-odd rule; a centre exactly on a left or top edge
    is inside, on a right or bottom edge outside, so outlines that tile the image share
    no pixel).

    Written here, by scanlines, because neither OpenCV's fillPoly (it also takes pixels
    an edge merely touches: a 20 px square comes out 21 px wide) nor a library the
    package already depends on tests pixel centres exactly; scikit-image's ``polygon``
    would, at the price of a new dependency. The agreement counts these pixels with
    :func:`overlap_batch` instead (the same arithmetic, without drawing); this mask is
    what its tests hold it to.
    """
    columns, rows = size
    start = np.asarray(outline, dtype=np.float64)
    end = np.roll(start, -1, axis=0)
    centres = np.arange(rows) + 0.5
    y0, y1 = start[:, 1][None, :], end[:, 1][None, :]
    yc = centres[:, None]
    # Half-open in y, so a vertex on a scanline is counted once.
    crosses = ((y0 <= yc) & (yc < y1)) | ((y1 <= yc) & (yc < y0))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = start[:, 0][None, :] + (yc - y0) * (end[:, 0] - start[:, 0])[None, :] / (y1 - y0)
    x = np.where(crosses, x, np.inf)
    x.sort(axis=1)
    counts = crosses.sum(axis=1)
    # Spans [x_in, x_out): pixel c is inside when x_in <= c + 0.5 < x_out.
    edges = np.zeros((rows, columns + 1), dtype=np.int32)
    for k in range(0, int(counts.max(initial=0)), 2):
        has = counts > k + 1
        left = np.clip(np.ceil(x[has, k] - 0.5), 0, columns).astype(np.int64)
        right = np.clip(np.ceil(x[has, k + 1] - 0.5), 0, columns).astype(np.int64)
        rows_with = np.nonzero(has)[0]
        np.add.at(edges, (rows_with, left), 1)
        np.add.at(edges, (rows_with, right), -1)
    return np.cumsum(edges, axis=1)[:, :columns] > 0


def overlap(a: np.ndarray, b: np.ndarray, image_size: tuple[int, int]) -> tuple[float, float]:
    """``(dice, iou)`` of two outlines (image pixels, pixel-corner convention) rasterised
    at the image's resolution (``image_size`` = ``(columns, rows)``): a pixel is inside
    when its centre is (see :func:`fill_outline`); 0 and 0 when neither covers a pixel."""
    dice, iou = overlap_batch([a], [b], image_size)
    return float(dice[0]), float(iou[0])


def overlap_batch(
    outlines_a: list[np.ndarray], outlines_b: list[np.ndarray], image_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`overlap` of many pairs (the frames of two tracks): ``(dice, iou)``, one
    value per pair. Pairs of the same vertex counts are counted together; only the box
    holding both outlines of a pair (1 px around them, within the image) is looked at,
    and the arithmetic is :func:`fill_outline`'s in that box, so the counts are exact."""
    n = len(outlines_a)
    dice = np.zeros(n)
    iou = np.zeros(n)
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (a, b) in enumerate(zip(outlines_a, outlines_b, strict=True)):
        groups.setdefault((len(a), len(b)), []).append(index)
    for (count_a, count_b), members in groups.items():
        a = np.stack([np.asarray(outlines_a[i], dtype=np.float64) for i in members])
        b = np.stack([np.asarray(outlines_b[i], dtype=np.float64) for i in members])
        origin, widths, heights = _boxes(a, b, image_size)
        order = np.argsort(heights, kind="stable")
        vertices = max(count_a, count_b)
        begin = 0
        while begin < len(order):
            end = begin + 1
            while (
                end < len(order)
                and (end + 1 - begin) * max(int(heights[order[end]]), 1) * vertices
                <= _BATCH_ELEMENTS
            ):
                end += 1
            part = order[begin:end]
            scan_rows = max(int(heights[part].max()), 1)
            shift = origin[part][:, None, :]
            runs_a = _runs(a[part] - shift, heights[part], widths[part], scan_rows)
            runs_b = _runs(b[part] - shift, heights[part], widths[part], scan_rows)
            inter, sizes = _counts(runs_a, runs_b)
            union = sizes - inter
            rows = np.asarray(members)[part]
            dice[rows] = np.divide(2.0 * inter, sizes, out=np.zeros(len(part)), where=sizes > 0)
            iou[rows] = np.divide(inter, union, out=np.zeros(len(part)), where=sizes > 0)
            begin = end
    return dice, iou


def _boxes(
    a: np.ndarray, b: np.ndarray, image_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair, the box's top-left corner ``(B, 2)`` (whole px) and its width and height
    ``(B,)`` (0 where the box is empty: both outlines outside the image)."""
    columns, rows = image_size
    low = np.minimum(a.min(axis=1), b.min(axis=1))
    high = np.maximum(a.max(axis=1), b.max(axis=1))
    # In floats (whole numbers, exact) so that coordinates far outside cannot overflow.
    start = np.maximum(np.floor(low) - 1.0, 0.0)
    stop = np.minimum(np.ceil(high) + 1.0, np.array([float(columns), float(rows)]))
    empty = (stop <= start).any(axis=1)
    start[empty] = 0.0
    stop[empty] = 0.0
    size = (stop - start).astype(np.int64)
    return start, size[:, 0], size[:, 1]


def _runs(
    outlines: np.ndarray, heights: np.ndarray, widths: np.ndarray, scan_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """The runs of pixels inside each outline ``(B, V, 2)`` (in its box's coordinates) on
    each of ``scan_rows`` scanlines: ``(left, right)`` column indices ``(B, scan_rows, K)``,
    pixel ``c`` inside when ``left <= c < right``; rows beyond a box's height, and runs
    an outline has fewer of than K, are empty (``left == right == 0``). Runs of one
    scanline are disjoint and in order."""
    start = outlines
    end = np.roll(start, -1, axis=1)
    yc = (np.arange(scan_rows) + 0.5)[None, :, None]
    y0, y1 = start[:, None, :, 1], end[:, None, :, 1]
    # Half-open in y, so a vertex on a scanline is counted once.
    crosses = ((y0 <= yc) & (yc < y1)) | ((y1 <= yc) & (yc < y0))
    crosses &= (np.arange(scan_rows)[None, :] < heights[:, None])[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = start[:, None, :, 0] + (yc - y0) * (end[:, :, 0] - start[:, :, 0])[:, None, :] / (
            y1 - y0
        )
    x = np.where(crosses, x, np.inf)
    x.sort(axis=2)
    counts = crosses.sum(axis=2)
    pairs = math.ceil(int(counts.max(initial=0)) / 2)
    shape = (len(outlines), scan_rows, pairs)
    left = np.zeros(shape, dtype=np.int64)
    right = np.zeros(shape, dtype=np.int64)
    limit = widths[:, None].astype(np.float64)
    # Spans [x_in, x_out): pixel c is inside when x_in <= c + 0.5 < x_out.
    for run in range(pairs):
        k = 2 * run
        has = counts > k + 1
        if k + 1 >= x.shape[2]:
            break
        lo = np.clip(np.ceil(x[:, :, k] - 0.5), 0.0, limit)
        hi = np.clip(np.ceil(x[:, :, k + 1] - 0.5), 0.0, limit)
        left[:, :, run] = np.where(has, lo, 0.0).astype(np.int64)
        right[:, :, run] = np.where(has, hi, 0.0).astype(np.int64)
    return left, right


def _counts(
    runs_a: tuple[np.ndarray, np.ndarray], runs_b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, the pixels both outlines cover and the sum of each one's pixels."""
    la, ra = runs_a
    lb, rb = runs_b
    sizes = (ra - la).sum(axis=(1, 2)) + (rb - lb).sum(axis=(1, 2))
    # Runs of one outline are disjoint, so the overlaps of every run of a with every run
    # of b are too, and they add up.
    shared = np.minimum(ra[..., :, None], rb[..., None, :]) - np.maximum(
        la[..., :, None], lb[..., None, :]
    )
    inter = np.clip(shared, 0, None).sum(axis=(1, 2, 3))
    return inter, sizes


__all__ = ["fill_outline", "overlap", "overlap_batch"]
