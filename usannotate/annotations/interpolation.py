"""Geometry between two keyframes: corresponding points by arc length, then a linear blend.

Two marks of one track may have different point counts (a fluid outline drawn with 9
clicks on one keyframe and 30 on the next) and a region may be drawn from another start
point or the other way round. To blend them, both are put on a common arc-length
parameter: an open polyline runs from its first to its last point (reversed if it was
drawn the other way), a closed region is turned to the same winding and started at the
point that best matches the other's start. Every vertex of either mark becomes a vertex
of both, so corners are kept exactly at the keyframes.

All points are ``(x, y)`` in image pixels (pixel-corner convention), ``(N, 2)`` float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from usannotate.annotations.kinds import ShapeKind

#: Correspondence of two regions is searched among this many start positions.
_START_CANDIDATES = 64
#: Above this many vertices in common, both marks are resampled evenly instead.
_MAX_COMMON_VERTICES = 400
#: Regions of up to this many vertices try every start vertex directly (else by FFT).
_DIRECT_SHIFTS = 512


@dataclass(frozen=True)
class Correspondence:
    """Two marks resampled onto one parameter: ``start[i]`` corresponds to ``end[i]``."""

    start: np.ndarray
    end: np.ndarray

    def at(self, t: float) -> np.ndarray:
        """The blend at ``t`` in ``[0, 1]`` (0 = the start keyframe, 1 = the end one)."""
        return (1.0 - t) * self.start + t * self.end


def corresponding_points(kind: ShapeKind | str, a: np.ndarray, b: np.ndarray) -> Correspondence:
    """Resample keyframe marks ``a`` and ``b`` of one track so their points correspond.

    Parameters
    ----------
    kind
        The marks' shape kind.
    a, b
        ``(N, 2)`` and ``(M, 2)`` points; ``N`` and ``M`` may differ for polylines and
        regions (needles have 2 points, points 1).

    Returns
    -------
    Correspondence
        Arrays of equal length; for a polyline or region, every vertex of ``a`` and of
        ``b`` (after orienting ``b`` like ``a``) is a vertex of both.
    """
    kind = ShapeKind(kind)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if kind in (ShapeKind.NEEDLE, ShapeKind.POINT):
        return Correspondence(a, b)
    closed = kind is ShapeKind.REGION
    if len(a) == len(b):
        # Same count: most often one mark copied, tracked or edited from the other, so
        # vertex i is the same anatomical point on both; keep that pairing.
        return Correspondence(a, _vertex_aligned(a, b, closed))
    if closed:
        b = _oriented_region(a, b)
    elif _reverse_fits_better(a, b):
        b = b[::-1]
    ta = _arc_parameters(a, closed)
    tb = _arc_parameters(b, closed)
    common = _without_near_duplicates(np.union1d(ta, tb))
    if len(common) > _MAX_COMMON_VERTICES:
        count = _MAX_COMMON_VERTICES
        common = np.arange(count) / count if closed else np.linspace(0.0, 1.0, count)
    return Correspondence(_sample(a, ta, common, closed), _sample(b, tb, common, closed))


def interpolate(kind: ShapeKind | str, a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The mark a fraction ``t`` (0..1) of the way from keyframe ``a`` to keyframe ``b``."""
    return corresponding_points(kind, a, b).at(t)


def resample(points: np.ndarray, count: int, *, closed: bool) -> np.ndarray:
    """``count`` points evenly spaced by arc length along ``points`` (first point kept)."""
    points = np.asarray(points, dtype=np.float64)
    params = _arc_parameters(points, closed)
    wanted = np.arange(count) / count if closed else np.linspace(0.0, 1.0, count)
    return _sample(points, params, wanted, closed)


# ------------------------------------------------------------------ helpers
def _without_near_duplicates(params: np.ndarray, gap: float = 1e-3) -> np.ndarray:
    """Sorted ``params`` less those within ``gap`` (of the length) of the one kept before
    (the two marks' own copies of one corner would make a doubled vertex)."""
    kept = [params[0]]
    for value in params[1:]:
        if value - kept[-1] > gap:
            kept.append(value)
    return np.array(kept)


def _vertex_aligned(a: np.ndarray, b: np.ndarray, closed: bool) -> np.ndarray:
    """``b`` (as many vertices as ``a``) reordered so that vertex i pairs with ``a[i]``:
    reversed if drawn the other way; for a region, also the cyclic shift that fits best
    (compared about the centroids, so growth or drift does not matter)."""
    if not closed:
        return b[::-1] if _reverse_fits_better(a, b) else b
    ca = a - a.mean(axis=0)
    best, best_cost = b, np.inf
    for candidate in (b, b[::-1]):
        cb = candidate - candidate.mean(axis=0)
        costs = _shift_costs(ca, cb)
        shift = int(np.argmin(costs))
        if costs[shift] < best_cost:
            best, best_cost = np.roll(candidate, -shift, axis=0), float(costs[shift])
    return best


def _shift_costs(ca: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """``sum((ca - roll(cb, -k)) ** 2)`` for every cyclic shift ``k`` of ``cb``.

    Directly for marks of up to :data:`_DIRECT_SHIFTS` vertices (every shift at once: row
    ``k`` of an ``(n, n, 2)`` gather is ``roll(cb, -k)``; each row is summed in the order
    ``np.sum`` sums one shift, so the costs are the same to the last bit as shift by
    shift, only without a loop of ``n`` rolls); beyond, through the FFT's circular
    cross-correlation (the squared norms do not depend on ``k``), so an outline of 50,000
    points is matched in milliseconds rather than minutes.
    """
    n = len(cb)
    if n <= _DIRECT_SHIFTS:
        index = np.arange(n)
        shifted = cb[(index[:, None] + index[None, :]) % n]
        return np.sum(((ca[None] - shifted) ** 2).reshape(n, 2 * n), axis=1)
    correlation = sum(
        np.fft.irfft(np.conj(np.fft.rfft(ca[:, axis])) * np.fft.rfft(cb[:, axis]), n=n)
        for axis in (0, 1)
    )
    return float(np.sum(ca**2) + np.sum(cb**2)) - 2.0 * correlation


def _arc_parameters(points: np.ndarray, closed: bool) -> np.ndarray:
    """Each vertex's position along the mark as a fraction of its length, in ``[0, 1)``
    for a closed region (the closing edge counts) and ``[0, 1]`` for an open polyline.

    A mark of no length (all points equal) is parameterised by vertex index instead.
    """
    ring = np.vstack([points, points[:1]]) if closed else points
    steps = np.hypot(*np.diff(ring, axis=0).T)
    total = float(steps.sum())
    count = len(points)
    if total <= 1e-12:
        return np.arange(count) / count if closed else np.linspace(0.0, 1.0, count)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)]) / total
    return cumulative[:count] if closed else cumulative


def _sample(points: np.ndarray, params: np.ndarray, wanted: np.ndarray, closed: bool) -> np.ndarray:
    """The points at parameters ``wanted``, linear along the edges."""
    if closed:
        points = np.vstack([points, points[:1]])
        params = np.concatenate([params, [1.0]])
    # np.interp needs increasing x: equal parameters (repeated points) are harmless for
    # interp, which takes the first of equal x values consistently.
    x = np.interp(wanted, params, points[:, 0])
    y = np.interp(wanted, params, points[:, 1])
    return np.stack([x, y], axis=1)


def _reverse_fits_better(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether polyline ``b`` was drawn in the opposite direction to ``a``."""
    same = np.hypot(*(a[0] - b[0])) + np.hypot(*(a[-1] - b[-1]))
    reverse = np.hypot(*(a[0] - b[-1])) + np.hypot(*(a[-1] - b[0]))
    return bool(reverse < same)


def _signed_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _oriented_region(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Region ``b`` with ``a``'s winding, started where it best matches ``a``'s start.

    The start is the shift of evenly resampled outlines (centred on their centroids, so
    a region that grows or drifts still matches shape to shape) with the least squared
    distance; ``b`` is cut open there, a new vertex inserted if the start falls mid-edge.
    """
    if np.sign(_signed_area(a)) != np.sign(_signed_area(b)) and _signed_area(b) != 0.0:
        b = b[::-1]
    n = _START_CANDIDATES
    ua = resample(a, n, closed=True)
    ub = resample(b, n, closed=True)
    ua -= ua.mean(axis=0)
    ub -= ub.mean(axis=0)
    costs = _shift_costs(ua, ub)
    start = int(np.argmin(costs)) / n
    if start == 0.0:
        return b
    params = _arc_parameters(b, closed=True)
    start_point = _sample(b, params, np.array([start]), closed=True)
    after = params > start + 1e-9
    before = ~after & (params < start - 1e-9)
    return np.vstack([start_point, b[after], b[before]])


__all__ = ["Correspondence", "corresponding_points", "interpolate", "resample"]
