"""Lucas-Kanade with a forward-backward check, and contour helpers, for the trackers."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# An affine motion needs 3 features; a RANSAC consensus needs a few more.
_MIN_AFFINE_FEATURES = 8

# All arrays here use OpenCV's pixel-centre coordinates: pixel (c, r) is the point (c, r).


@dataclass(frozen=True)
class FlowResult:
    """Where Lucas-Kanade moved some points, and which of them can be trusted.

    Attributes
    ----------
    moved
        ``(M, 2)`` float64 new positions (px, pixel-centre convention).
    good
        ``(M,)`` bool: found forward and backward, back within the forward-backward
        tolerance, and inside the next frame.
    fb_error_px
        ``(M,)`` float64 distance between each start point and where tracking it forward,
        then back again, lands (px); ``inf`` where either pass failed.
    """

    moved: np.ndarray
    good: np.ndarray
    fb_error_px: np.ndarray

    def median_fb_error_px(self) -> float:
        """Median forward-backward error of the points both passes found (px)."""
        finite = self.fb_error_px[np.isfinite(self.fb_error_px)]
        return float(np.median(finite)) if finite.size else float("inf")


def lucas_kanade(
    prev: np.ndarray,
    next_: np.ndarray,
    points: np.ndarray,
    *,
    window_px: int,
    pyramid_levels: int,
    max_fb_error_px: float,
    iterations: int,
    epsilon_px: float,
) -> FlowResult:
    """Track ``points`` from grey frame ``prev`` to ``next_`` and back again.

    A point whose backward track does not return near its start followed something other
    than the texture it started on (occlusion, speckle decorrelation, an edge it slid
    along), so it is marked bad (Kalal et al., "Forward-backward error", 2010).

    Parameters
    ----------
    prev, next_
        ``(rows, columns)`` uint8 grey frames.
    points
        ``(M, 2)`` positions in ``prev`` (px, pixel-centre convention).
    window_px, pyramid_levels, iterations, epsilon_px
        ``cv2.calcOpticalFlowPyrLK``'s window side, pyramid levels above the full
        resolution, and stop criteria.
    max_fb_error_px
        Forward-backward error above which a point is bad (px).

    Returns
    -------
    FlowResult
    """
    start = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 1, 2)
    if start.shape[0] == 0:
        empty = np.empty((0, 2))
        return FlowResult(empty, np.zeros(0, dtype=bool), np.empty(0))
    lk = {
        "winSize": (window_px, window_px),
        "maxLevel": pyramid_levels,
        "criteria": (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, epsilon_px),
    }
    forward, status_f, _ = cv2.calcOpticalFlowPyrLK(prev, next_, start, None, **lk)
    backward, status_b, _ = cv2.calcOpticalFlowPyrLK(next_, prev, forward, None, **lk)
    found = (status_f.ravel() == 1) & (status_b.ravel() == 1)
    fb = np.linalg.norm((backward - start).reshape(-1, 2), axis=1).astype(np.float64)
    fb[~found | ~np.isfinite(fb)] = np.inf
    moved = forward.reshape(-1, 2).astype(np.float64)
    rows, columns = next_.shape[:2]
    inside = (
        (moved[:, 0] >= -0.5)
        & (moved[:, 0] <= columns - 0.5)
        & (moved[:, 1] >= -0.5)
        & (moved[:, 1] <= rows - 0.5)
    )
    return FlowResult(moved, found & inside & (fb <= max_fb_error_px), fb)


def densify(vertices: np.ndarray, step_px: float, *, closed: bool) -> tuple[np.ndarray, ...]:
    """Sample a polyline (or closed outline) every ``step_px`` along its length.

    Parameters
    ----------
    vertices
        ``(N, 2)`` points (px).
    step_px
        Largest spacing of the samples along the contour (px); every vertex is a sample.
    closed
        True for an outline whose last vertex joins the first.

    Returns
    -------
    samples, sample_arc_px, vertex_arc_px, perimeter_px
        ``(M, 2)`` sample points, ``(M,)`` arc length of each sample from the first vertex
        (px), ``(N,)`` arc length of each vertex (px), and the total length (px).
    """
    ends = np.vstack([vertices, vertices[:1]]) if closed else vertices
    segments = np.diff(ends, axis=0)
    lengths = np.hypot(segments[:, 0], segments[:, 1])
    vertex_arc = np.concatenate([[0.0], np.cumsum(lengths)])
    samples = []
    arcs = []
    for a, delta, length, arc0 in zip(ends[:-1], segments, lengths, vertex_arc[:-1], strict=True):
        count = max(1, int(np.ceil(length / step_px)))
        t = np.arange(count) / count
        samples.append(a + t[:, None] * delta)
        arcs.append(arc0 + t * length)
    if not closed:
        samples.append(ends[-1:])
        arcs.append(vertex_arc[-1:])
    perimeter = float(vertex_arc[-1])
    return np.vstack(samples), np.concatenate(arcs), vertex_arc[: len(vertices)], perimeter


def local_displacements(
    vertex_arc: np.ndarray,
    sample_arc: np.ndarray,
    displacement: np.ndarray,
    good: np.ndarray,
    *,
    radius_px: float,
    perimeter_px: float | None,
    min_samples: int = 3,
) -> np.ndarray:
    """Move each vertex by the median displacement of the good samples near it.

    The median over a stretch of contour ignores the few samples that latched onto the
    wrong texture yet passed the forward-backward check, and keeps a local bend or growth
    (fluid spreading) that one rigid motion of the whole contour would flatten.

    Parameters
    ----------
    vertex_arc
        ``(N,)`` arc length of each vertex along the contour (px).
    sample_arc
        ``(M,)`` arc length of each tracked sample (px).
    displacement
        ``(M, 2)`` displacement of each sample (px).
    good
        ``(M,)`` bool, samples to use; at least one must be True.
    radius_px
        Samples within this arc length of a vertex vote for its displacement; when fewer
        than ``min_samples`` good ones are that close, the nearest good ones do.
    perimeter_px
        Length of a closed outline (arc distances wrap around), or None for an open line.

    Returns
    -------
    ``(N, 2)`` displacement of each vertex (px).
    """
    arc = sample_arc[good]
    moves = displacement[good]
    distance = np.abs(vertex_arc[:, None] - arc[None, :])
    if perimeter_px is not None:
        distance = np.minimum(distance, perimeter_px - distance)
    result = np.empty((len(vertex_arc), 2))
    k = min(min_samples, len(arc))
    for i, row in enumerate(distance):
        near = row <= radius_px
        if near.sum() < k:
            near = np.zeros_like(near)
            near[np.argpartition(row, k - 1)[:k]] = True
        result[i] = np.median(moves[near], axis=0)
    return result


def coherent_motion(
    start: np.ndarray, moved: np.ndarray, good: np.ndarray, tolerance_px: float
) -> np.ndarray:
    """Which features move with the majority: inliers of a RANSAC affine motion.

    Parameters
    ----------
    start, moved
        ``(M, 2)`` positions before and after (px).
    good
        ``(M,)`` bool, features to consider.
    tolerance_px
        Largest distance from where the affine motion puts a feature (px).

    Returns
    -------
    ``(M,)`` bool: the inliers among ``good``; all of ``good`` when the motion is not
    affine enough for half of them to agree (a region changing shape), since then the
    local medians are the better judge.
    """
    count = int(good.sum())
    if count < _MIN_AFFINE_FEATURES:
        return good
    _, inliers = cv2.estimateAffine2D(
        start[good].astype(np.float32),
        moved[good].astype(np.float32),
        method=cv2.RANSAC,
        ransacReprojThreshold=tolerance_px,
        maxIters=500,
        confidence=0.99,
    )
    if inliers is None or inliers.sum() < 0.5 * count:
        return good
    result = np.zeros_like(good)
    result[np.flatnonzero(good)[inliers.ravel() == 1]] = True
    return result
