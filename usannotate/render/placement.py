"""Where things go around a mark: the needle's trajectory, a caption's anchor, handle sizes.

Plain geometry in image pixels (sizes constant on screen are given in screen pixels with
the view's ``scale``, screen px per image px), shared by the app's scene items and the
OpenCV drawing of playback and exports, so both put them in the same places.
"""

from __future__ import annotations

import numpy as np

from usannotate.annotations import ShapeKind

__all__ = [
    "CAPTION_SUFFIXES",
    "MIN_HANDLE_PX",
    "TRAJECTORY_LENGTH",
    "Bounds",
    "caption_text",
    "default_caption_offset",
    "first_anchor",
    "follow_captions",
    "handle_side_px",
    "trajectory_end",
]

#: The needle's extended trajectory, in needle lengths beyond the tip.
TRAJECTORY_LENGTH = 1.0
#: Handles never get smaller than this (screen px): still seen, still grabbed.
MIN_HANDLE_PX = 4.0
#: What a caption adds to the label's name by where the geometry comes from.
CAPTION_SUFFIXES = {"keyframe": "", "interpolated": " · interpolated", "tracked": " · tracked"}

#: ``(left, top, right, bottom)`` in image px.
Bounds = tuple[float, float, float, float]


def trajectory_end(
    entry: tuple[float, float], tip: tuple[float, float], bounds: Bounds | None
) -> tuple[float, float]:
    """Where the needle's extended trajectory ends: :data:`TRAJECTORY_LENGTH` needle
    lengths beyond the tip, cut where it leaves ``bounds`` (the image; None: not cut)."""
    (x0, y0), (x1, y1) = entry, tip
    dx, dy = (x1 - x0) * TRAJECTORY_LENGTH, (y1 - y0) * TRAJECTORY_LENGTH
    t = 1.0
    if bounds is not None and bounds[2] > bounds[0] and bounds[3] > bounds[1]:
        left, top, right, bottom = bounds
        # The largest t in [0, 1] keeping tip + t * (dx, dy) inside the bounds.
        for delta, start, low, high in ((dx, x1, left, right), (dy, y1, top, bottom)):
            if delta > 0:
                t = min(t, max(0.0, (high - start) / delta))
            elif delta < 0:
                t = min(t, max(0.0, (low - start) / delta))
    return float(x1 + t * dx), float(y1 + t * dy)


def first_anchor(kind: ShapeKind, points: np.ndarray) -> tuple[float, float]:
    """Where a mark's caption prefers to sit (the first of its footprint's anchors):
    a needle's tip, a point, a region's top, a plane's right-hand end."""
    points = np.asarray(points, dtype=float)
    if kind == ShapeKind.NEEDLE:
        return float(points[1][0]), float(points[1][1])
    if kind == ShapeKind.POINT:
        return float(points[0][0]), float(points[0][1])
    if kind == ShapeKind.REGION:
        i = int(np.argmin(points[:, 1]))
    else:
        i = 0 if points[0, 0] >= points[-1, 0] else len(points) - 1
    return float(points[i, 0]), float(points[i, 1])


def handle_side_px(points: np.ndarray, scale: float, handle_size_px: float) -> float:
    """The side of a vertex handle on screen at zoom ``scale``: ``handle_size_px``,
    smaller when the vertices are close on screen (at most 45% of their median
    spacing, so the outline shows between them), never under :data:`MIN_HANDLE_PX`."""
    points = np.asarray(points, dtype=float)
    if len(points) < 2:
        return handle_size_px
    spacing = float(np.median(np.hypot(*np.diff(points, axis=0).T))) * scale
    return float(np.clip(0.45 * spacing, MIN_HANDLE_PX, max(MIN_HANDLE_PX, handle_size_px)))


def follow_captions(
    anchors: np.ndarray,
    offsets_px: np.ndarray,
    sizes_px: np.ndarray,
    scale: float,
    bounds: Bounds | None,
) -> np.ndarray:
    """Captions' top-left corners (image px, ``(n, 2)``) that keep the place they had:
    ``offsets_px`` (screen px) from their marks' first ``anchors`` (image px), kept in
    ``bounds`` whole (``sizes_px``, screen px) where they fit. During playback captions
    follow their marks so, rather than being laid out anew on every frame."""
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    xy = anchors + np.asarray(offsets_px, dtype=np.float64).reshape(-1, 2) / scale
    if bounds is not None:
        low = np.array([bounds[0], bounds[1]])
        high = np.array([bounds[2], bounds[3]]) - np.asarray(sizes_px).reshape(-1, 2) / scale
        xy = np.minimum(np.maximum(xy, low), np.maximum(low, high))
    return xy


def default_caption_offset(height_px: float) -> tuple[float, float]:
    """Where a caption goes from its anchor (screen px) before it was ever laid out:
    above and to the right of it."""
    return 6.0, -height_px - 6.0


def caption_text(name: str, source: str) -> str:
    """A mark's caption: its name and, off a keyframe, where its geometry comes from."""
    return name + CAPTION_SUFFIXES[str(source)]
