"""Injected fluid followed by its image: each frame's dark region segmented near the last.

Optical flow follows tissue, and injected fluid grows over tissue that does not move, so
a fluid outline is not moved by flow: on every frame the anechoic (dark) region is
segmented again, seeded from the previous frame's outline and kept near it:

1. the frame is despeckled (a median filter, then a small Gaussian) in a window around
   the previous outline;
2. a grey threshold between the fluid's grey (inside the previous outline) and the
   tissue's (a band around it) gives the candidate dark pixels, only those within
   ``max_growth_px`` of the previous outline;
3. the connected dark pixels that overlap the previous region are kept, closed over the
   needle's bright shaft and its reverberations, holes filled;
4. scikit-image's morphological Chan-Vese refines that mask for a few iterations inside
   the same band (a two-phase fit whose smoothing keeps the outline from leaking along
   dark speckle);
5. the outline of the result is moved onto the crest of the bright wall that wraps the
   fluid (the fascia it pushed apart), then resampled every ``point_spacing_px`` (never
   fewer points than the region had), starting nearest its first point, same winding.

The region is lost (None) when nothing dark is left near the previous outline, or when
the new region is less than a third or more than three times the previous one (a
segmentation that leaked or vanished is not returned as fluid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.segmentation import morphological_chan_vese

from usannotate.tracking._flow import FlowResult

__all__ = ["FluidSettings", "FluidStep", "FluidTracker", "segment_fluid"]

# All arrays here use OpenCV's pixel-centre coordinates (ours minus 0.5), as the trackers.


@dataclass(frozen=True)
class FluidSettings:
    """How a fluid region is segmented from frame to frame.

    Attributes
    ----------
    max_growth_px
        Farthest the outline may move outwards between two frames along the region's
        long axis (the plane it spreads along, px).
    across_growth_px
        Farthest it may move outwards across that axis (px).
    max_shrink_px
        Farthest it may move inwards (px): fluid spreads, it seldom shrinks fast.
    median_px
        Side of the median filter that removes speckle (odd, px).
    chan_vese_iterations
        Iterations of the morphological Chan-Vese refinement (0: none).
    closing_px
        Side of the closing that bridges the needle's shaft across the fluid (px).
    rim_px
        How far beyond the dark pixels the outline looks for the bright wall wrapping
        the fluid, and moves onto its crest (px; 0: the outline stays on the dark edge).
    point_spacing_px
        Spacing of the outline's points (px); never fewer points than it had.
    """

    max_growth_px: float = 12.0
    across_growth_px: float = 4.0
    max_shrink_px: float = 1.0
    median_px: int = 5
    chan_vese_iterations: int = 15
    closing_px: int = 7
    rim_px: float = 3.0
    point_spacing_px: float = 4.0


@dataclass(frozen=True)
class FluidStep:
    """One frame of fluid: its outline, or why it was lost."""

    points: np.ndarray | None  # (N, 2), pixel-centre convention, or None
    lost_because: str | None = None


def _mask_of(points: np.ndarray, shape: tuple[int, int], offset: np.ndarray) -> np.ndarray:
    """The filled polygon (pixel-centre points, minus ``offset``) as a uint8 0/1 mask."""
    mask = np.zeros(shape, dtype=np.uint8)
    polygon = np.round((points - offset) * 16.0).astype(np.int32)
    cv2.fillPoly(mask, [polygon], 1, cv2.LINE_8, 4)
    return mask


def _long_axis(points: np.ndarray) -> np.ndarray:
    """Unit vector along the outline's longest extent (its principal axis)."""
    centred = points - points.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return vectors[:, -1]


def _ellipse(along_px: float, across_px: float, axis: np.ndarray) -> np.ndarray:
    """A structuring element: an ellipse of semi-axes ``along_px`` along ``axis`` and
    ``across_px`` across it (fluid spreads along the plane much faster than across)."""
    r = int(np.ceil(max(along_px, across_px)))
    ys, xs = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float64)
    u = xs * axis[0] + ys * axis[1]
    v = -xs * axis[1] + ys * axis[0]
    return (((u / along_px) ** 2 + (v / max(across_px, 0.5)) ** 2) <= 1.0).astype(np.uint8)


def _disc(radius_px: float) -> np.ndarray:
    side = 2 * max(1, round(radius_px)) + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def segment_fluid(
    grey: np.ndarray,
    previous: np.ndarray,
    settings: FluidSettings = FluidSettings(),  # frozen: a shared default is safe
) -> FluidStep:
    """The fluid region on ``grey`` near its ``previous`` outline.

    Parameters
    ----------
    grey
        ``(rows, columns)`` uint8 frame.
    previous
        ``(N, 2)`` outline on the previous frame (px, pixel-centre convention), N >= 3.
    settings
        Segmentation settings.

    Returns
    -------
    FluidStep
        The new outline with N points (same start and winding as ``previous``), or
        None and why.
    """
    rows, columns = grey.shape
    margin = settings.max_growth_px + settings.median_px + 8.0
    low = np.floor(previous.min(axis=0) - margin).astype(int)
    high = np.ceil(previous.max(axis=0) + margin).astype(int)
    x0, y0 = max(0, low[0]), max(0, low[1])
    x1, y1 = min(columns, high[0] + 1), min(rows, high[1] + 1)
    window = grey[y0:y1, x0:x1]
    offset = np.array([x0, y0], dtype=np.float64)
    shape = window.shape
    before = _mask_of(previous, shape, offset)
    before_area = int(before.sum())
    if before_area < 4:
        return FluidStep(None, "the region is too small to follow")

    smooth = cv2.medianBlur(window, settings.median_px | 1)
    smooth = cv2.GaussianBlur(smooth, (0, 0), 1.0).astype(np.float32)

    along = _long_axis(previous)
    allowed = cv2.dilate(before, _ellipse(settings.max_growth_px, settings.across_growth_px, along))
    kept = cv2.erode(before, _disc(settings.max_shrink_px))
    ring = cv2.dilate(before, _disc(settings.max_growth_px + 6.0)) & (
        1 - cv2.dilate(before, _disc(settings.max_growth_px))
    )
    core = cv2.erode(before, _disc(1.5))
    inside = smooth[(core if core.any() else before) == 1]
    outside = smooth[ring == 1]
    if inside.size == 0 or outside.size == 0:
        return FluidStep(None, "the region is too small to follow")
    # The needle's shaft and reverberations may lie over part of the fluid: its grey
    # is that of the darker part of the region.
    fluid_grey = float(np.percentile(inside, 25))
    # The darker part of the tissue around (fat lobules, dark fascicles) is what the
    # fluid must be told from, not the bright fascia and the enhancement under it.
    tissue_grey = float(np.percentile(outside, 30))
    if tissue_grey - fluid_grey < 8.0:
        return FluidStep(None, "it no longer stands out darker than the tissue around it")
    # Anechoic fluid is much darker than any tissue, even tissue in the needle's
    # shadow: the threshold lies nearer the fluid's grey than the tissue's.
    threshold = fluid_grey + (tissue_grey - fluid_grey) / 3.0

    dark = ((smooth < threshold) & (allowed == 1)).astype(np.uint8)
    # Bridge the needle's bright shaft (and its reverberations) across the fluid.
    dark = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, _disc(settings.closing_px / 2.0))
    dark &= allowed
    dark |= kept
    count, labels = cv2.connectedComponents(dark, connectivity=8)
    overlapping = np.unique(labels[(before == 1) & (dark == 1)])
    overlapping = overlapping[overlapping != 0]
    if not overlapping.size:
        return FluidStep(None, "nothing dark is left where it was")
    region = np.isin(labels, overlapping).astype(np.uint8)
    region = cv2.morphologyEx(region, cv2.MORPH_OPEN, _disc(1.0)) | kept
    region = _filled(region)

    if settings.chan_vese_iterations > 0:
        # Chan-Vese fits one grey inside, one outside; on the despeckled window within
        # the band where the outline may move, its smoothing rounds off speckle bites.
        band = allowed.astype(bool)
        refined = morphological_chan_vese(
            smooth,
            settings.chan_vese_iterations,
            init_level_set=region.astype(np.int8),
            smoothing=1,
            lambda1=1.0,
            lambda2=1.0,
        ).astype(np.uint8)
        refined = (refined.astype(bool) & band).astype(np.uint8) | kept
        refined = _largest_overlapping(refined, before)
        if refined is not None:
            region = _filled(refined)

    area = int(region.sum())
    if area < before_area / 3.0 or area > 3.0 * before_area + 200:
        return FluidStep(None, f"its area changed from {before_area} to {area} px in one frame")
    outline = _outline(region)
    if outline is None:
        return FluidStep(None, "no outline could be drawn round it")
    if settings.rim_px > 0:
        outline = _onto_rim(outline, smooth, settings.rim_px, tissue_grey)
    count = max(len(previous), round(_perimeter(outline) / settings.point_spacing_px))
    return FluidStep(_resampled_like(outline + offset, previous, count))


def _filled(mask: np.ndarray) -> np.ndarray:
    """``mask`` with its holes filled (the outer contours drawn filled)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, cv2.FILLED)
    return filled


def _largest_overlapping(mask: np.ndarray, seed: np.ndarray) -> np.ndarray | None:
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    overlap = np.bincount(labels[(seed == 1) & (mask == 1)].ravel(), minlength=count)
    overlap[0] = 0
    if overlap.max() == 0:
        return None
    return (labels == int(overlap.argmax())).astype(np.uint8)


def _outline(mask: np.ndarray) -> np.ndarray | None:
    """The outer boundary of the mask's largest part, as sub-pixel points along the
    pixels' edges' midpoints (pixel-centre convention)."""
    # The contour of a mask scaled up 2x runs along the pixel edges instead of through
    # the boundary pixels' centres (which would put the outline half a pixel inside).
    big = cv2.resize(mask, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64)
    if len(contour) < 6:
        return None
    # Back to the original grid: pixel (c, r) covers (2c, 2r)..(2c + 1, 2r + 1) there.
    points = (contour + 0.5) / 2.0 - 0.5
    # Smooth the staircase a little (a circular moving average over a few points).
    k = 5
    padded = np.vstack([points[-k:], points, points[:k]])
    kernel = np.ones(2 * k + 1) / (2 * k + 1)
    smooth = np.stack([np.convolve(padded[:, i], kernel, mode="valid") for i in range(2)], axis=1)
    return smooth


def _signed_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _perimeter(points: np.ndarray) -> float:
    closed = np.vstack([points, points[:1]])
    return float(np.linalg.norm(np.diff(closed, axis=0), axis=1).sum())


def _onto_rim(
    outline: np.ndarray, smooth: np.ndarray, reach_px: float, tissue_grey: float
) -> np.ndarray:
    """Each outline point moved outwards, along the outline's normal, onto the crest of
    the bright wall that wraps the fluid (the displaced fascia) when one brighter than
    the tissue lies within ``reach_px``; the moves smoothed along the outline."""
    ahead = np.roll(outline, -2, axis=0) - np.roll(outline, 2, axis=0)
    tangent = ahead / np.maximum(np.linalg.norm(ahead, axis=1, keepdims=True), 1e-9)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    if _signed_area(outline) < 0:
        normal = -normal  # outwards for either winding
    offsets = np.arange(0.0, reach_px + 1e-9, 0.25)
    xs = outline[:, 0:1] + offsets[None, :] * normal[:, 0:1]
    ys = outline[:, 1:2] + offsets[None, :] * normal[:, 1:2]
    values = cv2.remap(
        smooth,
        xs.astype(np.float32),
        ys.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    best = values.argmax(axis=1)
    crest = offsets[best]
    crest[values[np.arange(len(values)), best] < tissue_grey] = 0.0
    # A median along the outline: one bright speck beside it does not pull a point out.
    k = 7
    padded = np.concatenate([crest[-k:], crest, crest[:k]])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1)
    crest = np.median(windows, axis=1)
    return outline + crest[:, None] * normal


def _resampled_like(outline: np.ndarray, previous: np.ndarray, count: int) -> np.ndarray:
    """``outline`` resampled to ``count`` points evenly along it, with the winding of
    ``previous`` and starting nearest its first point."""
    if np.sign(_signed_area(outline)) != np.sign(_signed_area(previous)):
        outline = outline[::-1]
    start = int(np.argmin(np.linalg.norm(outline - previous[0], axis=1)))
    outline = np.roll(outline, -start, axis=0)
    closed = np.vstack([outline, outline[:1]])
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(closed, axis=0), axis=1))])
    targets = np.arange(count) * (arc[-1] / count)
    x = np.interp(targets, arc, closed[:, 0])
    y = np.interp(targets, arc, closed[:, 1])
    return np.stack([x, y], axis=1)


def _restart_chan_vese_smoothing() -> None:
    """Start scikit-image's Chan-Vese smoothing cycle where a new process starts it.

    Its morphological snakes alternate the smoothing operator (SI o IS, then IS o SI) from
    call to call through one cycle kept in the module (``morphsnakes._curvop``), so an
    outline depended on how many Chan-Vese runs came before it in the process: a loop
    tracked after another came out different from the same loop tracked alone
    (``usannotate track`` on one process or several). Each fluid track starts the cycle
    afresh, so it gives what a fresh process gives. Guarded: a scikit-image without that
    private cycle is left as it is.
    """
    from skimage.segmentation import morphsnakes

    if isinstance(getattr(morphsnakes, "_curvop", None), getattr(morphsnakes, "_fcycle", ())):
        morphsnakes._curvop = morphsnakes._fcycle(
            [
                lambda u: morphsnakes.sup_inf(morphsnakes.inf_sup(u)),
                lambda u: morphsnakes.inf_sup(morphsnakes.sup_inf(u)),
            ]
        )


class FluidTracker:
    """A fluid region followed by its image (see the module's docstring).

    Before each segmentation the previous outline is moved with the tissue around it
    (the median Lucas-Kanade motion of features on a ring just outside it): the probe
    or the tissue moving carries the fluid along, and the segmentation then only has
    to find how it grew.
    """

    def __init__(
        self,
        points: np.ndarray,
        flow: Callable[[np.ndarray, np.ndarray, np.ndarray], FlowResult],
        settings: FluidSettings = FluidSettings(),  # frozen: a shared default is safe
    ) -> None:
        self.points = points.copy()
        self.flow = flow
        self.settings = settings
        _restart_chan_vese_smoothing()

    def step(self, prev: np.ndarray, next_: np.ndarray) -> FluidStep:
        """The region on ``next_``, from its outline on ``prev``."""
        ring = _ring(self.points, _RING_OFFSET_PX, _RING_STEP_PX, prev.shape)
        moved = self.points
        if len(ring) >= 3:
            flow = self.flow(prev, next_, ring)
            if flow.good.sum() >= max(3, 0.3 * len(ring)):
                shift = np.median(flow.moved[flow.good] - ring[flow.good], axis=0)
                moved = self.points + shift
        step = segment_fluid(next_, moved, self.settings)
        if step.points is not None:
            self.points = step.points
        return step


# The ring of features whose motion carries the fluid: this far outside the outline,
# one feature every _RING_STEP_PX along it (px).
_RING_OFFSET_PX = 10.0
_RING_STEP_PX = 6.0


def _ring(
    points: np.ndarray, offset_px: float, step_px: float, shape: tuple[int, ...]
) -> np.ndarray:
    """Points every ``step_px`` along the outline pushed ``offset_px`` outwards, inside
    the image."""
    dense = _resampled_like(points, points, max(8, round(_perimeter(points) / step_px)))
    ahead = np.roll(dense, -1, axis=0) - np.roll(dense, 1, axis=0)
    tangent = ahead / np.maximum(np.linalg.norm(ahead, axis=1, keepdims=True), 1e-9)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    if _signed_area(dense) < 0:
        normal = -normal
    ring = dense + offset_px * normal
    rows, columns = shape[:2]
    inside = (
        (ring[:, 0] >= 0)
        & (ring[:, 0] <= columns - 1)
        & (ring[:, 1] >= 0)
        & (ring[:, 1] <= rows - 1)
    )
    return ring[inside]
