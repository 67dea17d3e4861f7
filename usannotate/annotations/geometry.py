"""Plane geometry of marks, shared by the measurements and the marking tools (no Qt).

Points are ``(N, 2)`` arrays of ``(x, y)`` = (column, row), in whatever unit the caller
works in (image px for hit-testing, mm after scaling for measuring).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "NearestPoint",
    "inside_region",
    "nearest_on_outline",
    "nearest_vertex",
    "segments",
    "simplify_outline",
    "snap_into_rects",
]


def segments(points: np.ndarray, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of an outline's segments: segment ``i`` runs from point ``i``
    to point ``i + 1``, and for a closed outline the last one back to point 0."""
    starts = points if closed else points[:-1]
    ends = np.roll(points, -1, axis=0) if closed else points[1:]
    return starts, ends


@dataclass(frozen=True)
class NearestPoint:
    """The point of an outline nearest to a given point.

    Attributes
    ----------
    distance
        How far the given point is from the outline.
    segment
        Index of the segment the nearest point lies on (see :func:`segments`).
    t
        Where on that segment: 0 at its start, 1 at its end.
    foot
        The nearest point itself, ``(x, y)``.
    """

    distance: float
    segment: int
    t: float
    foot: np.ndarray

    def arc_length(self, points: np.ndarray, closed: bool = False) -> float:
        """Length along the outline from its first point to :attr:`foot`."""
        if len(points) < 2:
            return 0.0
        starts, ends = segments(np.asarray(points, dtype=np.float64), closed)
        lengths = np.hypot(*(ends - starts).T)
        return float(lengths[: self.segment].sum() + self.t * lengths[self.segment])


def nearest_on_outline(points: np.ndarray, closed: bool, at: np.ndarray) -> NearestPoint:
    """The point of a polyline (``closed`` False) or region outline nearest to ``at``.

    A one-point outline is that point. Zero-length segments are handled (their start is
    their nearest point).
    """
    points = np.asarray(points, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    if len(points) == 1:
        return NearestPoint(float(np.hypot(*(points[0] - at))), 0, 0.0, points[0].copy())
    starts, ends = segments(points, closed)
    direction = ends - starts
    length2 = np.einsum("ij,ij->i", direction, direction)
    t = np.einsum("ij,ij->i", at - starts, direction) / np.where(length2 > 0, length2, 1.0)
    t = np.clip(t, 0.0, 1.0)
    foot = starts + t[:, None] * direction
    distances = np.hypot(*(foot - at).T)
    index = int(np.argmin(distances))
    return NearestPoint(float(distances[index]), index, float(t[index]), foot[index])


def nearest_vertex(points: np.ndarray, at: np.ndarray) -> tuple[float, int]:
    """Distance from ``at`` to the nearest of ``points``, and that point's index."""
    distances = np.hypot(*(np.asarray(points, dtype=np.float64) - at).T)
    index = int(np.argmin(distances))
    return float(distances[index]), index


def inside_region(points: np.ndarray, at: np.ndarray) -> bool:
    """Whether ``at`` lies inside (or on) the closed outline ``points``."""
    contour = np.asarray(points, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(at[0]), float(at[1])), False) >= 0


def snap_into_rects(
    point: tuple[float, float],
    rects: list[tuple[float, float, float, float]],
    tolerance: float,
) -> tuple[float, float]:
    """``point`` moved onto the nearest edge of the nearest rectangle when it lies
    outside every one of them by at most ``tolerance``; otherwise unchanged.

    Rectangles are ``(left, top, right, bottom)``, edges included (a calibrated region
    ``[x0, y0, x1, y1]`` of inclusive pixel indices is ``(x0, y0, x1 + 1, y1 + 1)`` in
    image px). The marking tools use it so a point placed a hair outside a calibrated
    region lands on its edge and is measured in mm.
    """
    x, y = point
    best: tuple[float, float, float] | None = None
    for left, top, right, bottom in rects:
        nx, ny = min(max(x, left), right), min(max(y, top), bottom)
        distance = float(np.hypot(x - nx, y - ny))
        if distance == 0.0:
            return point  # inside (or on the edge of) a region: leave it
        if distance <= tolerance and (best is None or distance < best[0]):
            best = (distance, nx, ny)
    return point if best is None else (best[1], best[2])


def simplify_outline(points: np.ndarray, epsilon: float) -> np.ndarray:
    """A closed outline with fewer points, none moved more than ``epsilon`` (Douglas-
    Peucker, OpenCV's ``approxPolyDP``); unchanged if that would leave fewer than 3."""
    contour = points.astype(np.float32).reshape(-1, 1, 2)
    simplified = cv2.approxPolyDP(contour, epsilon, True).reshape(-1, 2).astype(np.float64)
    return simplified if len(simplified) >= 3 else points
