"""A fascial plane snapped to its bright ridge between a few rough clicks (no Qt).

A fascia is a thin bright (specular) line. Between two or three clicks placed roughly on
it, :func:`snap_to_ridge` finds the line itself:

1. a ridge filter (scikit-image's Sato tubeness, ``black_ridges=False``: bright ridges)
   with sigmas from the fascia's thickness in mm, through the calibration, in a window
   around the clicks, on a lightly despeckled frame;
2. each click moved to the strongest ridge within ``click_reach_mm`` of it, across the
   line the clicks draw;
3. between consecutive clicks, the minimal-cost path through the ridge response
   (``skimage.graph.route_through_array``, cost falling with ridge strength), kept
   within a corridor around the straight segment so that it cannot wander onto another
   plane, the needle or a septum;
4. the path's pixels refined to sub-pixel across the line (a parabola through the
   ridge response), smoothed along it and resampled every ``spacing_px``.

A doubled plane (two fascial layers with the plane between them, like the interfascial
plane's two epimysia 0.5 mm apart): when most profiles across the clicked line (every
2 px along it, not only at the clicks) show two bright parallel crests of about the same
brightness 0.35-0.9 mm apart with a darker dip between them, the path is routed on a gap
response instead (a fine ridge half the median gap away on both sides), in a corridor
kept close to the clicks, so the snap follows the middle of the gap rather than one line
(``_plane_double``).

Where injected fluid has opened the plane (single or doubled) into a dark lens between
two bright walls, the plane runs through the lens's middle: in the columns where the
clicked line crosses such a lens, the response is a narrow crest on the midpoint of its
two edges (of its two walls where the needle's reverberations fill it), and the path may
leave the corridor to follow it; where the lens goes on unseen (its thin tips) the
response is even, so the path crosses straight rather than along a wall
(``_plane_lens``).

Deterministic, CPU only, a few tens of ms for a plane across the image.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.filters import sato
from skimage.graph import route_through_array

from usannotate.tracking._plane_double import DoubleSettings, double_line_gap, gap_strength
from usannotate.tracking._plane_lens import LensSettings, find_lens, follow_lens

__all__ = ["RidgeSettings", "snap_to_ridge"]

# Without a calibration, a fascia's thickness is guessed in px.
_DEFAULT_MM_PER_PX = 0.1
# In a doubled plane's gap, the corridor around the clicks (mm, or 1.5 gaps if wider).
_GAP_CORRIDOR_MM = 0.8


@dataclass(frozen=True)
class RidgeSettings:
    """How a plane is snapped to its ridge.

    Attributes
    ----------
    sigmas_mm
        Scales of the ridge filter (mm): a fascia is 0.1-0.5 mm thick on B-mode.
    click_reach_mm
        Farthest a click is moved onto the ridge (mm).
    corridor_mm
        Farthest the path strays from the straight line between two clicks (mm), and at
        least ``corridor_fraction`` of that line's length.
    corridor_fraction
        See ``corridor_mm``.
    spacing_px
        Spacing of the snapped line's points (px).
    double
        How a doubled plane (two fascial layers with the plane between them, e.g. the
        interfascial plane's two epimysia) is told from a single fascia.
    lens
        How a stretch where fluid has opened the plane (a dark lens between two bright
        walls) is found; the plane runs through its middle there.
    """

    sigmas_mm: tuple[float, ...] = (0.12, 0.2, 0.3)
    click_reach_mm: float = 1.0
    corridor_mm: float = 1.5
    corridor_fraction: float = 0.06
    spacing_px: float = 6.0
    double: DoubleSettings = field(default_factory=DoubleSettings)
    lens: LensSettings = field(default_factory=LensSettings)


def snap_to_ridge(
    grey: np.ndarray,
    clicks: np.ndarray,
    mm_per_px: float | None = None,
    settings: RidgeSettings = RidgeSettings(),  # frozen: a shared default is safe
) -> np.ndarray:
    """The bright ridge through rough ``clicks``, as an open polyline.

    Parameters
    ----------
    grey
        ``(rows, columns)`` uint8 frame (or ``(rows, columns, 3)`` RGB).
    clicks
        ``(N, 2)`` ``(x, y)`` points (px, ``(0, 0)`` at the top-left corner of the
        top-left pixel), N >= 2, in drawing order.
    mm_per_px
        The calibration (mm per px), for the filter's scales; None: ~0.1 mm per px.
    settings
        Snapping settings.

    Returns
    -------
    ``(M, 2)`` float64 ``(x, y)`` points of the line (same convention), from the first
    click's end to the last one's; the clicks themselves (as floats) when the frame
    shows no ridge between them.

    Raises
    ------
    ValueError
        Fewer than 2 clicks, non-finite clicks, or a frame that is not a uint8 image.
    """
    clicks = np.asarray(clicks, dtype=np.float64)
    if clicks.ndim != 2 or clicks.shape[1] != 2 or len(clicks) < 2:
        raise ValueError(f"clicks must be (N, 2) (x, y) points, N >= 2, got shape {clicks.shape}")
    if not np.isfinite(clicks).all():
        raise ValueError("clicks must be finite")
    grey = _as_grey(grey)
    scale = mm_per_px if mm_per_px and mm_per_px > 0 else _DEFAULT_MM_PER_PX
    centre = clicks - 0.5  # pixel-centre convention from here on
    sigmas = sorted({max(0.8, s / scale) for s in settings.sigmas_mm})
    reach = max(2.0, settings.click_reach_mm / scale)
    lengths = np.linalg.norm(np.diff(centre, axis=0), axis=1)
    corridor = max(settings.corridor_mm / scale, settings.corridor_fraction * float(lengths.max()))
    margin = int(np.ceil(corridor + reach + 3 * max(sigmas) + 4))
    rows, columns = grey.shape
    x0 = max(0, int(np.floor(centre[:, 0].min())) - margin)
    y0 = max(0, int(np.floor(centre[:, 1].min())) - margin)
    x1 = min(columns, int(np.ceil(centre[:, 0].max())) + margin + 1)
    y1 = min(rows, int(np.ceil(centre[:, 1].max())) + margin + 1)
    window = grey[y0:y1, x0:x1]
    if window.shape[0] < 3 or window.shape[1] < 3:
        return clicks.copy()
    offset = np.array([x0, y0], dtype=np.float64)
    local = centre - offset

    smooth = cv2.GaussianBlur(window.astype(np.float32), (0, 0), 0.7)
    ridge = sato(smooth, sigmas=sigmas, black_ridges=False, mode="reflect").astype(np.float64)
    peak = float(np.percentile(ridge, 99.5))
    if peak <= 0:
        return clicks.copy()
    strength = np.clip(ridge / peak, 0.0, 1.0)
    # Where fluid has opened the plane into a dark lens, the plane is the lens's middle;
    # a click inside the lens says nothing of whether the plane is single or doubled.
    lens = find_lens(window, smooth, local, scale, reach, settings.lens)
    # A doubled plane (two fascial layers, the plane the gap between them) clicked in its
    # gap: the path follows the middle of the gap, where both lines lie half a gap away.
    gap = double_line_gap(
        smooth, local, scale, reach, lambda p: lens is not None and lens.holds(p), settings.double
    )
    if gap is not None:
        strength = gap_strength(smooth, local, gap, sigmas[:2])
        # Other gaps lie a line's width away: the path and the clicks keep nearer.
        corridor = min(corridor, max(1.5 * gap, _GAP_CORRIDOR_MM / scale))
        reach = min(reach, max(2.0, gap))
    lens_band = None
    if lens is not None:
        strength, lens_band = follow_lens(
            strength, lens, scale, settings.lens.wall_mm, settings.lens.unseen_strength
        )

    snapped = np.array(
        [_onto_ridge(strength, p, centre_line_normal(local, i), reach) for i, p in enumerate(local)]
    )
    path: list[np.ndarray] = []
    for a, b in itertools.pairwise(snapped):
        piece = _route(strength, a, b, corridor, lens_band)
        path.append(piece if not path else piece[1:])
    route = np.vstack(path)
    refined = _sub_pixel(strength, route)
    line = _resample(_smoothed(refined), settings.spacing_px)
    return line + offset + 0.5


def centre_line_normal(points: np.ndarray, i: int) -> np.ndarray:
    """Unit normal at point ``i`` of a polyline (across the line the clicks draw)."""
    a = points[max(0, i - 1)]
    b = points[min(len(points) - 1, i + 1)]
    d = b - a
    n = np.array([-d[1], d[0]])
    norm = float(np.hypot(*n))
    return n / norm if norm > 0 else np.array([0.0, 1.0])


def _as_grey(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError(
            f"the frame must be a uint8 (rows, columns) or (rows, columns, 3) array, got "
            f"{frame.dtype} of shape {frame.shape}"
        )
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return frame


def _onto_ridge(
    strength: np.ndarray, point: np.ndarray, normal: np.ndarray, reach: float
) -> np.ndarray:
    """``point`` moved along ``normal`` (within ``reach`` px) to the strongest ridge."""
    offsets = np.arange(-reach, reach + 1e-9, 0.5)
    xs = (point[0] + offsets * normal[0]).astype(np.float32)
    ys = (point[1] + offsets * normal[1]).astype(np.float32)
    values = cv2.remap(
        strength.astype(np.float32),
        xs[None, :],
        ys[None, :],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )[0]
    # Prefer the ridge nearest the click among those nearly as strong as the best.
    best = float(values.max())
    if best <= 0.05:
        return point
    near = np.flatnonzero(values >= 0.8 * best)
    pick = near[np.argmin(np.abs(offsets[near]))]
    moved = point + offsets[pick] * normal
    rows, columns = strength.shape
    return np.clip(moved, 0.0, (columns - 1.0, rows - 1.0))


def _route(
    strength: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    corridor: float,
    also: np.ndarray | None = None,
) -> np.ndarray:
    """Minimal-cost pixel path from ``a`` to ``b`` (pixel-centre (x, y)) within the
    corridor (and the pixels of the mask ``also``: a fluid lens's band), as ``(K, 2)``
    (x, y)."""
    rows, columns = strength.shape
    ys, xs = np.mgrid[0:rows, 0:columns].astype(np.float64)
    d = b - a
    length = max(float(np.hypot(*d)), 1e-9)
    t = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / (length * length), 0.0, 1.0)
    away = np.hypot(xs - (a[0] + t * d[0]), ys - (a[1] + t * d[1]))
    # Cost: low on a strong ridge, never zero (the shortest of equally strong paths);
    # outside the corridor, prohibitive.
    cost = 1.0 / (0.02 + strength) ** 2
    outside = away > corridor
    if also is not None:
        outside &= ~also
    cost[outside] = 1e6
    start = (round(float(a[1])), round(float(a[0])))
    end = (round(float(b[1])), round(float(b[0])))
    indices, _ = route_through_array(cost, start, end, fully_connected=True, geometric=True)
    path = np.array(indices, dtype=np.float64)[:, ::-1]
    path[0], path[-1] = a, b
    return path


def _sub_pixel(strength: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Each path point moved across the path to the ridge's sub-pixel crest (a parabola
    through the response at -1, 0, +1 px along the local normal)."""
    if len(path) < 3:
        return path.copy()
    ahead = np.roll(path, -2, axis=0) - np.roll(path, 2, axis=0)
    ahead[:2] = path[2:4] - path[0:2] if len(path) >= 4 else ahead[:2]
    ahead[-2:] = path[-2:] - path[-4:-2] if len(path) >= 4 else ahead[-2:]
    normal = np.stack([-ahead[:, 1], ahead[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    offsets = np.array([-1.0, 0.0, 1.0])
    xs = path[:, 0:1] + offsets[None, :] * normal[:, 0:1]
    ys = path[:, 1:2] + offsets[None, :] * normal[:, 1:2]
    values = cv2.remap(
        strength.astype(np.float32),
        xs.astype(np.float32),
        ys.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float64)
    left, mid, right = values[:, 0], values[:, 1], values[:, 2]
    curvature = left - 2 * mid + right
    delta = np.where(
        curvature < 0, np.clip(0.5 * (left - right) / np.minimum(curvature, -1e-12), -1, 1), 0.0
    )
    out = path + delta[:, None] * normal
    out[0], out[-1] = path[0], path[-1]
    return out


def _smoothed(points: np.ndarray, half: int = 3) -> np.ndarray:
    """A moving average along the line (its ends kept): pixel paths zig-zag."""
    if len(points) <= 2 * half + 1:
        return points
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    padded = np.vstack([np.repeat(points[:1], half, 0), points, np.repeat(points[-1:], half, 0)])
    smooth = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], axis=1)
    smooth[0], smooth[-1] = points[0], points[-1]
    return smooth


def _resample(points: np.ndarray, spacing_px: float) -> np.ndarray:
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    if arc[-1] <= 0:
        return points[:1].copy()
    count = max(2, int(np.ceil(arc[-1] / spacing_px)) + 1)
    targets = np.linspace(0.0, arc[-1], count)
    return np.stack(
        [np.interp(targets, arc, points[:, 0]), np.interp(targets, arc, points[:, 1])], axis=1
    )
