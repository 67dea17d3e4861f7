"""Propagate a mark from one frame to the next ones with pyramidal Lucas-Kanade optical flow."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from usannotate.annotations import ShapeKind
from usannotate.tracking._trackers import (
    ContourTracker,
    FlowSettings,
    NeedleTracker,
    PointTracker,
    StepOutcome,
)
from usannotate.tracking.fluid import FluidTracker
from usannotate.tracking.needle_finder import find_needle

__all__ = ["TrackingParams", "TrackingResult", "propagate"]

# How a sentence names the mark that was lost.
_NOUN = {
    ShapeKind.POLYLINE: "line",
    ShapeKind.NEEDLE: "needle",
    ShapeKind.REGION: "region",
    ShapeKind.POINT: "point",
}


@dataclass(frozen=True)
class TrackingParams:
    """How marks are followed from frame to frame. The defaults suit 8-bit B-mode loops.

    Attributes
    ----------
    window_px
        Side of the Lucas-Kanade search window (px, >= 5). Larger follows bigger and
        blurrier motion, smaller follows finer local deformation.
    pyramid_levels
        Image pyramid levels above full resolution (0-6). Each level doubles the largest
        motion that can be followed between two frames.
    max_fb_error_px
        A tracked feature is dropped when following it forward one frame and then back
        again lands further than this from where it started (px).
    min_good_fraction
        Tracking stops, reporting the mark as lost, when fewer than this fraction of its
        features pass the forward-backward check in one step (0-1).
    contour_step_px
        Spacing of the features sampled along a line, a region's outline and a needle's
        shaft (px).
    neighbourhood_px
        A line's or region's vertex moves by the median displacement of the features
        within this arc length of it along the contour (px).
    needle_search_px
        How far before and beyond the previous tip the needle's tip is searched along the
        shaft (px); must exceed the fastest insertion per frame.
    outlier_px
        A line's or region's feature is ignored when its motion departs more than this
        from the affine motion most of the contour's features agree on (px).
    lk_iterations
        Lucas-Kanade iterations per pyramid level at most.
    lk_epsilon_px
        Lucas-Kanade stops iterating when an update moves a feature less than this (px).
    """

    window_px: int = 21
    pyramid_levels: int = 3
    max_fb_error_px: float = 1.0
    min_good_fraction: float = 0.5
    contour_step_px: float = 3.0
    neighbourhood_px: float = 24.0
    needle_search_px: float = 30.0
    outlier_px: float = 1.0
    lk_iterations: int = 30
    lk_epsilon_px: float = 0.01

    def __post_init__(self) -> None:
        checks = [
            ("window_px", isinstance(self.window_px, int) and self.window_px >= 5, ">= 5 (px)"),
            (
                "pyramid_levels",
                isinstance(self.pyramid_levels, int) and 0 <= self.pyramid_levels <= 6,
                "an integer from 0 to 6",
            ),
            ("max_fb_error_px", self.max_fb_error_px > 0, "> 0 (px)"),
            ("min_good_fraction", 0 < self.min_good_fraction <= 1, "within (0, 1]"),
            ("contour_step_px", self.contour_step_px >= 0.5, ">= 0.5 (px)"),
            ("neighbourhood_px", self.neighbourhood_px > 0, "> 0 (px)"),
            ("needle_search_px", self.needle_search_px >= 1, ">= 1 (px)"),
            ("outlier_px", self.outlier_px > 0, "> 0 (px)"),
            (
                "lk_iterations",
                isinstance(self.lk_iterations, int) and self.lk_iterations >= 1,
                ">= 1",
            ),
            ("lk_epsilon_px", self.lk_epsilon_px > 0, "> 0 (px)"),
        ]
        for name, ok, wanted in checks:
            value = getattr(self, name)
            if isinstance(value, bool) or not ok or not math.isfinite(value):
                raise ValueError(f"TrackingParams.{name} must be {wanted}, got {value!r}")

    def _settings(self) -> FlowSettings:
        return FlowSettings(
            window_px=self.window_px,
            pyramid_levels=self.pyramid_levels,
            max_fb_error_px=self.max_fb_error_px,
            min_good_fraction=self.min_good_fraction,
            lk_iterations=self.lk_iterations,
            lk_epsilon_px=self.lk_epsilon_px,
            contour_step_px=self.contour_step_px,
            neighbourhood_px=self.neighbourhood_px,
            needle_search_px=self.needle_search_px,
            outlier_px=self.outlier_px,
        )


@dataclass
class TrackingResult:
    """What :func:`propagate` did.

    Attributes
    ----------
    frames
        Frame index (0-based) -> ``(N, 2)`` float64 ``(x, y)`` points (px, ``(0, 0)`` at
        the top-left corner of the top-left pixel), same N and order as the input points
        (a region followed by its image: a point every few px, from the point nearest
        the first input point, same winding), for every frame tracked, in the order
        they were tracked. The start frame is not included (its points are the input).
    fb_error_px
        Frame index -> median forward-backward error of the features followed into that
        frame (px): a quality figure, small (< 0.2 px) when the motion is well defined.
    stopped
        None when every frame of the range was tracked; otherwise why tracking stopped, in
        a sentence for the user with 1-based frame numbers as shown on screen, e.g.
        ``"lost the needle at frame 41: only 2 of 12 points along its shaft could be
        followed"`` or ``"cancelled at frame 23"``.
    """

    frames: dict[int, np.ndarray] = field(default_factory=dict)
    fb_error_px: dict[int, float] = field(default_factory=dict)
    stopped: str | None = None

    @property
    def complete(self) -> bool:
        """True when every frame of the requested range was tracked."""
        return self.stopped is None


def propagate(
    frame_at: Callable[[int], np.ndarray],
    points: np.ndarray,
    kind: ShapeKind | str,
    start: int,
    stop: int,
    *,
    params: TrackingParams = TrackingParams(),  # frozen: a shared default is safe
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    follow: str = "flow",
) -> TrackingResult:
    """Follow a mark from frame ``start`` to frame ``stop`` (inclusive), frame by frame.

    Pyramidal Lucas-Kanade optical flow with a forward-backward check, made shape-aware:
    lines and regions are sampled densely along their contour and each vertex moves with
    the features near it; a needle's shaft is tracked as a line and its tip found where
    the bright shaft ends; a point moves with a small cluster around it. Tracking stops
    when too few features can be followed, rather than return a drifting mark; a needle
    the flow lost is first looked for near where it was
    (:func:`usannotate.tracking.needle_finder.find_needle`) and followed on from there.

    Safe to call from a worker thread (no shared state; OpenCV releases the GIL), as long
    as ``frame_at`` is (``CineLoop.frame`` is).

    Parameters
    ----------
    frame_at
        Frame by 0-based index: ``(rows, columns, 3)`` RGB or ``(rows, columns)`` grey
        uint8 array, e.g. ``CineLoop.frame``. An IndexError it raises stops tracking.
    points
        ``(N, 2)`` ``(x, y)`` points of the mark on frame ``start`` (px, ``(0, 0)`` at the
        top-left corner of the top-left pixel); N suits ``kind``.
    kind
        ``"polyline"`` (N >= 2), ``"needle"`` (N == 2: entry, then tip), ``"region"``
        (N >= 3, closed, first point not repeated) or ``"point"`` (N == 1).
    start
        Frame the points are on (0-based).
    stop
        Last frame to track (0-based, inclusive); below ``start`` tracks backward in time.
    params
        Tracking parameters.
    cancelled
        Polled before each frame; when it returns True, tracking stops and the frames
        done so far are returned with ``stopped`` saying so.
    progress
        Called after each frame with (frames done, frames to do).
    follow
        ``"flow"`` (optical flow, as above) or, for a region only, ``"image"``: the
        region is segmented again on every frame near its previous outline
        (:class:`usannotate.tracking.fluid.FluidTracker`), for injected fluid, which
        grows over tissue that does not move. Its outline then has a point every
        ``FluidSettings.point_spacing_px`` (never fewer than it had), so N may change.

    Returns
    -------
    TrackingResult
        The frames after ``start`` up to ``stop`` (or up to where tracking stopped).

    Raises
    ------
    ValueError
        Bad input: ``start == stop``, a negative or non-integer frame index, an unknown
        kind, points of the wrong shape or count for the kind, non-finite points, points
        outside the start frame, a needle shorter than 3 px, frames that are not
        uint8 images of one size, or ``follow="image"`` for a mark that is not a region.
    """
    shape_kind = _check_kind(kind)
    if follow not in ("flow", "image"):
        raise ValueError(f"follow must be 'flow' or 'image', got {follow!r}")
    if follow == "image" and shape_kind is not ShapeKind.REGION:
        raise ValueError(f"only a region can be followed by its image, not a {shape_kind.value}")
    start = _check_index("start", start)
    stop = _check_index("stop", stop)
    if start == stop:
        raise ValueError(f"start and stop are both frame {start} (0-based): nothing to track")
    marks = _check_points(points, shape_kind)

    result = TrackingResult()
    step = 1 if stop > start else -1
    total = abs(stop - start)
    try:
        prev = _grey(frame_at(start), start, None)
    except IndexError:
        result.stopped = f"stopped at frame {start + 1}: this loop has no such frame"
        return result
    _check_inside(marks, prev, start)
    if follow == "image":
        tracker = _ImageFollowed(FluidTracker(marks - 0.5, params._settings().flow))
    else:
        tracker = _make_tracker(shape_kind, marks - 0.5, prev, params._settings())

    noun = _NOUN[shape_kind]
    for done, index in enumerate(range(start + step, stop + step, step), start=1):
        if cancelled is not None and cancelled():
            result.stopped = f"cancelled at frame {index + 1}"
            break
        try:
            grey = _grey(frame_at(index), index, prev.shape)
        except IndexError:
            result.stopped = f"stopped at frame {index + 1}: this loop has no such frame"
            break
        outcome: StepOutcome = tracker.step(prev, grey)
        if outcome.points is None and shape_kind is ShapeKind.NEEDLE:
            # The flow lost the needle: look for its shaft near where it was, and go on
            # from what is found there.
            last = result.frames.get(index - step, marks)
            found = find_needle(grey, near=last)
            if found is not None:
                tracker = _make_tracker(shape_kind, found.points - 0.5, grey, params._settings())
                outcome = StepOutcome(found.points - 0.5, float("nan"))
        if outcome.points is None:
            result.stopped = f"lost the {noun} at frame {index + 1}: {outcome.lost_because}"
            break
        result.frames[index] = outcome.points + 0.5
        result.fb_error_px[index] = outcome.fb_error_px
        prev = grey
        if progress is not None:
            progress(done, total)
    return result


def _check_kind(kind: ShapeKind | str) -> ShapeKind:
    try:
        return ShapeKind(kind)
    except ValueError:
        known = ", ".join(repr(k.value) for k in ShapeKind)
        raise ValueError(f"unknown shape kind {kind!r}: expected one of {known}") from None


def _check_index(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a frame index >= 0 (0-based), got {value!r}")
    return int(value)


def _check_points(points: np.ndarray, kind: ShapeKind) -> np.ndarray:
    try:
        array = np.array(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"points must be an (N, 2) array of (x, y) numbers, got {points!r}"
        ) from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"points must be an (N, 2) array of (x, y), got shape {array.shape}")
    kind.check_points(array)
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"points must be finite: point {i} is {array[i].tolist()}")
    return array


def _check_inside(points: np.ndarray, grey: np.ndarray, start: int) -> None:
    rows, columns = grey.shape
    outside = ~(
        (points[:, 0] >= 0)
        & (points[:, 0] <= columns)
        & (points[:, 1] >= 0)
        & (points[:, 1] <= rows)
    )
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"point {i} {points[i].tolist()} lies outside frame {start} (0-based), which is "
            f"{columns} x {rows} px ((x, y) from (0, 0), the top-left corner)"
        )


def _grey(frame: np.ndarray, index: int, shape: tuple[int, ...] | None) -> np.ndarray:
    """Frame as a contiguous ``(rows, columns)`` uint8 grey image."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or not (
        frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3, 4))
    ):
        raise ValueError(
            f"frame {index} must be a (rows, columns) grey or (rows, columns, 3) RGB uint8 "
            f"array, got {frame.dtype} of shape {frame.shape}"
        )
    if frame.ndim == 3:
        code = {1: None, 3: cv2.COLOR_RGB2GRAY, 4: cv2.COLOR_RGBA2GRAY}[frame.shape[2]]
        frame = frame[:, :, 0] if code is None else cv2.cvtColor(frame, code)
    frame = np.ascontiguousarray(frame)
    if shape is not None and frame.shape != shape:
        raise ValueError(
            f"frame {index} is {frame.shape[1]} x {frame.shape[0]} px, but the earlier frames "
            f"are {shape[1]} x {shape[0]} px"
        )
    return frame


class _ImageFollowed:
    """A :class:`FluidTracker` behind the trackers' ``step`` (its outcome's shape)."""

    def __init__(self, tracker: FluidTracker) -> None:
        self.tracker = tracker

    def step(self, prev: np.ndarray, next_: np.ndarray) -> StepOutcome:
        step = self.tracker.step(prev, next_)
        return StepOutcome(step.points, 0.0, step.lost_because)


def _make_tracker(kind: ShapeKind, points: np.ndarray, grey: np.ndarray, settings: FlowSettings):
    if kind is ShapeKind.NEEDLE:
        return NeedleTracker(points, grey, settings)
    if kind is ShapeKind.POINT:
        return PointTracker(points, settings)
    return ContourTracker(points, settings, closed=kind is ShapeKind.REGION)
