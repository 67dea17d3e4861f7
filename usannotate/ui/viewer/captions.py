"""Where a mark's caption goes: beside the mark, never over its line, outline or tip.

Plain geometry on arrays (no Qt), in image pixels; sizes that are constant on screen
(captions, gaps, the needle's tip ring) are given in screen pixels with the view's
``scale`` (screen px per image px). Each caption tries places around its mark's anchors
(for a needle: its tip, then its entry) in a fixed order, and takes the first that keeps
off its own mark, stays in the image and covers no other caption or mark; failing that,
the place that does least harm (its own mark is the last thing it may cover).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

#: Sides tried around an anchor, as (dx, dy): above right first, as captions read
#: best above a line; then above left, above, below right, below left, below, right, left.
SIDES = ((1, -1), (-1, -1), (0, -1), (1, 1), (-1, 1), (0, 1), (1, 0), (-1, 0))
#: Screen pixels kept free around a mark's line (its width and halo are ~5 px).
KEEP_OFF_PX = 4.0

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1), image px


@dataclass(frozen=True)
class Anchor:
    """A point a caption may sit beside, ``gap_px`` screen pixels away from it."""

    x: float
    y: float
    gap_px: float = 4.0


@dataclass
class Footprint:
    """What of a mark a caption must not cover, in image px.

    ``points`` is the line (``(n, 2)``, ``(x, y)``), its inside too when ``closed``;
    ``discs`` are ``(x, y, radius in screen px)`` markers (a needle's tip ring, a point);
    ``segments`` are more lines (``(m, 2, 2)``: a needle's dashed trajectory).
    """

    points: np.ndarray
    closed: bool = False
    discs: Sequence[tuple[float, float, float]] = ()
    segments: np.ndarray | None = None
    anchors: Sequence[Anchor] = ()
    _lines: np.ndarray | None = field(default=None, repr=False)

    def lines(self) -> np.ndarray:
        """Every segment, ``(k, 2, 2)``."""
        if self._lines is None:
            pts = np.asarray(self.points, dtype=float).reshape(-1, 2)
            if self.closed and len(pts) > 2:
                pts = np.vstack([pts, pts[:1]])
            if len(pts) >= 2:
                lines = np.stack([pts[:-1], pts[1:]], axis=1)
            else:
                lines = np.repeat(pts[:, None, :], 2, axis=1)  # a point: a null segment
            if self.segments is not None and len(self.segments):
                lines = np.concatenate([lines, np.asarray(self.segments, dtype=float)])
            self._lines = lines
        return self._lines

    def bounds(self, scale: float) -> Box:
        lines = self.lines().reshape(-1, 2)
        x0, y0 = lines.min(axis=0)
        x1, y1 = lines.max(axis=0)
        for x, y, radius in self.discs:
            r = radius / scale
            x0, y0, x1, y1 = min(x0, x - r), min(y0, y - r), max(x1, x + r), max(y1, y + r)
        return float(x0), float(y0), float(x1), float(y1)


def _boxes_hit_lines(boxes: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """For each box ``(c, 4)``, whether any segment of ``lines`` ``(k, 2, 2)`` meets it:
    their bounding boxes overlap and the box's corners are not all on one side of the
    segment's line (the corner extremes of ``a x + b y`` taken per axis). ``(c,)`` bool."""
    if not len(lines) or not len(boxes):
        return np.zeros(len(boxes), bool)
    p0, p1 = lines[:, 0], lines[:, 1]
    low, high = np.minimum(p0, p1), np.maximum(p0, p1)
    bx0, by0, bx1, by1 = (boxes[:, i : i + 1] for i in range(4))  # (c, 1) each
    overlap = (low[:, 0] <= bx1) & (high[:, 0] >= bx0) & (low[:, 1] <= by1) & (high[:, 1] >= by0)
    a = p1[:, 1] - p0[:, 1]
    b = p0[:, 0] - p1[:, 0]
    c = -(a * p0[:, 0] + b * p0[:, 1])
    ax0, ax1, by_0, by_1 = a * bx0, a * bx1, b * by0, b * by1
    lowest = np.minimum(ax0, ax1) + np.minimum(by_0, by_1) + c
    highest = np.maximum(ax0, ax1) + np.maximum(by_0, by_1) + c
    return (overlap & (lowest <= 0) & (highest >= 0)).any(axis=1)


def _inside_polygon(points: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Even-odd test of points ``xy`` ``(c, 2)`` against a closed polygon. ``(c,)``."""
    poly = np.asarray(points, dtype=float)
    x, y = xy[:, 0:1], xy[:, 1:2]
    ax, ay = poly[:, 0][None], poly[:, 1][None]
    bx, by = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    crosses = (ay > y) != (by > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at_x = ax + (y - ay) * (bx - ax) / (by - ay)
    return (crosses & (x < at_x)).sum(axis=1) % 2 == 1


def boxes_hit(footprint: Footprint, boxes: np.ndarray, scale: float) -> np.ndarray:
    """Which ``boxes`` ``(c, 4)`` (image px) cover part of ``footprint``, counting
    :data:`KEEP_OFF_PX` around its lines. ``(c,)`` bool."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    keep = KEEP_OFF_PX / scale
    grown = boxes + np.array([-keep, -keep, keep, keep])
    hit = _boxes_hit_lines(grown, footprint.lines())
    for x, y, radius in footprint.discs:
        nearest_x = np.clip(x, grown[:, 0], grown[:, 2])
        nearest_y = np.clip(y, grown[:, 1], grown[:, 3])
        hit |= np.hypot(nearest_x - x, nearest_y - y) <= radius / scale
    if footprint.closed and len(footprint.points) >= 3:
        centres = np.column_stack(
            [(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
        )
        hit |= _inside_polygon(footprint.points, centres)
    return hit


_SIDES = np.array(SIDES, dtype=float)
_OUTWARD = _SIDES[:, 1] != 0  # the sides tried again further out


def _candidates(
    anchors: Sequence[Anchor], size: tuple[float, float], scale: float, ring: int
) -> np.ndarray:
    """Caption boxes beside each anchor, on each of :data:`SIDES`, in order; ``ring`` 1
    and 2 put them one and two caption heights further out (a caption wider than the
    room beside a small mark, pushed back into the image, would land on it): above and
    below only, beside further out is rarely free either. ``(c, 4)``."""
    width, height = size[0] / scale, size[1] / scale
    sides = _SIDES if ring == 0 else _SIDES[_OUTWARD]
    if not anchors:
        return np.zeros((0, 4))
    points = np.array([(a.x, a.y) for a in anchors], dtype=float)[:, None, :]  # (a, 1, 2)
    gaps = np.array([a.gap_px for a in anchors], dtype=float)[:, None] / scale + ring * height
    dx, dy = sides[None, :, 0], sides[None, :, 1]
    x0 = np.where(dx > 0, points[..., 0] + gaps, points[..., 0] - gaps - width)
    x0 = np.where(dx == 0, points[..., 0] - width / 2, x0)
    y0 = np.where(dy > 0, points[..., 1] + gaps, points[..., 1] - gaps - height)
    y0 = np.where(dy == 0, points[..., 1] - height / 2, y0)
    x0, y0 = x0.ravel(), y0.ravel()
    return np.column_stack([x0, y0, x0 + width, y0 + height])


def _clamped(boxes: np.ndarray, bounds: Box | None) -> np.ndarray:
    if bounds is None:
        return boxes
    x0, y0, x1, y1 = bounds
    width = boxes[:, 2] - boxes[:, 0]
    height = boxes[:, 3] - boxes[:, 1]
    left = np.clip(boxes[:, 0], x0, np.maximum(x0, x1 - width))
    top = np.clip(boxes[:, 1], y0, np.maximum(y0, y1 - height))
    return np.column_stack([left, top, left + width, top + height])


def _overlapping(boxes: np.ndarray, others: Sequence[Box]) -> np.ndarray:
    """Which ``boxes`` ``(c, 4)`` overlap any of ``others``. ``(c,)`` bool."""
    if not others:
        return np.zeros(len(boxes), bool)
    o = np.asarray(others, dtype=float)[None]  # (1, p, 4)
    b = boxes[:, None, :]
    return (
        (b[..., 0] < o[..., 2])
        & (o[..., 0] < b[..., 2])
        & (b[..., 1] < o[..., 3])
        & (o[..., 1] < b[..., 3])
    ).any(axis=1)


class _Occupancy:
    """Every mark drawn into a grid of 2 x 2 screen pixel cells, as an integral image,
    so "does this box cover some mark" costs four look-ups (OpenCV rasterises: per-box
    geometry against every other mark was 10x slower than drawing the frame)."""

    CELL_PX = 2.0

    def __init__(
        self,
        footprints: Sequence[Footprint],
        scale: float,
        area: Box,
        keep_clear: np.ndarray | None = None,
    ) -> None:
        x0, y0, x1, y1 = area
        self.cell = max(self.CELL_PX / scale, 1e-3)
        self.origin = np.array([x0, y0])
        columns = max(1, min(4096, int(np.ceil((x1 - x0) / self.cell)) + 1))
        rows = max(1, min(4096, int(np.ceil((y1 - y0) / self.cell)) + 1))
        grid = np.zeros((rows, columns), np.uint8)
        for footprint in footprints:
            cells = np.rint(
                (np.asarray(footprint.points, float).reshape(-1, 2) - self.origin) / self.cell
            ).astype(np.int32)
            if footprint.closed and len(cells) >= 3:
                cv2.fillPoly(grid, [cells], 1)
            elif len(cells) >= 2:
                cv2.polylines(grid, [cells], False, 1, 1)
            lines = footprint.segments
            if lines is not None:
                for a, b in np.rint((np.asarray(lines, float) - self.origin) / self.cell):
                    cv2.line(grid, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 1, 1)
            for x, y, radius in footprint.discs:
                centre = np.rint((np.array([x, y]) - self.origin) / self.cell).astype(int)
                r = max(1, round(radius / self.CELL_PX))
                cv2.circle(grid, (int(centre[0]), int(centre[1])), r, 1, -1)
        if keep_clear is not None and keep_clear.any() and x0 == 0 and y0 == 0:
            # The image's own text (its banner, the scanner's depth scale), as if marks.
            cells = cv2.resize(
                keep_clear.astype(np.uint8) * 255, (columns, rows), interpolation=cv2.INTER_AREA
            )
            grid |= (cells > 0).astype(np.uint8)
        self.integral = cv2.integral(grid)
        self.shape = grid.shape

    def covered(self, boxes: np.ndarray) -> np.ndarray:
        """Which ``boxes`` ``(c, 4)`` hold a drawn cell (one cell in from their edges, so
        a mark just beside a box does not count). ``(c,)`` bool."""
        rows, columns = self.shape
        lo = np.floor((boxes[:, :2] - self.origin) / self.cell).astype(int) + 1
        hi = np.ceil((boxes[:, 2:] - self.origin) / self.cell).astype(int) - 1
        cx0, cx1 = np.clip(lo[:, 0], 0, columns), np.clip(hi[:, 0], 0, columns)
        cy0, cy1 = np.clip(lo[:, 1], 0, rows), np.clip(hi[:, 1], 0, rows)
        total = self.integral
        count = total[cy1, cx1] - total[cy0, cx1] - total[cy1, cx0] + total[cy0, cx0]
        return (count > 0) & (cx1 > cx0) & (cy1 > cy0)


def place_captions(
    footprints: Sequence[Footprint],
    sizes_px: Sequence[tuple[float, float]],
    scale: float,
    bounds: Box | None = None,
    keep_clear: np.ndarray | None = None,
) -> list[Box]:
    """A box (image px) for each mark's caption of ``sizes_px`` (screen px), in order:
    earlier marks choose first. ``bounds`` keeps the captions inside the image, whose
    ``(rows, columns)`` bool mask ``keep_clear`` (with ``bounds`` at the image origin)
    says where the image holds text of its own, avoided like other marks.

    A place's cost: 100 if it covers its own mark, 10 if it covers a caption placed
    before, 1 if it covers another mark or the image's text; the first place of least
    cost wins.
    """
    scale = max(float(scale), 1e-6)
    if not footprints:
        return []
    extents = np.array([f.bounds(scale) for f in footprints])
    area = bounds or (
        float(extents[:, 0].min()) - 200.0 / scale,
        float(extents[:, 1].min()) - 200.0 / scale,
        float(extents[:, 2].max()) + 200.0 / scale,
        float(extents[:, 3].max()) + 200.0 / scale,
    )
    occupancy = _Occupancy(footprints, scale, area, keep_clear)
    placed: list[Box] = []
    for footprint, size in zip(footprints, sizes_px, strict=True):
        best, best_cost = None, None
        for ring in range(3):  # further out only when nothing near is free
            boxes = _clamped(_candidates(footprint.anchors, size, scale, ring), bounds)
            if not len(boxes):
                break
            cost = (
                100 * boxes_hit(footprint, boxes, scale)
                + 10 * _overlapping(boxes, placed)
                + occupancy.covered(boxes)
            )
            index = int(np.argmin(cost))  # the first of least cost: the order is the taste
            if best_cost is None or cost[index] < best_cost:
                best, best_cost = boxes[index], int(cost[index])
            if best_cost == 0:
                break
        if best is None:
            placed.append((0.0, 0.0, 0.0, 0.0))
            continue
        placed.append((float(best[0]), float(best[1]), float(best[2]), float(best[3])))
    return placed
