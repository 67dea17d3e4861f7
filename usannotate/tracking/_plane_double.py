"""A doubled fascial plane (two bright lines, the plane the gap between them) (no Qt).

The interfascial plane is two epimysia a fraction of a mm apart; the plane a sonographer
marks is the gap between them. Whether the clicked plane is doubled is decided along the
whole clicked line, not at the clicks alone (speckle often hides one line at a click, and
a click on the image's edge sees half a profile): on profiles across the line every
``step`` px, the two brightest crests within reach are a pair when they lie
``gap_mm`` apart, about as bright, with a darker dip between them. A single fascia
shows such a pair on a few profiles (a striation or a septum beside it); a doubled one
on most. The gap is the median spacing of the pairs, the crests placed to sub-pixel.
:func:`gap_strength` is then the response the path is routed on: both lines bright half
a gap away across the plane, the gap itself dark.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.filters import sato

__all__ = ["DoubleSettings", "double_line_gap", "gap_strength"]


@dataclass(frozen=True)
class DoubleSettings:
    """How a doubled plane is told from a single fascia.

    Attributes
    ----------
    gap_mm
        The narrowest and widest gap between the two lines (mm).
    strength
        How bright the fainter of the two lines must be against the brighter (above
        the profile's median grey, the tissue).
    dip
        How dark the gap must be against the fainter line (above the tissue): a gap,
        not one thick line.
    fraction
        The plane is doubled when at least this fraction of the profiles along the
        clicked line show such a pair (a single fascia: under 0.15 on the sample loops;
        a doubled one: over 0.6).
    step_px
        Spacing of the profiles along the clicked line (px).
    """

    gap_mm: tuple[float, float] = (0.35, 0.9)
    strength: float = 0.5
    dip: float = 0.7
    fraction: float = 0.4
    step_px: float = 2.0


def double_line_gap(
    image: np.ndarray,
    clicks: np.ndarray,
    scale: float,
    reach_px: float,
    skip: Callable[[np.ndarray], bool],
    settings: DoubleSettings = DoubleSettings(),  # frozen: a shared default is safe
) -> float | None:
    """The gap (px) of a doubled plane along the clicked line, or None for a single one.

    Parameters
    ----------
    image
        ``(rows, columns)`` float32 window, lightly smoothed.
    clicks
        ``(N, 2)`` ``(x, y)`` clicks in the window's pixel-centre coordinates.
    scale
        mm per px.
    reach_px
        How far across the clicked line the two lines are looked for (px).
    skip
        True for a point of the clicked line whose profile does not count (inside the
        fluid that opened the plane, where neither a single nor a doubled line shows).
    settings
        See :class:`DoubleSettings`.
    """
    near, far = (g / scale for g in settings.gap_mm)
    if far < 3.0:
        return None  # too coarse a calibration to tell two lines apart
    points, normals = _along(clicks, settings.step_px)
    counted = np.array([not skip(p) for p in points], dtype=bool)
    if not counted.any():
        return None
    points, normals = points[counted], normals[counted]
    offsets = np.arange(-reach_px, reach_px + 1e-9, 0.25)
    xs = points[:, 0:1] + offsets[None, :] * normals[:, 0:1]
    ys = points[:, 1:2] + offsets[None, :] * normals[:, 1:2]
    profiles = cv2.remap(
        image.astype(np.float32),
        xs.astype(np.float32),
        ys.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float64)
    gaps = _pair_gaps(profiles, near, far, settings)
    if len(gaps) < settings.fraction * len(profiles):
        return None
    return 0.25 * float(np.median(gaps))


def gap_strength(
    image: np.ndarray, clicks: np.ndarray, gap: float, sigmas: list[float]
) -> np.ndarray:
    """How much a pixel looks like the middle of a doubled plane's gap, 0-1: a bright
    line (a ridge at the fascia's thickness, ``sigmas`` px) half a gap away on both sides
    across the plane.

    Ridges rather than grey: the gap between two blurred lines 0.5 mm apart is only a
    little darker than they are, while a gap between a line and a faint striation a gap
    away is dark tissue; on grey the wrong pair would win.
    """
    normal = _clicks_normal(clicks)
    shift = 0.5 * gap * normal
    lines = sato(image, sigmas=sigmas, black_ridges=False, mode="reflect").astype(np.float32)
    rows, columns = lines.shape

    def moved(by: np.ndarray) -> np.ndarray:  # the ridges at (x + by[0], y + by[1])
        matrix = np.float32([[1, 0, -by[0]], [0, 1, -by[1]]])
        return cv2.warpAffine(
            lines, matrix, (columns, rows), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )

    response = cv2.GaussianBlur(np.minimum(moved(-shift), moved(shift)), (0, 0), 1.0)
    peak = float(np.percentile(response, 99.5))
    return np.clip(response / peak, 0.0, 1.0).astype(np.float64) if peak > 0 else response


def _pair_gaps(
    profiles: np.ndarray, near: float, far: float, settings: DoubleSettings
) -> np.ndarray:
    """The spacings (in 0.25 px samples) of the profiles whose two brightest crests are a
    doubled plane's two lines (the others left out), all profiles at once."""
    q = profiles - np.median(profiles, axis=1, keepdims=True)
    index = np.arange(q.shape[1])[None, :]
    crest = np.zeros(q.shape, dtype=bool)
    crest[:, 1:-1] = (q[:, 1:-1] >= q[:, :-2]) & (q[:, 1:-1] > q[:, 2:])
    heights = np.where(crest, q, -np.inf)
    first = np.argmax(heights, axis=1)
    # The second line: the brightest crest farther than the narrowest gap (a speckle
    # bump on the first line's flank is not a line).
    heights[np.abs(index - first[:, None]) < 4 * near] = -np.inf
    second = np.argmax(heights, axis=1)
    rows = np.arange(len(q))
    found = crest[rows, first] & np.isfinite(heights[rows, second])
    up, down = np.minimum(first, second), np.maximum(first, second)
    low = np.minimum(q[rows, up], q[rows, down])
    high = np.maximum(q[rows, up], q[rows, down])
    spacing = _crest(q, down) - _crest(q, up)
    between = (index > up[:, None]) & (index < down[:, None])
    dip = np.where(between, q, np.inf).min(axis=1)
    pair = (
        found
        & (high > 0)
        & (spacing >= 4 * near)
        & (spacing <= 4 * far)
        & (low >= settings.strength * high)
        & (dip < settings.dip * low)
    )
    return spacing[pair]


def _crest(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Sub-sample position of each row's crest at ``k`` (a parabola through k-1, k, k+1)."""
    rows = np.arange(len(q))
    left = q[rows, np.maximum(k - 1, 0)]
    mid = q[rows, k]
    right = q[rows, np.minimum(k + 1, q.shape[1] - 1)]
    curvature = left - 2 * mid + right
    shift = np.where(curvature < 0, 0.5 * (left - right) / np.minimum(curvature, -1e-12), 0.0)
    return k + shift


def _along(clicks: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` px along the clicked polyline, and each segment's unit
    normal (pointing deeper for a level plane)."""
    points, normals = [], []
    for a, b in itertools.pairwise(clicks):
        d = b - a
        length = float(np.hypot(*d))
        if length <= 0:
            continue
        n = np.array([-d[1], d[0]]) / length
        n = -n if n[1] < 0 else n
        count = max(1, int(length // step))
        points.append(a + (np.arange(count) / count)[:, None] * d)
        normals.append(np.repeat(n[None, :], count, axis=0))
    if not points:
        return np.zeros((0, 2)), np.zeros((0, 2))
    return np.vstack(points), np.vstack(normals)


def _clicks_normal(clicks: np.ndarray) -> np.ndarray:
    """The unit normal of the line from the first click to the last (pointing deeper
    for a level plane)."""
    d = clicks[-1] - clicks[0]
    n = np.array([-d[1], d[0]])
    norm = float(np.hypot(*n))
    n = n / norm if norm > 0 else np.array([0.0, 1.0])
    return -n if n[1] < 0 else n
