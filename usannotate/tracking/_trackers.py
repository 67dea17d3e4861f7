"""One tracker per shape kind: how a mark's points move from one grey frame to the next."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from usannotate.tracking._flow import (
    FlowResult,
    coherent_motion,
    densify,
    local_displacements,
    lucas_kanade,
)

# Every array in this module uses OpenCV's pixel-centre coordinates (ours minus 0.5).

# A needle shorter than this cannot give a shaft direction.
MIN_NEEDLE_LENGTH_PX = 3.0
# Profile sampling step along the shaft (px).
_PROFILE_STEP_PX = 0.5
# Offsets across the shaft averaged into its brightness profile (px): tolerates a shaft
# line that is off by a pixel without mixing in the reverberations below the shaft.
_SHAFT_BAND_PX = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
# The tissue reference runs parallel to the shaft this far on its shallow side (px), where
# there are no reverberations (they always lie deeper than the needle).
_TISSUE_OFFSET_PX = 8.0
# The shaft's centre line is measured across it every _RIDGE_STEP_PX, within
# _RIDGE_HALF_WIDTH_PX of the predicted line (less than the gap to the first
# reverberation), sampled every _RIDGE_SAMPLE_PX, and not over the last _RIDGE_END_PX
# before the previous tip (the needle may have been pulled back).
_RIDGE_STEP_PX = 2.0
_RIDGE_HALF_WIDTH_PX = 6.0
_RIDGE_SAMPLE_PX = 0.25
_RIDGE_END_PX = 6.0
# Largest angle between the predicted shaft and the ridge found: between two frames, and
# between a hand-drawn mark and the shaft it was drawn on (degrees).
_RIDGE_MAX_TURN_DEG = 5.0
_MARK_MAX_TURN_DEG = 20.0
# The shaft ends where its brightness falls below this fraction of the way from the
# tissue's grey level to the shaft's: high, because tissue just beyond the tip may be
# bright (septa, fascia, compression ringing) and a lower level would wander into it.
_EDGE_LEVEL = 0.7
# The tip's edge is the steepest fall within this distance of the threshold crossing (px).
_STEEPEST_FALL_PX = 2.0
# Length of the dark run that ends the bright shaft (px): one dark speck on the shaft
# is not its end.
_DARK_RUN_PX = 1.5
# Shaft points closer to the entry than this are skipped when measuring the shaft's
# brightness (the entry usually sits on the dark image border).
_SHAFT_LEVEL_MARGIN_PX = 3.0


@dataclass(frozen=True)
class StepOutcome:
    """What one frame step gave: new points, or why the mark was lost."""

    points: np.ndarray | None  # (N, 2) pixel-centre convention, or None when lost
    fb_error_px: float
    lost_because: str | None = None


@dataclass(frozen=True)
class FlowSettings:
    """The ``TrackingParams`` fields the trackers need (kept free of the public class)."""

    window_px: int
    pyramid_levels: int
    max_fb_error_px: float
    min_good_fraction: float
    lk_iterations: int
    lk_epsilon_px: float
    contour_step_px: float
    neighbourhood_px: float
    needle_search_px: float
    outlier_px: float

    def flow(self, prev: np.ndarray, next_: np.ndarray, points: np.ndarray) -> FlowResult:
        return lucas_kanade(
            prev,
            next_,
            points,
            window_px=self.window_px,
            pyramid_levels=self.pyramid_levels,
            max_fb_error_px=self.max_fb_error_px,
            iterations=self.lk_iterations,
            epsilon_px=self.lk_epsilon_px,
        )

    def too_few(self, good: int, total: int) -> bool:
        return good == 0 or good < math.ceil(self.min_good_fraction * total - 1e-9)


def _clip(points: np.ndarray, grey: np.ndarray) -> np.ndarray:
    rows, columns = grey.shape[:2]
    return np.clip(points, -0.5, (columns - 0.5, rows - 0.5))


class ContourTracker:
    """Open polylines (fascial planes) and closed regions (fluid).

    A contour's few vertices are poor features on their own (a vertex on a bright line can
    slide along it), so the contour is sampled every ``contour_step_px``, every sample is
    tracked, and each vertex moves by the median displacement of the samples near it that
    passed the forward-backward check and agree with the contour's overall (affine) motion.
    The last test drops samples dragged along by something moving across the contour,
    such as a needle tip passing through a fascial plane.
    """

    def __init__(self, points: np.ndarray, settings: FlowSettings, *, closed: bool) -> None:
        self.points = points.copy()
        self.settings = settings
        self.closed = closed

    def step(self, prev: np.ndarray, next_: np.ndarray) -> StepOutcome:
        s = self.settings
        samples, sample_arc, vertex_arc, perimeter = densify(
            self.points, s.contour_step_px, closed=self.closed
        )
        flow = s.flow(prev, next_, samples)
        good = int(flow.good.sum())
        if s.too_few(good, len(samples)):
            return StepOutcome(
                None,
                flow.median_fb_error_px(),
                f"only {good} of {len(samples)} points along it could be followed",
            )
        use = flow.good & coherent_motion(samples, flow.moved, flow.good, s.outlier_px)
        moves = local_displacements(
            vertex_arc,
            sample_arc,
            flow.moved - samples,
            use,
            radius_px=s.neighbourhood_px,
            perimeter_px=perimeter if self.closed else None,
        )
        self.points = _clip(self.points + moves, next_)
        return StepOutcome(self.points.copy(), flow.median_fb_error_px())


class PointTracker:
    """A single point (a target): the point and two rings of features around it.

    One Lucas-Kanade feature in speckle is fragile, and one near a needle is dragged along
    by the tip passing by. The point moves by the median displacement of the features
    around it (half a window and a window away) that agree with their common motion.
    """

    def __init__(self, points: np.ndarray, settings: FlowSettings) -> None:
        self.point = points[0].copy()
        self.settings = settings
        angles = np.arange(8) * (np.pi / 4.0)
        ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        radius = settings.window_px / 2.0
        self.offsets = np.vstack([[0.0, 0.0], radius * ring, 2.0 * radius * ring])

    def step(self, prev: np.ndarray, next_: np.ndarray) -> StepOutcome:
        s = self.settings
        cluster = self.point + self.offsets
        flow = s.flow(prev, next_, cluster)
        good = int(flow.good.sum())
        if s.too_few(good, len(cluster)):
            return StepOutcome(
                None,
                flow.median_fb_error_px(),
                f"only {good} of {len(cluster)} points around it could be followed",
            )
        use = flow.good & coherent_motion(cluster, flow.moved, flow.good, s.outlier_px)
        move = np.median((flow.moved - cluster)[use], axis=0)
        self.point = _clip(self.point + move, next_)
        return StepOutcome(self.point[None, :].copy(), flow.median_fb_error_px())


@dataclass(frozen=True)
class _TipSearch:
    """Where the bright shaft ends along the axis, and how bright shaft and tissue are."""

    edge_px: float | None  # distance from the entry along the axis, None when not found
    shaft_grey: float
    tissue_grey: float

    @property
    def contrast(self) -> float:
        return self.shaft_grey - self.tissue_grey


class NeedleTracker:
    """The needle: entry point, then tip.

    A Lucas-Kanade feature on the tip slides along the shaft (the aperture problem), and
    the tip advances by up to a few millimetres per frame while the needle is inserted, so
    the tip is not tracked as a point. Instead, on every frame:

    1. points along the shaft (entry included, the last half window before the tip
       excluded) are tracked with the forward-backward check and a line is fitted
       through them: the shaft's predicted position and direction;
    2. the bright ridge of the shaft is measured across it near that line, and a robust
       line through its centres replaces the prediction (measured afresh each frame, it
       does not drift the way a chain of optical-flow steps does);
    3. the entry moves with its own track, projected onto the shaft line;
    4. the tip is where the bright shaft ends along the line: the first fall of the
       brightness profile well below the shaft's grey level (``_EDGE_LEVEL`` of the way
       down to the tissue's), searched from ``needle_search_px`` before the previous tip
       onwards, then placed at the steepest point of that fall. How far that edge lies
       from the marked tip is measured on the start frame and kept, so the tip stays where
       the user put it relative to the bright end.

    When the start frame shows no such edge within half a window of the marked tip (a
    faint needle), the tip is tracked as a point and projected onto the shaft line.
    Tracking stops when too few shaft points can be followed, when the shaft's contrast
    drops below half its contrast on the start frame, or when no tip edge is found.
    """

    def __init__(self, points: np.ndarray, grey: np.ndarray, settings: FlowSettings) -> None:
        self.settings = settings
        self.entry = points[0].copy()
        self.tip = points[1].copy()
        length = float(np.linalg.norm(self.tip - self.entry))
        if length < MIN_NEEDLE_LENGTH_PX:
            raise ValueError(
                f"the needle's entry and tip are {length:.2f} px apart: at least "
                f"{MIN_NEEDLE_LENGTH_PX:g} px are needed to follow its shaft"
            )
        self.axis = (self.tip - self.entry) / length
        # A mark drawn by hand lies a pixel or two off the shaft, and on a short needle
        # that is several degrees; find the shaft itself (twice: the second search is
        # centred on it), keeping only where along it the user put the tip.
        ridge = _shaft_ridge(grey, self.entry, self.axis, length, max_turn_deg=_MARK_MAX_TURN_DEG)
        if ridge is not None:
            origin, axis = ridge
            entry = origin + float(np.dot(self.entry - origin, axis)) * axis
            ridge = _shaft_ridge(grey, entry, axis, float(np.dot(self.tip - entry, axis))) or ridge
            origin, self.axis = ridge
            self.entry = origin + float(np.dot(self.entry - origin, self.axis)) * self.axis
            length = float(np.dot(self.tip - self.entry, self.axis))
            if length < MIN_NEEDLE_LENGTH_PX:
                length = float(np.linalg.norm(self.tip - self.entry))
            self.tip = self.entry + length * self.axis
        self.length = length
        search = self._search_tip(grey, self.entry, self.axis, length)
        offset = None if search.edge_px is None else search.edge_px - length
        if offset is not None and abs(offset) > settings.window_px / 2.0:
            offset = None  # the edge found is not the one the user marked
        self.edge_offset_px = offset
        self.start_contrast = search.contrast

    # ------------------------------------------------------------------ step
    def step(self, prev: np.ndarray, next_: np.ndarray) -> StepOutcome:
        s = self.settings
        margin = s.window_px / 2.0 + 2.0
        stations = np.arange(0.0, max(self.length - margin, 0.0) + 1e-9, s.contour_step_px)
        shaft = self.entry + stations[:, None] * self.axis
        features = np.vstack([shaft, self.tip[None, :]])
        flow = s.flow(prev, next_, features)
        shaft_good = flow.good[:-1]
        moved = flow.moved[:-1]
        fb = FlowResult(moved, shaft_good, flow.fb_error_px[:-1]).median_fb_error_px()
        good = int(shaft_good.sum())
        if s.too_few(good, len(shaft)):
            return StepOutcome(
                None, fb, f"only {good} of {len(shaft)} points along its shaft could be followed"
            )
        shift = np.median(moved[shaft_good] - shaft[shaft_good], axis=0)
        origin, axis = self._fit_shaft(moved[shaft_good], stations[shaft_good], shift)
        entry = moved[0] if shaft_good[0] else self.entry + shift
        entry = origin + float(np.dot(entry - origin, axis)) * axis
        ridge = _shaft_ridge(next_, entry, axis, self.length)
        if ridge is not None:
            # The bright ridge is measured afresh on every frame, so unlike the chain of
            # optical-flow steps its position and angle do not drift.
            origin, axis = ridge
            entry = origin + float(np.dot(entry - origin, axis)) * axis

        if self.edge_offset_px is None:
            tip = flow.moved[-1] if flow.good[-1] else self.tip + shift
            length = float(np.dot(tip - entry, axis))
        else:
            search = self._search_tip(next_, entry, axis, self.length)
            if search.contrast < 0.5 * self.start_contrast:
                return StepOutcome(
                    None, fb, "its shaft no longer stands out from the tissue around it"
                )
            if search.edge_px is None:
                return StepOutcome(
                    None,
                    fb,
                    f"its tip could not be found within {s.needle_search_px:g} px of where it was",
                )
            length = search.edge_px - self.edge_offset_px
        if length < MIN_NEEDLE_LENGTH_PX:
            return StepOutcome(None, fb, "its tip reached the entry point")
        self.entry, self.axis, self.length = entry, axis, length
        self.tip = entry + length * axis
        points = _clip(np.stack([self.entry, self.tip]), next_)
        return StepOutcome(points, fb)

    def _fit_shaft(
        self, moved: np.ndarray, stations: np.ndarray, shift: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A point on the shaft line and its unit direction (pointing from entry to tip)."""
        span = float(np.ptp(stations)) if len(stations) else 0.0
        if len(moved) >= 3 and span >= 10.0:
            vx, vy, x0, y0 = cv2.fitLine(moved.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01)
            axis = np.array([float(vx[0]), float(vy[0])])
            axis /= np.linalg.norm(axis)
            if np.dot(axis, self.axis) < 0:
                axis = -axis
            return np.array([float(x0[0]), float(y0[0])]), axis
        # Too short a stretch of shaft for its direction: keep it, move the line.
        return self.entry + shift, self.axis

    # ------------------------------------------------------------------ tip
    def _search_tip(
        self, grey: np.ndarray, entry: np.ndarray, axis: np.ndarray, previous_length: float
    ) -> _TipSearch:
        search = self.settings.needle_search_px
        normal = np.array([-axis[1], axis[0]])
        if normal[1] > 0:  # towards the probe (up the image): away from reverberations
            normal = -normal
        stations = np.arange(0.0, previous_length + search + 1e-9, _PROFILE_STEP_PX)
        offsets = np.append(_SHAFT_BAND_PX, _TISSUE_OFFSET_PX)
        samples = _sample_along(grey, entry, axis, normal, stations, offsets)
        band = samples[:-1].mean(axis=0)
        tissue_row = samples[-1]

        near = max(_SHAFT_LEVEL_MARGIN_PX, previous_length - search)
        known = (stations >= _SHAFT_LEVEL_MARGIN_PX) & (
            stations <= max(near, 0.5 * previous_length, _SHAFT_LEVEL_MARGIN_PX + 1.0)
        )
        around = stations >= near
        shaft_grey = float(np.median(band[known])) if known.any() else float(band.max())
        tissue_grey = float(np.median(tissue_row[around]))
        threshold = tissue_grey + _EDGE_LEVEL * (shaft_grey - tissue_grey)
        start = int(np.searchsorted(stations, near))
        edge = _falling_edge(band, stations, threshold, min(start, len(stations) - 1))
        if edge is not None:
            edge = _steepest_fall(band, stations, edge)
        return _TipSearch(edge, shaft_grey, tissue_grey)


def _sample_along(
    grey: np.ndarray,
    origin: np.ndarray,
    axis: np.ndarray,
    normal: np.ndarray,
    stations: np.ndarray,
    offsets: np.ndarray,
) -> np.ndarray:
    """Grey values (bilinear, 0 outside the image) at ``origin + s * axis + o * normal``
    for every offset ``o`` (rows) and station ``s`` (columns), all in px."""
    xs = origin[0] + stations[None, :] * axis[0] + offsets[:, None] * normal[0]
    ys = origin[1] + stations[None, :] * axis[1] + offsets[:, None] * normal[1]
    return cv2.remap(
        grey,
        xs.astype(np.float32),
        ys.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    ).astype(np.float64)


def _shaft_ridge(
    grey: np.ndarray,
    entry: np.ndarray,
    axis: np.ndarray,
    length: float,
    *,
    max_turn_deg: float = _RIDGE_MAX_TURN_DEG,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The centre line of the bright shaft near a predicted one: a point on it and its
    unit direction (same sense as ``axis``), or None when too little of it is visible.

    Across the shaft, every ``_RIDGE_STEP_PX`` along it, the run brighter than halfway
    between the profile's peak and floor is found; its midpoint is the shaft's centre there.
    A robust line through those centres is the shaft.
    """
    stations = np.arange(_SHAFT_LEVEL_MARGIN_PX, length - _RIDGE_END_PX, _RIDGE_STEP_PX)
    if len(stations) < 3:
        return None
    offsets = np.arange(-_RIDGE_HALF_WIDTH_PX, _RIDGE_HALF_WIDTH_PX + 1e-9, _RIDGE_SAMPLE_PX)
    normal = np.array([-axis[1], axis[0]])
    values = _sample_along(grey, entry, axis, normal, stations, offsets)
    columns = np.arange(values.shape[1])
    peak_at = values.argmax(axis=0)
    peak = values[peak_at, columns]
    floor = values.min(axis=0)
    half = 0.5 * (peak + floor)
    index = np.arange(len(offsets))[:, None]
    dim = values < half
    left = np.where(dim & (index < peak_at), index, -1).max(axis=0)
    right = np.where(dim & (index > peak_at), index, len(offsets)).min(axis=0)
    contrast = peak - floor
    usable = (left >= 0) & (right < len(offsets)) & (contrast >= 0.5 * np.median(contrast))
    if usable.sum() < 3:
        return None
    left, right, half, cols = left[usable], right[usable], half[usable], columns[usable]

    def crossing(dark: np.ndarray, bright: np.ndarray) -> np.ndarray:
        v_dark, v_bright = values[dark, cols], values[bright, cols]
        fraction = (half - v_dark) / np.maximum(v_bright - v_dark, 1e-9)
        return offsets[dark] + fraction * (offsets[bright] - offsets[dark])

    centre = 0.5 * (crossing(left, left + 1) + crossing(right, right - 1))
    points = entry + stations[cols, None] * axis + centre[:, None] * normal
    vx, vy, x0, y0 = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01)
    direction = np.array([float(vx[0]), float(vy[0])])
    direction /= np.linalg.norm(direction)
    if np.dot(direction, axis) < 0:
        direction = -direction
    # A ridge at an angle far from the predicted one is something else (a reverberation
    # crossing, a bright fascia); keep the prediction.
    if np.dot(direction, axis) < math.cos(math.radians(max_turn_deg)):
        return None
    return np.array([float(x0[0]), float(y0[0])]), direction


def _steepest_fall(values: np.ndarray, stations: np.ndarray, near: float) -> float:
    """Where ``values`` fall fastest within ``_STEEPEST_FALL_PX`` of ``near``.

    A threshold crossing moves with the grey level of whatever lies beyond the tip; the
    steepest point of the fall (the blurred edge's middle) does not.
    """
    step = stations[1] - stations[0]
    slope = np.diff(values)  # slope[i] lies between stations[i] and stations[i + 1]
    centres = stations[:-1] + 0.5 * step
    window = np.flatnonzero(np.abs(centres - near) <= _STEEPEST_FALL_PX)
    if window.size < 3:
        return near
    i = int(window[np.argmin(slope[window])])
    if not 0 < i < len(slope) - 1:
        return near
    a, b, c = slope[i - 1], slope[i], slope[i + 1]
    curvature = a - 2.0 * b + c
    delta = 0.5 * (a - c) / curvature if curvature > 0 else 0.0
    return float(centres[i] + np.clip(delta, -0.5, 0.5) * step)


def _falling_edge(
    values: np.ndarray, stations: np.ndarray, threshold: float, start: int
) -> float | None:
    """Where ``values`` first falls below ``threshold`` for good after the bright run that
    holds ``start`` (or, if ``start`` is dark, where the last bright run before it ends).

    Returns the sub-sample position (same units as ``stations``) or None.
    """
    bright = values >= threshold
    run = max(1, round(_DARK_RUN_PX / _PROFILE_STEP_PX))
    if bright[start]:
        dark = (~bright).astype(np.int32)
        # dark_run[i] is True when samples i .. i + run - 1 are all dark.
        counts = np.convolve(dark, np.ones(run, dtype=np.int32), mode="full")[run - 1 :]
        dark_run = counts[: len(values)] >= run
        candidates = np.flatnonzero(dark_run[start:])
        if not candidates.size:
            return None
        last_bright = start + int(candidates[0]) - 1
    else:
        brights = np.flatnonzero(bright[:start])
        if not brights.size:
            return None
        last_bright = int(brights[-1])
    v0, v1 = values[last_bright], values[last_bright + 1]
    fraction = (v0 - threshold) / (v0 - v1) if v0 != v1 else 0.5
    return float(
        stations[last_bright] + fraction * (stations[last_bright + 1] - stations[last_bright])
    )
